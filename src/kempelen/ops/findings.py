"""One line of a check or restore report: OK, WARNING or ERROR about one topic."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

OK = "OK"
WARNING = "WARNING"
ERROR = "ERROR"


@dataclass(frozen=True)
class Finding:
    level: str
    topic: str
    message: str

    def line(self) -> str:
        return f"{self.level:<8} {self.topic}: {self.message}"


def ok(topic: str, message: str) -> Finding:
    return Finding(OK, topic, message)


def warning(topic: str, message: str) -> Finding:
    return Finding(WARNING, topic, message)


def error(topic: str, message: str) -> Finding:
    return Finding(ERROR, topic, message)


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.level == ERROR for f in findings)


def summary(findings: list[Finding]) -> str:
    errors = sum(f.level == ERROR for f in findings)
    warnings = sum(f.level == WARNING for f in findings)
    if not errors and not warnings:
        return "All checks passed."
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts) + "."


def report(findings: list[Finding]) -> str:
    """The report printed by ``kempelen check`` and ``kempelen restore``: one line per finding, then a total."""
    return "\n".join([*(f.line() for f in findings), summary(findings)])
