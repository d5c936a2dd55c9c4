"""The ``KEMPELEN_*`` environment variables Kempelen reads, and whether the values set for them are valid.

This runs before Django's settings are loaded, because a bad value (``KEMPELEN_EMAIL_PORT=abc``) makes loading
them fail with a bare traceback. The variables are found by reading the package's source rather than kept in a
list here, so that a setting added to ``settings.py`` is checked without anyone remembering to list it:
``_env("NAME")`` and ``_flag("NAME")`` calls in ``settings.py`` and ``"KEMPELEN_NAME"`` strings elsewhere, each
typed by the call around it (``int(...)``, ``float(...)``, ``_flag(...)``, otherwise text).
"""

from __future__ import annotations

import ast
import difflib
import functools
import logging
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .findings import Finding, error, ok, warning

PREFIX = "KEMPELEN_"
PACKAGE_DIR = Path(__file__).resolve().parent.parent
_NAME = re.compile(r"KEMPELEN_[A-Z0-9_]+")
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Variable:
    name: str  #: with the prefix, e.g. KEMPELEN_EMAIL_PORT
    kind: str  #: "int", "float", "flag" or "text"


def _names_in(node: ast.AST, *, in_settings: bool) -> list[tuple[str, str]]:
    """(name, how it is read) for every variable read directly inside ``node``."""
    found = []
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and in_settings:
            if inner.func.id in {"_env", "_flag"} and inner.args and isinstance(inner.args[0], ast.Constant):
                value = inner.args[0].value
                if isinstance(value, str):
                    found.append((PREFIX + value, "flag" if inner.func.id == "_flag" else "text"))
        elif isinstance(inner, ast.Constant) and isinstance(inner.value, str) and _NAME.fullmatch(inner.value):
            found.append((inner.value, "text"))
    return found


def _variables_in_source(source: str, *, in_settings: bool) -> dict[str, str]:
    kinds: dict[str, str] = {}
    tree = ast.parse(source)
    for name, kind in _names_in(tree, in_settings=in_settings):
        kinds.setdefault(name, kind)
    # A read inside int(...) or float(...) must parse as that number.
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"int", "float"}:
            for arg in node.args:
                for name, kind in _names_in(arg, in_settings=in_settings):
                    if kind == "text":
                        kinds[name] = node.func.id
    return kinds


@functools.cache
def known_variables() -> dict[str, Variable]:
    """Every KEMPELEN_* variable the package reads, by name."""
    kinds: dict[str, str] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        in_settings = path == PACKAGE_DIR / "settings.py"
        if not in_settings and PREFIX not in source:
            continue
        for name, kind in _variables_in_source(source, in_settings=in_settings).items():
            if kinds.get(name, "text") == "text":
                kinds[name] = kind
    return {name: Variable(name, kind) for name, kind in sorted(kinds.items())}


# --- Values ----------------------------------------------------------------------------------------------


def url_problem(value: str, *, name: str) -> str | None:
    """Why ``value`` is not a usable base URL (scheme and host, nothing after them), or None."""
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"}:
        return f"{name}={value!r} must start with https:// (or http://)"
    if not parts.hostname:
        return f"{name}={value!r} has no host name"
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return f"{name}={value!r} has a port that is not a number"
    if parts.path.strip("/") or parts.query or parts.fragment:
        return f"{name}={value!r} must be only scheme and host (and port): Kempelen is served from the root"
    return None


def _database_url(value: str) -> str | None:
    import dj_database_url

    try:
        config = dj_database_url.parse(value)
    except Exception as exc:  # dj-database-url raises plain exceptions for unknown schemes
        return f"KEMPELEN_DATABASE_URL cannot be read: {exc}"
    engine = str(config.get("ENGINE", ""))
    if engine.endswith("sqlite3"):
        return None
    if "postgresql" not in engine:
        return f"KEMPELEN_DATABASE_URL must be a postgresql:// or sqlite:/// URL, not {engine.rsplit('.', 1)[-1]}"
    if not config.get("NAME"):
        return "KEMPELEN_DATABASE_URL names no database (postgresql://user@host:5432/DATABASE)"
    return None


def _one_of(*allowed: str) -> Callable[[str, str], str | None]:
    def check(name: str, value: str) -> str | None:
        if value.strip().lower() in allowed:
            return None
        return f"{name}={value!r} must be one of: {', '.join(allowed)}"

    return check


def _log_level(name: str, value: str) -> str | None:
    if isinstance(logging.getLevelNamesMapping().get(value.strip().upper()), int):
        return None
    return f"{name}={value!r} is not a log level (DEBUG, INFO, WARNING, ERROR)"


def _not_blank(name: str, value: str) -> str | None:
    return f"{name} is set but empty" if not value.strip() else None


#: Text settings whose values have a fixed shape. The checks of values that need Django (the email backend's
#: class, the secret key's fitness) are made after the settings load, in ``check``.
_TEXT_RULES: dict[str, Callable[[str, str], str | None]] = {
    "KEMPELEN_DATABASE_URL": lambda name, value: _database_url(value),
    "KEMPELEN_PUBLIC_URL": lambda name, value: url_problem(value.rstrip("/"), name=name) if value else None,
    "KEMPELEN_TASK_CONTENT_URL": lambda name, value: url_problem(value.rstrip("/"), name=name) if value else None,
    "KEMPELEN_WORKER_SIGNUP": _one_of("open", "invite"),
    "KEMPELEN_REQUESTER_SIGNUP": _one_of("open", "closed"),
    "KEMPELEN_CACHE_URL": _one_of("db", ""),
    "KEMPELEN_LOG_LEVEL": _log_level,
    "KEMPELEN_DATA_DIR": _not_blank,
}


def _number_problem(variable: Variable, value: str) -> str | None:
    text = value.strip()
    if not text:
        return None  # empty means the default
    try:
        number = int(text) if variable.kind == "int" else float(text)
    except ValueError:
        what = "a whole number" if variable.kind == "int" else "a number"
        return f"{variable.name}={value!r} is not {what}"
    if not math.isfinite(number):
        return f"{variable.name}={value!r} is not a finite number"
    if number < 0:
        return f"{variable.name}={value!r} must not be negative"
    if variable.name == "KEMPELEN_PORT" and not 0 < number < 65536:
        return f"{variable.name}={value!r} is not a TCP port"
    return None


def check_environment(environ: Mapping[str, str] | None = None) -> list[Finding]:
    """Findings about the KEMPELEN_* variables set in ``environ`` (the process's environment by default)."""
    environ = os.environ if environ is None else environ
    known = known_variables()
    findings: list[Finding] = []
    read = 0
    for name in sorted(n for n in environ if n.startswith(PREFIX)):
        value = environ[name]
        variable = known.get(name)
        if variable is None:
            guess = difflib.get_close_matches(name, list(known), n=1, cutoff=0.8)
            hint = f" (did you mean {guess[0]}?)" if guess else ""
            findings.append(warning("settings", f"{name} is not a Kempelen setting and is ignored{hint}"))
            continue
        read += 1
        problem: str | None = None
        if variable.kind in {"int", "float"}:
            problem = _number_problem(variable, value)
        elif variable.kind == "flag":
            if value.strip().lower() not in TRUE_WORDS | FALSE_WORDS:
                findings.append(warning("settings", f"{name}={value!r} is read as off (use 1/0, true/false, yes/no)"))
        elif name in _TEXT_RULES:
            problem = _TEXT_RULES[name](name, value)
        if problem:
            findings.append(error("settings", problem))
    if not any(f.level != "OK" for f in findings):
        findings.append(ok("settings", f"{read} KEMPELEN_* variable{'s' if read != 1 else ''} set, all valid"))
    return findings
