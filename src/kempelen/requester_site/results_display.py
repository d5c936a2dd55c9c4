"""Showing a submitted assignment's inputs and answers legibly on the results pages.

- Inputs: the row's values (``HIT.layout_parameters``) in the order of the batch's input columns.
- Answers: one entry per answer field, in the order the form posted them. A field the template can post several
  values under (same-name checkboxes, ``<select multiple>``) is shown as a list of its ``|``-joined values.
  Which fields those are is read from the template, since a plain text answer may contain ``|`` too.
- JSON answers (crowd-form's ``taskAnswers``, or a hidden field a template filled with JSON) are shown as a
  nested tree of names and values; very long strings (a base64 image) are shortened on the page (the CSV
  always has them whole).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from kempelen.core.errors import KempelenError
from kempelen.marketplace.models import HIT, Batch
from kempelen.questions.answers import MULTI_VALUE_SEPARATOR
from kempelen.questions.formats import HTMLQuestion, parse_question

from .results_csv import answer_values

#: Strings in a JSON tree longer than this are shortened on the page.
LONGEST_SHOWN = 300
#: Deeper nesting is shown as JSON text.
DEEPEST_TREE = 12


@dataclass
class Node:
    """One value of a JSON tree: ``kind`` is object, array, string, number, boolean or null."""

    kind: str
    text: str = ""
    items: list[tuple[str, Node]] = field(default_factory=list)
    elements: list[Node] = field(default_factory=list)
    hidden_characters: int = 0


@dataclass
class AnswerView:
    name: str
    text: str = ""
    values: list[str] | None = None
    tree: Node | None = None


def json_tree(value: Any, depth: int = 0) -> Node:
    if depth >= DEEPEST_TREE:
        return _string(json.dumps(value, ensure_ascii=False))
    if isinstance(value, dict):
        return Node("object", items=[(str(k), json_tree(v, depth + 1)) for k, v in value.items()])
    if isinstance(value, list):
        return Node("array", elements=[json_tree(v, depth + 1) for v in value])
    if isinstance(value, bool):
        return Node("boolean", text="true" if value else "false")
    if value is None:
        return Node("null", text="null")
    if isinstance(value, int | float):
        return Node("number", text=json.dumps(value))
    return _string(str(value))


def _string(text: str) -> Node:
    if len(text) > LONGEST_SHOWN:
        return Node("string", text=text[:LONGEST_SHOWN], hidden_characters=len(text) - LONGEST_SHOWN)
    return Node("string", text=text)


def _as_json(text: str) -> Any:
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    return value if isinstance(value, dict | list) else None


def answer_views(xml: str, multi_valued: set[str]) -> list[AnswerView]:
    views = []
    for name, value in answer_values(xml).items():
        parsed = _as_json(value)
        if parsed is not None:
            views.append(AnswerView(name, text=value, tree=json_tree(parsed)))
        elif name in multi_valued and MULTI_VALUE_SEPARATOR in value:
            views.append(AnswerView(name, text=value, values=value.split(MULTI_VALUE_SEPARATOR)))
        else:
            views.append(AnswerView(name, text=value))
    return views


def input_views(batch: Batch, hit: HIT) -> list[tuple[str, str]]:
    parameters = hit.layout_parameters or {}
    names = list(batch.input_columns or []) or list(parameters)
    return [(name, str(parameters.get(name, ""))) for name in names]


class _MultiValuedFields(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.names: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        name = values.get("name", "")
        if not name:
            return
        if (tag == "input" and values.get("type", "").lower() == "checkbox") or (
                tag == "select" and "multiple" in values):
            self.names.add(name)


def multi_valued_fields(html: str) -> set[str]:
    """Names under which the template's form can post several values."""
    parser = _MultiValuedFields()
    parser.feed(html)
    parser.close()
    return parser.names


def template_of(batch: Batch) -> str:
    """The batch's template: its project's, or (a deleted project) the HTML of one of its HITs."""
    if batch.layout is not None:
        return batch.layout.html
    question = HIT.objects.filter(batch=batch).values_list("question", flat=True).first()
    if not question:
        return ""
    try:
        parsed = parse_question(question)
    except KempelenError:
        return ""
    return parsed.html_content if isinstance(parsed, HTMLQuestion) else ""
