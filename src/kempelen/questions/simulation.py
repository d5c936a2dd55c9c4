"""Plausible answers for synthetic workers: what a person filling in the HIT's form might submit.

- HTMLQuestion (or layout HTML): the page's form fields are found with ``html.parser`` and filled in; the result is
  the ``(name, value)`` pairs a browser would post, in page order (same-name checkboxes give several pairs).
  Reserved fields (``assignmentId`` …) are left for the caller to add. A page with Crowd HTML Elements posts
  what Kempelen's ``crowd-html-elements.js`` posts (docs/crowd-html-elements.md): one ``taskAnswers`` field
  holding ``[{…}]`` JSON, or one field per leaf with ``answer-format="flatten-objects"``; each element's answer
  has the element's shape, and native fields on such a page go into the same object (text as strings, radio
  buttons and checkboxes as ``{value: bool}``, a multiple select as a list).
  A page whose fields cannot be seen (built by JavaScript) gets the ExternalQuestion answer.
- ExternalQuestion: the page is out of reach, so the answer is ``[("answer", "simulated")]``.
- QuestionForm: ``{QuestionIdentifier: [values]}`` ready for ``answers.answers_from_question_form``, meeting every
  constraint. Questions the simulation cannot answer are left out for the caller to handle: file uploads, and
  free text whose AnswerFormatRegex none of a few simple candidates satisfies.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, overload

from .answers import RESERVED_FIELDS, other_selection_field
from .crowd_format import flatten_answers, string_list, task_answers_json
from .formats import (
    ExternalQuestion,
    FreeTextAnswer,
    HTMLQuestion,
    NumericConstraint,
    QuestionForm,
    SelectionAnswer,
)
from .validation import free_text_error

EXTERNAL_ANSWER = [("answer", "simulated")]
WORDS = ("apple", "river", "blue", "seven", "quiet", "market", "yes", "no", "cloud", "paper", "garden", "stone")
SENTENCES = (
    "The image shows a small dog on a sofa.",
    "I think the second option fits best.",
    "Looks fine to me.",
    "There are three people in the picture.",
)
#: Tried against AnswerFormatRegex constraints after the answers built from the other constraints.
REGEX_CANDIDATES = (
    "yes", "no", "a", "A", "abc", "ABC", "Abc", "1", "42", "2024", "12345", "hello world", "simulated",
    "A1", "a1b2", "test@example.com", "https://example.com", "2024-01-01", "12:00", "555-0100", "ok.",
)
_SKIPPED_INPUTS = frozenset({"submit", "button", "reset", "image", "file"})
_SPECIAL_INPUTS = {
    "email": "worker@example.com", "url": "https://example.com", "tel": "555-0100", "date": "2024-01-01",
    "time": "12:00", "datetime-local": "2024-01-01T12:00", "month": "2024-01", "week": "2024-W01",
    "color": "#336699",
}
#: Crowd HTML Elements that give an answer (layout elements and buttons give none).
CROWD_FIELDS = frozenset({
    "crowd-input", "crowd-text-area", "crowd-checkbox", "crowd-toggle-button", "crowd-radio-button", "crowd-slider",
    "crowd-classifier", "crowd-classifier-multi-select", "crowd-image-classifier",
    "crowd-image-classifier-multi-select", "crowd-bounding-box", "crowd-keypoint", "crowd-entity-annotation",
})


@overload
def synthetic_answers(question: QuestionForm, rng: random.Random) -> dict[str, list[str]]: ...
@overload
def synthetic_answers(question: ExternalQuestion | HTMLQuestion | str, rng: random.Random) -> list[tuple[str, str]]: ...
def synthetic_answers(
    question: ExternalQuestion | HTMLQuestion | QuestionForm | str, rng: random.Random
) -> list[tuple[str, str]] | dict[str, list[str]]:
    """Answers for ``question`` (a parsed Question, or rendered layout HTML as a string); see the module docstring."""
    if isinstance(question, QuestionForm):
        return question_form_answers(question, rng)
    if isinstance(question, ExternalQuestion):
        return list(EXTERNAL_ANSWER)
    return html_form_answers(question.html_content if isinstance(question, HTMLQuestion) else question, rng)


# --- HTML pages ----------------------------------------------------------------------------------------------


@dataclass
class _Field:
    tag: str
    name: str
    attrs: dict[str, str]
    options: list[str] = field(default_factory=list)
    group: int | None = None


class _FieldCollector(HTMLParser):
    """Collects named form controls in page order; script and style bodies are never parsed as markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[_Field] = []
        self.crowd_form = False
        self.flatten = False
        self._select: _Field | None = None
        self._option_text: list[str] | None = None
        self._radio_group = 0
        self._in_radio_group = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "option" and self._select is not None:
            self._finish_option()
            if "value" in values:
                self._select.options.append(values["value"])
            else:
                self._option_text = []
            return
        self._open(tag, values)

    def _open(self, tag: str, values: dict[str, str]) -> None:
        if tag == "crowd-form":
            self.crowd_form = True
            self.flatten = self.flatten or values.get("answer-format") == "flatten-objects"
        elif tag == "crowd-radio-group":
            self._radio_group += 1
            self._in_radio_group = True
        name = values.get("name", "")
        if not name or "disabled" in values or name in RESERVED_FIELDS:
            return
        if tag == "input" and values.get("type", "text").lower() in _SKIPPED_INPUTS:
            return
        if tag in ("input", "select", "textarea") or tag in CROWD_FIELDS:
            control = _Field(tag, name, values, group=self._radio_group if self._in_radio_group else None)
            self.fields.append(control)
            if tag == "select":
                self._select = control

    def handle_data(self, data: str) -> None:
        if self._option_text is not None:
            self._option_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "option":
            self._finish_option()
        elif tag == "select":
            self._finish_option()
            self._select = None
        elif tag == "crowd-radio-group":
            self._in_radio_group = False

    def _finish_option(self) -> None:
        if self._option_text is not None and self._select is not None:
            self._select.options.append(" ".join("".join(self._option_text).split()))
        self._option_text = None


def html_form_answers(html: str, rng: random.Random) -> list[tuple[str, str]]:
    """The fields a worker would post from this page, filled in plausibly."""
    collector = _FieldCollector()
    collector.feed(html)
    collector.close()
    fields = collector.fields
    if not fields:
        return list(EXTERNAL_ANSWER)
    if collector.crowd_form or any(control.tag in CROWD_FIELDS for control in fields):
        answers = _crowd_object(fields, rng)
        if collector.flatten:
            return flatten_answers(answers)
        return [("taskAnswers", task_answers_json(answers))]
    return list(_native_pairs(fields, rng))


def _native_pairs(fields: list[_Field], rng: random.Random) -> Iterator[tuple[str, str]]:
    done: set[str] = set()
    for control in fields:
        kind = _input_type(control)
        if kind in ("radio", "checkbox"):
            if control.name in done:
                continue
            done.add(control.name)
            group = _group_values(fields, control.name, kind)
            chosen = [rng.choice(group)] if kind == "radio" else _subset(group, rng)
            yield from ((control.name, value) for value in chosen)
        elif control.tag == "select":
            yield from ((control.name, value) for value in _select_values(control, rng))
        else:
            yield control.name, _control_value(control, kind, rng)


def _input_type(control: _Field) -> str:
    return control.attrs.get("type", "text").lower() if control.tag == "input" else control.tag


def _group_values(fields: list[_Field], name: str, kind: str) -> list[str]:
    return [each.attrs.get("value", "on") for each in fields if each.name == name and _input_type(each) == kind]


def _subset(values: list[str], rng: random.Random) -> list[str]:
    """A random non-empty subset, in the original order."""
    if not values:
        return []
    keep = [value for value in values if rng.random() < 0.5]
    return keep or [rng.choice(values)]


def _select_values(control: _Field, rng: random.Random) -> list[str]:
    # A first option with an empty value is usually a "Choose…" placeholder.
    options = [option for option in control.options if option] or control.options
    if not options:
        return []
    return _subset(options, rng) if "multiple" in control.attrs else [rng.choice(options)]


def _control_value(control: _Field, kind: str, rng: random.Random) -> str:
    if kind == "hidden":
        return control.attrs.get("value", "")
    if kind == "textarea":
        return rng.choice(SENTENCES)
    if kind in ("number", "range"):
        return str(_number_between(control.attrs, rng, default_high=10 if kind == "number" else 100))
    if kind in _SPECIAL_INPUTS:
        return _SPECIAL_INPUTS[kind]
    return _fit_length(rng.choice(WORDS), control.attrs, rng)


def _number_between(attrs: dict[str, str], rng: random.Random, *, default_high: int) -> int:
    low = _int_attr(attrs, "min", 0)
    high = _int_attr(attrs, "max", max(low, 0) + default_high)
    return rng.randint(low, high) if low <= high else low


def _int_attr(attrs: dict[str, str], name: str, default: int) -> int:
    try:
        return int(float(attrs[name]))
    except (KeyError, ValueError, OverflowError):
        return default


def _fit_length(word: str, attrs: dict[str, str], rng: random.Random) -> str:
    minimum, maximum = _int_attr(attrs, "minlength", 0), _int_attr(attrs, "maxlength", 0)
    while len(word) < minimum:
        word += " " + rng.choice(WORDS)
    return word[:maximum] if maximum > 0 else word


def _crowd_object(fields: list[_Field], rng: random.Random) -> dict[str, Any]:
    """The object ``crowd-form`` would post for this page, each element's answer in its element's shape."""
    chosen: dict[tuple[Any, ...], _Field] = {}
    for control in fields:
        group = _exclusive_group(control)
        if group is not None and group not in chosen:
            chosen[group] = rng.choice([each for each in fields if _exclusive_group(each) == group])
    result: dict[str, Any] = {}
    for control in fields:
        group = _exclusive_group(control)
        if group is not None:
            value: Any = {control.attrs.get("value") or "on": chosen[group] is control}
        else:
            value = _crowd_value(control, rng)
        if value is None:
            continue  # an empty text field is left out, as crowd-form does
        if isinstance(value, dict) and isinstance(result.get(control.name), dict):
            result[control.name].update(value)  # same-name check boxes share one object
        else:
            result[control.name] = value
    return result


def _exclusive_group(control: _Field) -> tuple[Any, ...] | None:
    """Radio buttons of which exactly one is chosen: a crowd-radio-group, or same-name buttons outside one."""
    if control.tag == "crowd-radio-button":
        return ("group", control.group) if control.group is not None else ("crowd", control.name)
    if control.tag == "input" and _input_type(control) == "radio":
        return ("native", control.name)
    return None


def _crowd_value(control: _Field, rng: random.Random) -> Any:
    tag, kind, attrs = control.tag, _input_type(control), control.attrs
    if tag in ("crowd-checkbox", "crowd-toggle-button") or kind == "checkbox":
        return {attrs.get("value") or "on": "required" in attrs or rng.random() < 0.5}
    if tag in ("crowd-classifier", "crowd-image-classifier"):
        return {"label": rng.choice(_choices(control, "categories"))}
    if tag in ("crowd-classifier-multi-select", "crowd-image-classifier-multi-select"):
        return {"labels": _subset(_choices(control, "categories"), rng)}
    if tag == "crowd-slider":
        return _slider_value(attrs, rng)
    if tag == "crowd-bounding-box":
        return _bounding_box(control, rng)
    if tag == "crowd-keypoint":
        width, height = IMAGE_SIZE
        points = [{"label": label, "x": rng.randrange(width), "y": rng.randrange(height)}
                  for label in _choices(control, "labels")]
        return {"inputImageProperties": {"height": height, "width": width}, "keypoints": points}
    if tag == "crowd-entity-annotation":
        return {"entities": _entities(control, rng)}
    if tag == "crowd-text-area" or kind == "textarea":
        return rng.choice(SENTENCES)
    if tag == "select":
        values = _select_values(control, rng)
        if "multiple" in attrs:
            return values or None
        return values[0] if values and values[0] else None
    if tag == "crowd-input":
        lengths = {"minlength": attrs.get("min-length", attrs.get("minlength", "")),
                   "maxlength": attrs.get("max-length", attrs.get("maxlength", ""))}
        kind = attrs.get("type", "text").lower()
        return _control_value(_Field(tag, control.name, {**attrs, **lengths}), kind, rng) or None
    return _control_value(control, kind, rng) or None


#: The image size the simulation reports for image widgets (it never loads the image).
IMAGE_SIZE = (600, 400)


def _slider_value(attrs: dict[str, str], rng: random.Random) -> int:
    low = _int_attr(attrs, "min", 0)
    high = max(_int_attr(attrs, "max", 100), low)
    step = max(_int_attr(attrs, "step", 1), 1)
    return rng.randrange(low, high + 1, step)


def _bounding_box(control: _Field, rng: random.Random) -> dict[str, Any]:
    width, height = IMAGE_SIZE
    left, top = rng.randrange(width // 2), rng.randrange(height // 2)
    box = {"height": rng.randint(10, height - top), "label": rng.choice(_choices(control, "labels")), "left": left,
           "top": top, "width": rng.randint(10, width - left)}
    answer: dict[str, Any] = {"boundingBoxes": [box], "inputImageProperties": {"height": height, "width": width}}
    if "initial-value" in control.attrs:
        answer["initialValueModified"] = True
    return answer


def _entities(control: _Field, rng: random.Random) -> list[dict[str, Any]]:
    """One labelled word of the ``text`` attribute; offsets count code points, as Python's own indices do."""
    words = list(re.finditer(r"\w+", control.attrs.get("text", "")))
    if not words:
        return []
    word = rng.choice(words)
    return [{"endOffset": word.end(), "label": rng.choice(_choices(control, "labels")), "startOffset": word.start()}]


def _choices(control: _Field, attribute: str) -> list[str]:
    """Values of a list attribute such as ``categories="['Yes', 'No']"`` or entity labels ``[{label: 'x'}]``."""
    return string_list(control.attrs.get(attribute)) or ["simulated"]


# --- QuestionForm --------------------------------------------------------------------------------------------


def question_form_answers(form: QuestionForm, rng: random.Random) -> dict[str, list[str]]:
    """Posted values that satisfy each question's specification (see the module docstring for omissions)."""
    posted: dict[str, list[str]] = {}
    for question in form.questions:
        spec = question.answer
        if isinstance(spec, FreeTextAnswer):
            text = free_text_for(spec, rng)
            if text is not None:
                posted[question.identifier] = [text]
        elif isinstance(spec, SelectionAnswer):
            posted.update(_selection_post(question.identifier, spec, rng))
    return posted


def _selection_post(identifier: str, spec: SelectionAnswer, rng: random.Random) -> dict[str, list[str]]:
    other_text = free_text_for(spec.other_selection, rng) if spec.other_selection is not None else None
    choices: list[str | None] = list(spec.selection_identifiers)
    if other_text is not None:
        choices.append(None)  # stands for the "other" answer
    low = max(spec.min_selection_count, 1)
    high = min(spec.max_selection_count, len(choices))
    if low > high:
        return {}  # MinSelectionCount needs the "other" answer, and no text for it could be found
    picked = rng.sample(choices, rng.randint(low, high))
    order = spec.selection_identifiers
    post = {identifier: sorted((choice for choice in picked if choice is not None), key=order.index)}
    if None in picked and other_text is not None:
        post[other_selection_field(identifier)] = [other_text]
    return post


def free_text_for(spec: FreeTextAnswer, rng: random.Random) -> str | None:
    """A text meeting every constraint of ``spec``, or ``None`` if no candidate does."""
    for candidate in _free_text_candidates(spec, rng):
        if free_text_error(spec, candidate, required=True) is None:
            return candidate
    return None


def _free_text_candidates(spec: FreeTextAnswer, rng: random.Random) -> Iterator[str]:
    minimum = spec.length.min_length if spec.length and spec.length.min_length else 1
    maximum = spec.length.max_length if spec.length and spec.length.max_length else max(minimum, 30)
    if spec.numeric is not None:
        for number in _numbers(spec.numeric, rng):
            yield str(number)
            yield str(number).zfill(minimum)
    if spec.default_text:
        yield spec.default_text
    yield from (_fit(rng.choice(WORDS), minimum, maximum, rng) for _ in range(3))
    yield _fit(rng.choice(SENTENCES), minimum, maximum, rng)
    yield from REGEX_CANDIDATES


def _numbers(numeric: NumericConstraint, rng: random.Random) -> list[int]:
    low, high = numeric.min_value, numeric.max_value
    if low is None:
        low = min(0, high) if high is not None else 0
    if high is None:
        high = low + 100
    return [rng.randint(low, high) for _ in range(5)] + [low, high]


def _fit(text: str, minimum: int, maximum: int, rng: random.Random) -> str:
    while len(text) < minimum:
        text += " " + rng.choice(WORDS)
    return text[:maximum]
