"""QuestionForm as HTML: the form controls workers fill in, rendered by Kempelen on its own pages.

:func:`render_question_form` turns a parsed :class:`~kempelen.questions.questionform.QuestionForm` into
accessible form controls (no ``<form>`` element and no submit button: the page around them supplies those,
and must use ``enctype="multipart/form-data"`` when :func:`needs_file_upload` says so). Everything goes through
Django templates with autoescaping, so requester text always shows as text. FormattedContent is the one
place where requester markup becomes markup: it is checked again against the allow-list
(``formatted.check_formatted_content``) and then rebuilt element by element from the parsed tree, keeping
only allowed tags and a short list of harmless attributes, so nothing the requester wrote reaches the page
as a raw string.

Decisions (each visible to workers):

- **Field names** are the QuestionIdentifiers, the "other" text is posted under
  ``answers.other_selection_field(identifier)``: what ``answers.answers_from_question_form`` reads.
- **Which control for a SelectionAnswer.** StyleSuggestion is a suggestion: ``radiobutton`` gives radio
  buttons, ``checkbox`` and ``multichooser`` checkboxes, ``dropdown`` and ``combobox`` a drop-down list, ``list``
  radio buttons (or a multiple-choice list box when several choices are allowed). When MaxSelectionCount
  allows several choices, single-choice styles become their multiple-choice form (checkboxes, a list box);
  when a choice is a picture or sound, drop-downs and list boxes become radio buttons or checkboxes, which
  can show it. Without a suggestion: radio buttons for one choice, checkboxes for several.
- **"Other".** Radio buttons and drop-downs get an extra "Other" choice (posted with an empty value, which
  the answers module ignores) next to the text box for the worker's own answer, so a worker can move from a
  listed choice to their own; with checkboxes the text box alone counts as one more choice.
- **Browser checks** mirror the simple constraints (``required`` on questions whose answer can be checked by
  the browser, ``minlength``/``maxlength``); the server checks everything again, and regular expressions only
  there (JavaScript and Python patterns differ). Numeric answers stay text boxes (``type=number`` would
  refuse "1,5" silently and spin on scroll) with ``inputmode=decimal`` for a number keyboard on phones, unless
  the requester's ``minValue`` is negative: phone number keyboards often have no minus sign.
- **Media.** Images are ``<img>`` with the requester's AltText; sounds and videos get the browser's player
  plus a link to the file, so they can be reached even where the player cannot load them. EmbeddedBinary of
  other kinds (applets, Flash) is shown as a link, never embedded.
- **Links in FormattedContent** open in a new tab (``rel="noopener noreferrer"``), so following one does not
  lose the worker's answers; ``class``, ``id`` and ``style`` attributes are dropped (the page's styles and
  element ids are Kempelen's own; inline styles are blocked by the page's Content-Security-Policy anyway).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeElementTree
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .answers import other_selection_field
from .formatted import ALLOWED_TAGS, _numeric_entities, check_formatted_content
from .questionform import (
    Binary,
    BulletList,
    ContentItem,
    EmbeddedBinary,
    FileUploadAnswer,
    FormattedContent,
    FreeTextAnswer,
    Overview,
    Question,
    QuestionForm,
    Selection,
    SelectionAnswer,
    Text,
    Title,
)
from .xmlutil import split_tag

__all__ = ["formatted_html", "needs_file_upload", "render_question_form"]

TEMPLATE = "questions/question_form.html"
ID_PREFIX = "qf"
OTHER_LABEL = "Other"

_VOID_TAGS = frozenset({"br", "hr", "img", "col"})
_COMMON_ATTRIBUTES = frozenset({"title", "lang", "dir"})
_TAG_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href"}),
    "img": frozenset({"src", "alt", "width", "height"}),
    "td": frozenset({"colspan", "rowspan", "align", "valign"}),
    "th": frozenset({"colspan", "rowspan", "align", "valign", "scope"}),
    "tr": frozenset({"align", "valign"}),
    "table": frozenset({"border", "cellpadding", "cellspacing", "summary", "width"}),
    "col": frozenset({"span", "width"}),
    "colgroup": frozenset({"span", "width"}),
    "font": frozenset({"color", "size", "face"}),
    "ol": frozenset({"start", "type"}),
    "ul": frozenset({"type"}),
    "li": frozenset({"value", "type"}),
    "q": frozenset({"cite"}),
    "blockquote": frozenset({"cite"}),
    "p": frozenset({"align"}),
    "div": frozenset({"align"}),
}
_URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
_SIZE = re.compile(r"\s*[0-9]{1,5}%?\s*")


# --- FormattedContent -----------------------------------------------------------------------------------------


def formatted_html(xhtml: str) -> SafeString:
    """Requester XHTML from FormattedContent, checked against the allow-list again and rebuilt from its parse
    tree with only allowed tags and attributes (text and attribute values escaped). ``InvalidQuestion`` if it
    is not allowed, which a stored, already-checked form never is."""
    check_formatted_content(xhtml, path="FormattedContent")
    root = SafeElementTree.fromstring(f"<div>{_numeric_entities(xhtml)}</div>", forbid_dtd=True)
    parts: list[str] = []
    _children(root, parts)
    return mark_safe("".join(parts))  # built only from escaped text and allow-listed tags


def _children(element: Element, parts: list[str]) -> None:
    parts.append(escape(element.text or ""))
    for child in element:
        _element(child, parts)
        parts.append(escape(child.tail or ""))


def _element(element: Element, parts: list[str]) -> None:
    if not isinstance(element.tag, str):  # comments and processing instructions
        return
    tag = split_tag(element.tag)[1].lower()
    if tag not in ALLOWED_TAGS:
        return
    attributes = "".join(f' {name}="{escape(value)}"' for name, value in _attributes(tag, element))
    if tag == "a" and "href" in dict(_attributes(tag, element)):
        attributes += ' target="_blank" rel="noopener noreferrer"'
    if tag in _VOID_TAGS:
        parts.append(f"<{tag}{attributes}>")
        return
    parts.append(f"<{tag}{attributes}>")
    _children(element, parts)
    parts.append(f"</{tag}>")


def _attributes(tag: str, element: Element) -> Iterator[tuple[str, str]]:
    allowed = _COMMON_ATTRIBUTES | _TAG_ATTRIBUTES.get(tag, frozenset())
    for raw_name, value in element.attrib.items():
        name = split_tag(raw_name)[1].lower()
        if name not in allowed:
            continue
        if name in _URL_ATTRIBUTES and not _safe_url(value, allow_mailto=name == "href"):
            continue
        if name in ("width", "height") and not _SIZE.fullmatch(value):
            continue
        yield name, value


def _safe_url(url: str, *, allow_mailto: bool) -> bool:
    lowered = url.strip().lower()
    if lowered.startswith(("http://", "https://")):
        return True
    return allow_mailto and lowered.startswith(("mailto:", "#"))


def _plain_text(xhtml: str) -> str:
    root = SafeElementTree.fromstring(f"<div>{_numeric_entities(xhtml)}</div>", forbid_dtd=True)
    return " ".join("".join(root.itertext()).split())


# --- view models --------------------------------------------------------------------------------------------


@dataclass
class _Block:
    """One content item as the template shows it."""

    kind: str
    text: str = ""
    items: tuple[str, ...] = ()
    html: SafeString | None = None
    media: str = ""
    url: str = ""
    alt: str = ""
    mime: str = ""
    width: str = ""
    height: str = ""


@dataclass
class _Choice:
    id: str
    value: str
    label: str
    label_html: SafeString | None = None
    media: _Block | None = None
    checked: bool = False


@dataclass
class _Answer:
    kind: str  # "text" | "textarea" | "radio" | "checkbox" | "select" | "select-multiple" | "file" | "none"
    id: str
    name: str
    value: str = ""
    rows: int = 1
    required: bool = False
    numeric: bool = False
    min_length: int | None = None
    max_length: int | None = None
    choices: list[_Choice] = field(default_factory=list)
    other: _Other | None = None
    accept_note: str = ""


@dataclass
class _Other:
    name: str
    id: str
    value: str
    choice: _Choice | None
    min_length: int | None
    max_length: int | None
    numeric: bool
    help: str


@dataclass
class _QuestionView:
    number: int
    identifier: str
    id: str
    heading: str
    required: bool
    content: list[_Block]
    answer: _Answer
    help: list[str]
    error: str | None
    described_by: str
    choice_described_by: str
    anchor: str


def needs_file_upload(form: QuestionForm) -> bool:
    """Whether the page's ``<form>`` must be sent as ``multipart/form-data`` (a FileUploadAnswer question)."""
    return any(isinstance(question.answer, FileUploadAnswer) for question in form.questions)


def render_question_form(
    form: QuestionForm,
    *,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    read_only: bool = False,
) -> SafeString:
    """The form's overviews and questions as HTML form controls, in the requester's order.

    ``values`` (field name → list of posted values; a Django ``QueryDict`` works) re-fills what the worker
    typed after a refused submit; without it, free-text answers start with their DefaultText. ``errors``
    (QuestionIdentifier → message) are shown at the top, as links, and next to each question
    (``role=alert``, tied to its controls with ``aria-describedby``). ``read_only`` disables every control, for
    previews.
    """
    errors = errors or {}
    items: list[dict[str, Any]] = []
    number = 0
    for item in form.items:
        if isinstance(item, Overview):
            items.append({"overview": True, "content": _content(item.content)})
        else:
            number += 1
            items.append({"overview": False, "question": _question(item, number, values, errors.get(item.identifier))})
    summary = [item["question"] for item in items if not item["overview"] and item["question"].error]
    return mark_safe(render_to_string(TEMPLATE, {  # a Django template with autoescaping
        "items": items, "summary": summary, "read_only": read_only, "prefix": ID_PREFIX,
    }))


def _question(question: Question, number: int, values: Mapping[str, Any] | None, error: str | None) -> _QuestionView:
    base = f"{ID_PREFIX}-q{number}"
    answer, help_texts = _answer(question, base, values)
    notes = ([f"{base}-error"] if error else []) + ([f"{base}-help"] if help_texts else [])
    described = [*notes, f"{base}-content"]
    anchor = answer.choices[0].id if answer.kind in ("radio", "checkbox") and answer.choices else answer.id
    return _QuestionView(
        number=number,
        identifier=question.identifier,
        id=base,
        heading=question.display_name or f"Question {number}",
        required=question.is_required,
        content=_content(question.content),
        answer=answer,
        help=help_texts,
        error=error,
        described_by=" ".join(described),
        choice_described_by=" ".join(notes),
        anchor=anchor,
    )


# content


def _content(items: tuple[ContentItem, ...]) -> list[_Block]:
    return [_block(item) for item in items]


def _block(item: ContentItem) -> _Block:
    if isinstance(item, Title):
        return _Block("title", text=item.text)
    if isinstance(item, Text):
        return _Block("text", items=tuple(_paragraphs(item.text)))
    if isinstance(item, BulletList):
        return _Block("list", items=item.items)
    if isinstance(item, FormattedContent):
        return _Block("formatted", html=formatted_html(item.xhtml))
    if isinstance(item, Binary):
        return _binary(item.mime_type, item.mime_subtype, item.data_url, item.alt_text)
    assert isinstance(item, EmbeddedBinary)
    block = _binary(item.mime_type, item.mime_subtype, item.data_url, item.alt_text)
    block.width = item.width if _SIZE.fullmatch(item.width) else ""
    block.height = item.height if _SIZE.fullmatch(item.height) else ""
    return block


def _paragraphs(text: str) -> Iterator[str]:
    """Text split at blank lines; single line breaks are kept by the stylesheet (``white-space: pre-line``)."""
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        if paragraph.strip():
            yield paragraph.strip()


def _binary(mime_type: str, subtype: str | None, url: str, alt: str) -> _Block:
    kind = mime_type.lower()
    mime = f"{kind}/{subtype}" if subtype else kind
    media = kind if kind in ("image", "audio", "video") and _safe_url(url, allow_mailto=False) else "link"
    return _Block("binary", media=media, url=url if _safe_url(url, allow_mailto=False) else "", alt=alt, mime=mime)


# answers


def _posted(values: Mapping[str, Any] | None, name: str) -> list[str] | None:
    """The values posted under ``name``, or ``None`` when nothing was posted for it (or nothing at all)."""
    if values is None:
        return None
    getlist = getattr(values, "getlist", None)
    if callable(getlist):
        return [str(value) for value in getlist(name)] if name in values else None
    if name not in values:
        return None
    found = values[name]
    return [found] if isinstance(found, str) else [str(value) for value in found]


def _answer(question: Question, base: str, values: Mapping[str, Any] | None) -> tuple[_Answer, list[str]]:
    spec = question.answer
    if isinstance(spec, FreeTextAnswer):
        return _free_text(question, spec, base, values)
    if isinstance(spec, SelectionAnswer):
        return _selection(question, spec, base, values)
    return _file(question, spec, base)


def _free_text(
    question: Question, spec: FreeTextAnswer, base: str, values: Mapping[str, Any] | None
) -> tuple[_Answer, list[str]]:
    posted = _posted(values, question.identifier)
    value = posted[0] if posted else ("" if posted is not None else spec.default_text or "")
    rows = spec.number_of_lines or 1
    answer = _Answer(
        kind="textarea" if rows > 1 else "text",
        id=f"{base}-answer",
        name=question.identifier,
        value=value,
        rows=rows,
        required=question.is_required,
        numeric=_number_keyboard(spec),
        min_length=spec.length.min_length if spec.length and spec.length.min_length else None,
        max_length=spec.length.max_length if spec.length else None,
    )
    return answer, _free_text_help(spec)


def _number_keyboard(spec: FreeTextAnswer) -> bool:
    """Whether a phone's decimal keyboard suits the answer: a number not expected to be negative."""
    return spec.numeric is not None and (spec.numeric.min_value is None or spec.numeric.min_value >= 0)


def _free_text_help(spec: FreeTextAnswer) -> list[str]:
    notes: list[str] = []
    if spec.numeric is not None:
        low, high = spec.numeric.min_value, spec.numeric.max_value
        if low is not None and high is not None:
            notes.append(f"A number from {low} to {high}.")
        elif low is not None:
            notes.append(f"A number of at least {low}.")
        elif high is not None:
            notes.append(f"A number of at most {high}.")
        else:
            notes.append("A number.")
    if spec.length is not None:
        notes.append(_length_help(spec.length.min_length, spec.length.max_length))
    return [note for note in notes if note]


def _length_help(low: int | None, high: int | None) -> str:
    low = low or None

    def chars(n: int) -> str:
        return f"{n} character{'s' if n != 1 else ''}"

    if low is not None and high is not None:
        return f"Exactly {chars(low)}." if low == high else f"From {low} to {chars(high)}."
    if low is not None:
        return f"At least {chars(low)}."
    if high is not None:
        return f"At most {chars(high)}."
    return ""


def _widget(spec: SelectionAnswer) -> str:
    multiple = spec.max_selection_count > 1
    pictures = any(isinstance(selection.label, Binary) for selection in spec.selections)
    style = spec.style_suggestion
    if style in ("dropdown", "combobox") and not pictures:
        return "select-multiple" if multiple else "select"
    if style == "list" and multiple and not pictures:
        return "select-multiple"
    if multiple or style in ("checkbox", "multichooser"):
        return "checkbox"
    return "radio"


def _selection(
    question: Question, spec: SelectionAnswer, base: str, values: Mapping[str, Any] | None
) -> tuple[_Answer, list[str]]:
    kind = _widget(spec)
    posted = _posted(values, question.identifier) or []
    chosen = {value for value in posted if value}
    other_posted = _posted(values, other_selection_field(question.identifier))
    other_text = other_posted[0] if other_posted else ""
    choices = [_choice(selection, f"{base}-choice{index}", selection.identifier in chosen, text_only=kind.startswith("select"))
               for index, selection in enumerate(spec.selections, start=1)]
    answer = _Answer(
        kind=kind,
        id=f"{base}-answer",
        name=question.identifier,
        # A radio group or a drop-down with a placeholder can be required in the browser; checkboxes cannot.
        required=question.is_required and kind in ("radio", "select"),
        choices=choices,
    )
    help_texts = [_count_help(spec, kind)]
    if spec.other_selection is not None:
        other_spec = spec.other_selection
        other_choice = None
        if kind in ("radio", "select"):
            other_choice = _Choice(
                id=f"{base}-other-choice", value="", label=OTHER_LABEL,
                # The radio button posts an empty value; a drop-down's empty value may be its placeholder.
                checked=(kind == "radio" and "" in posted) or (bool(other_text.strip()) and not chosen),
            )
            if kind == "select":
                answer.required = False  # the "Other" option posts an empty value, which a required list refuses
        answer.other = _Other(
            name=other_selection_field(question.identifier),
            id=f"{base}-other",
            value=other_text,
            choice=other_choice,
            min_length=other_spec.length.min_length if other_spec.length and other_spec.length.min_length else None,
            max_length=other_spec.length.max_length if other_spec.length else None,
            numeric=_number_keyboard(other_spec),
            help=" ".join(_free_text_help(other_spec)),
        )
        if kind in ("radio", "select"):
            help_texts.append(f"If none fits, choose \u201c{OTHER_LABEL}\u201d and type your own answer.")
        else:
            help_texts.append("You may also type an answer of your own; it counts as one choice.")
    return answer, [text for text in help_texts if text]


def _choice(selection: Selection, choice_id: str, checked: bool, *, text_only: bool) -> _Choice:
    label = selection.label
    if isinstance(label, str):
        return _Choice(choice_id, selection.identifier, label, checked=checked)
    if isinstance(label, FormattedContent):
        if text_only:
            return _Choice(choice_id, selection.identifier, _plain_text(label.xhtml), checked=checked)
        return _Choice(choice_id, selection.identifier, _plain_text(label.xhtml),
                       label_html=formatted_html(label.xhtml), checked=checked)
    media = _binary(label.mime_type, label.mime_subtype, label.data_url, label.alt_text)
    return _Choice(choice_id, selection.identifier, label.alt_text or selection.identifier, media=media,
                   checked=checked)


def _count_help(spec: SelectionAnswer, kind: str) -> str:
    offered = len(spec.selections) + (1 if spec.other_selection is not None else 0)
    low, high = spec.min_selection_count, min(spec.max_selection_count, offered)
    if high <= 1:
        return "Choose only one." if kind in ("checkbox", "select-multiple") else ""
    if low <= 1:
        return f"Choose up to {high}."
    if low == high:
        return f"Choose {low}."
    return f"Choose from {low} to {high}."


def _file(question: Question, spec: FileUploadAnswer, base: str) -> tuple[_Answer, list[str]]:
    answer = _Answer(kind="file", id=f"{base}-answer", name=question.identifier, required=question.is_required)
    low, high = spec.min_file_size_in_bytes, spec.max_file_size_in_bytes
    note = f"A file of at most {_bytes(high)}." if low <= 0 else f"A file from {_bytes(low)} to {_bytes(high)}."
    return answer, [note]


def _bytes(size: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= scale:
            amount = size / scale
            return f"{amount:.1f} {unit}".replace(".0 ", " ")
    return f"{size:,} byte{'s' if size != 1 else ''}"
