"""The formats of Crowd HTML Elements pages, as Kempelen's ``crowd-html-elements.js`` reads and writes them.

- Attributes such as ``categories="['Cat', 'Dog']"`` or ``initial-value="[{label: 'x', left: 3,},]"`` are JSON or
  JavaScript literals: :func:`parse_loose` reads both (quoted or bare keys, single or double quotes, trailing
  commas, comments), never evaluating anything.
- ``taskAnswers`` is a JSON array holding one object, object keys sorted at every level, no spaces
  (:func:`task_answers_json`).
- ``answer-format="flatten-objects"`` posts one field per leaf instead (:func:`flatten_answers`): nested keys
  joined with dots, strings as they are, numbers and booleans as JavaScript writes them, arrays as JSON.

The browser script and these functions follow the same rules; the unit tests run both on the same inputs.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$-]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_SPACE = " \t\n\r\u00a0\ufeff"


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> ValueError:
        return ValueError(f"{what} at position {self.pos} of {self.text[:80]!r}")

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def skip(self) -> None:
        while True:
            char = self.peek()
            if char and char in _SPACE:
                self.pos += 1
            elif char == "/" and self.peek(1) == "/":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            elif char == "/" and self.peek(1) == "*":
                end = self.text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.fail("Unclosed comment")
                self.pos = end + 2
            else:
                return

    def string(self) -> str:
        quote = self.peek()
        self.pos += 1
        out: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise self.fail("Unclosed string")
            char = self.text[self.pos]
            self.pos += 1
            if char == quote:
                return "".join(out)
            if char != "\\":
                out.append(char)
                continue
            escape = self.peek()
            self.pos += 1
            if escape in _ESCAPES:
                out.append(_ESCAPES[escape])
            elif escape == "u":
                digits = self.text[self.pos:self.pos + 4]
                if not re.fullmatch(r"[0-9a-fA-F]{4}", digits):
                    raise self.fail("Bad \\u escape")
                out.append(chr(int(digits, 16)))
                self.pos += 4
            elif escape != "\n":
                out.append(escape)

    def identifier(self) -> str:
        match = _IDENTIFIER.match(self.text, self.pos)
        if not match:
            raise self.fail(f"Unexpected character {self.peek()!r}")
        self.pos = match.end()
        return match.group()

    def value(self) -> Any:
        self.skip()
        char = self.peek()
        if char == "{":
            return self.object()
        if char == "[":
            return self.array()
        if char in ("'", '"'):
            return self.string()
        number = _NUMBER.match(self.text, self.pos)
        if number:
            self.pos = number.end()
            parsed = float(number.group())
            return int(parsed) if parsed.is_integer() and re.fullmatch(r"[-+]?\d+", number.group()) else parsed
        word = self.identifier()
        literals = {"true": True, "false": False, "null": None, "undefined": None}
        if word not in literals:
            raise self.fail(f"Unexpected word {word!r}")
        return literals[word]

    def array(self) -> list[Any]:
        out: list[Any] = []
        self.pos += 1
        while True:
            self.skip()
            char = self.peek()
            if char == "]":
                self.pos += 1
                return out
            if char == ",":
                self.pos += 1
                continue
            out.append(self.value())
            self.skip()
            char = self.peek()
            if char == ",":
                self.pos += 1
            elif char != "]":
                raise self.fail("Expected , or ]")

    def object(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        self.pos += 1
        while True:
            self.skip()
            char = self.peek()
            if char == "}":
                self.pos += 1
                return out
            if char == ",":
                self.pos += 1
                continue
            if char in ("'", '"'):
                key = self.string()
            elif char and char in "-0123456789.":
                key = _js_string(self.value())
            else:
                key = self.identifier()
            self.skip()
            if self.peek() != ":":
                raise self.fail("Expected :")
            self.pos += 1
            out[key] = self.value()
            self.skip()
            char = self.peek()
            if char == ",":
                self.pos += 1
            elif char != "}":
                raise self.fail("Expected , or }")


def parse_loose(text: str) -> Any:
    """Read a JSON or JavaScript-literal attribute value; raises ``ValueError`` when it is neither."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    reader = _Reader(text)
    result = reader.value()
    reader.skip()
    if reader.pos < len(text):
        raise reader.fail("Unexpected text after the value")
    return result


def string_list(text: str | None) -> list[str]:
    """Strings from a list attribute (``categories``, ``labels``): items, or the ``label``/``text`` of object items.

    Text that is not a literal is read as a comma-separated list, as the browser script does.
    """
    if text is None or not text.strip():
        return []
    try:
        parsed = parse_loose(text)
    except ValueError:
        return [each.strip() for each in text.split(",") if each.strip()]
    items = parsed if isinstance(parsed, list) else [parsed]
    out = []
    for item in items:
        if isinstance(item, dict):
            value = item.get("label") if item.get("label") is not None else (item.get("text") or "")
            out.append(_js_string(value))
        elif item is not None:
            out.append(_js_string(item))
    return [each for each in out if each != ""]


def _js_string(value: Any) -> str:
    """``String(value)`` as JavaScript writes it, for the scalars an answer can hold."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if value is None:
        return "null"
    return str(value)


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def task_answers_json(answers: dict[str, Any]) -> str:
    """The ``taskAnswers`` field: ``[answers]`` as compact JSON with sorted keys."""
    return _compact([answers])


def flatten_answers(answers: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """The fields ``answer-format="flatten-objects"`` posts for ``answers``, in sorted key order."""
    fields: list[tuple[str, str]] = []
    for key in sorted(answers):
        name = f"{prefix}.{key}" if prefix else key
        value = answers[key]
        if value is None:
            continue
        if isinstance(value, dict):
            fields.extend(flatten_answers(value, name))
        elif isinstance(value, list):
            fields.append((name, _compact(value)))
        else:
            fields.append((name, _js_string(value)))
    return fields
