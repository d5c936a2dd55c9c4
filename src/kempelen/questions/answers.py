"""Worker answers as QuestionFormAnswers XML: built from form posts or QuestionForm submissions, and read back.

Decisions (MTurk left them unrecorded):

- **Repeated field names.** When a form post carries one name several times (same-name checkboxes, a
  ``<select multiple>``), Kempelen writes one ``Answer`` whose ``FreeText`` is the values joined with ``|`` in
  the order the browser posted them, e.g. ``red|blue``. This is what the requester site's results CSV shows,
  so the API and the CSV agree. A value that itself contains ``|`` cannot be told apart afterwards.
- **Reserved fields.** ``assignmentId``, ``hitId``, ``workerId`` and ``turkSubmitTo`` are dropped; every other
  field is kept (including ``taskAnswers``, the JSON string ``crowd-form`` posts). Fields with an empty name
  are dropped, since they cannot be a QuestionIdentifier.
- **Text.** Line breaks are written as ``\\n`` (browsers post ``\\r\\n``; XML parsers would fold it anyway).
  Characters XML 1.0 cannot carry at all (most control characters) are removed. Everything outside ASCII is
  written as a character reference, so the ``encoding="ASCII"`` declaration stays true.
- **QuestionForm submissions.** Every question gets an ``Answer``, in form order: unanswered free text is an
  empty ``FreeText``; an unanswered selection or file question has no value element at all. The "other" text of a SelectionAnswer is posted under :func:`other_selection_field`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

from kempelen.core.errors import InvalidQuestion

from . import namespaces
from .questionform import FileUploadAnswer, FreeTextAnswer, Question, QuestionForm, SelectionAnswer
from .validation import file_upload_error, free_text_error, selection_error
from .xmlutil import (
    ElementReader,
    element_text,
    parse_document,
    parse_int,
    split_tag,
    strip_invalid_xml_chars,
)

RESERVED_FIELDS = frozenset({"assignmentId", "hitId", "workerId", "turkSubmitTo"})
MULTI_VALUE_SEPARATOR = "|"
_NO_ATTRIBUTES: AttributesImpl[str] = AttributesImpl({})
OTHER_SELECTION_SUFFIX = ".OtherSelectionText"
_ANSWER_CHILDREN = (
    "QuestionIdentifier", "FreeText", "SelectionIdentifier", "OtherSelectionText",
    "UploadedFileSizeInBytes", "UploadedFileKey",
)


@dataclass(frozen=True)
class Answer:
    """One ``Answer`` element. At most one kind of value is set: free text, selections, or an uploaded file."""

    identifier: str
    free_text: str | None = None
    selection_identifiers: tuple[str, ...] = ()
    other_selection_text: str | None = None
    uploaded_file_key: str | None = None
    uploaded_file_size: int | None = None


def other_selection_field(identifier: str) -> str:
    """The form field that carries the typed "other" answer of the SelectionAnswer ``identifier``."""
    return identifier + OTHER_SELECTION_SUFFIX


# --- writing ---------------------------------------------------------------------------------------------------


def answers_xml(answers: Iterable[Answer]) -> str:
    """Serialise answers as a QuestionFormAnswers document with an ASCII declaration, as MTurk returned them."""
    buffer = io.BytesIO()
    # Writing to bytes makes XMLGenerator encode as ASCII with xmlcharrefreplace: non-ASCII becomes &#NNNN;.
    writer = XMLGenerator(buffer, encoding="ASCII", short_empty_elements=False)
    writer.startDocument()
    writer.startElement("QuestionFormAnswers", AttributesImpl({"xmlns": namespaces.QUESTION_FORM_ANSWERS}))
    for answer in answers:
        _write_answer(writer, answer)
    writer.endElement("QuestionFormAnswers")
    writer.endDocument()
    return buffer.getvalue().decode("ascii")


def empty_answers() -> str:
    """A QuestionFormAnswers document with no answers."""
    return answers_xml(())


def _write_answer(writer: XMLGenerator, answer: Answer) -> None:
    writer.startElement("Answer", _NO_ATTRIBUTES)
    _leaf(writer, "QuestionIdentifier", answer.identifier)
    if answer.free_text is not None:
        _leaf(writer, "FreeText", answer.free_text)
    elif answer.uploaded_file_key is not None:
        _leaf(writer, "UploadedFileSizeInBytes", str(answer.uploaded_file_size or 0))
        _leaf(writer, "UploadedFileKey", answer.uploaded_file_key)
    else:
        for identifier in answer.selection_identifiers:
            _leaf(writer, "SelectionIdentifier", identifier)
        if answer.other_selection_text is not None:
            _leaf(writer, "OtherSelectionText", answer.other_selection_text)
    writer.endElement("Answer")


def _leaf(writer: XMLGenerator, name: str, text: str) -> None:
    writer.startElement(name, _NO_ATTRIBUTES)
    writer.characters(_clean_text(text))
    writer.endElement(name)


def _clean_text(text: str) -> str:
    return strip_invalid_xml_chars(text.replace("\r\n", "\n").replace("\r", "\n"))


# --- form posts (ExternalQuestion, HTMLQuestion, layouts) ---------------------------------------------------


def answers_from_form_post(fields: Sequence[tuple[str, str]]) -> str:
    """QuestionFormAnswers for a posted HTML form: one Answer per field name, repeated names ``|``-joined."""
    grouped: dict[str, list[str]] = {}
    for name, value in fields:
        identifier = _clean_text(name)
        if not identifier or identifier in RESERVED_FIELDS:
            continue
        grouped.setdefault(identifier, []).append(value)
    return answers_xml(
        Answer(identifier=name, free_text=MULTI_VALUE_SEPARATOR.join(values)) for name, values in grouped.items()
    )


# --- QuestionForm submissions ----------------------------------------------------------------------------------


def answers_from_question_form(
    form: QuestionForm,
    posted: Mapping[str, Any],
    files: Mapping[str, tuple[int, str]] | None = None,
) -> tuple[str, dict[str, str]]:
    """Check a QuestionForm submission and build its answers.

    ``posted`` maps field names to lists of values (a Django ``QueryDict`` works too): a question's values are
    under its QuestionIdentifier, the "other" text under :func:`other_selection_field`. ``files`` gives
    (size in bytes, storage key) per FileUploadAnswer question. Returns the XML and a message per question that
    was answered wrongly; the XML is only meaningful when that dict is empty.
    """
    answers: list[Answer] = []
    errors: dict[str, str] = {}
    for question in form.questions:
        answer, error = _answer_question(question, posted, files or {})
        answers.append(answer)
        if error is not None:
            errors[question.identifier] = error
    return answers_xml(answers), errors


def _answer_question(
    question: Question, posted: Mapping[str, Any], files: Mapping[str, tuple[int, str]]
) -> tuple[Answer, str | None]:
    spec = question.answer
    identifier, required = question.identifier, question.is_required
    if isinstance(spec, FreeTextAnswer):
        values = _posted_values(posted, identifier)
        text = values[0] if values else ""
        if len(values) > 1:
            return Answer(identifier, free_text=text), "This question takes a single answer."
        return Answer(identifier, free_text=text), free_text_error(spec, text, required=required)
    if isinstance(spec, SelectionAnswer):
        selected = list(dict.fromkeys(value for value in _posted_values(posted, identifier) if value))
        other_values = _posted_values(posted, other_selection_field(identifier))
        other = other_values[0] if other_values and other_values[0].strip() else None
        answer = Answer(identifier, selection_identifiers=tuple(selected), other_selection_text=other)
        return answer, selection_error(spec, selected, other, required=required)
    return _file_answer(question, spec, files)


def _file_answer(
    question: Question, spec: FileUploadAnswer, files: Mapping[str, tuple[int, str]]
) -> tuple[Answer, str | None]:
    uploaded = files.get(question.identifier)
    if uploaded is None:
        return Answer(question.identifier), file_upload_error(spec, None, required=question.is_required)
    size, key = uploaded
    answer = Answer(question.identifier, uploaded_file_key=key, uploaded_file_size=size)
    return answer, file_upload_error(spec, size, required=question.is_required)


def _posted_values(posted: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(posted, "getlist", None)
    if callable(getlist):
        # A QueryDict's plain lookup returns only the last value.
        return [str(value) for value in getlist(name)]
    values = posted.get(name, [])
    if isinstance(values, str):
        return [values]
    return [str(value) for value in values]


# --- reading -----------------------------------------------------------------------------------------------------


def parse_answers(xml: str) -> list[Answer]:
    """Read a QuestionFormAnswers document (with or without its namespace) into Answers, in document order."""
    root = parse_document(xml, field="QuestionFormAnswers", max_bytes=None)
    namespace, name = split_tag(root.tag)
    if name != "QuestionFormAnswers":
        raise InvalidQuestion(f"Expected a <QuestionFormAnswers> document; its root element is <{name}>.")
    if namespace not in ("", namespaces.QUESTION_FORM_ANSWERS):
        raise InvalidQuestion(
            f"<QuestionFormAnswers> has the namespace {namespace!r}; expected {namespaces.QUESTION_FORM_ANSWERS!r}."
        )
    reader = ElementReader(root, namespace=namespace, allowed=("Answer",), repeatable=("Answer",),
                           path="QuestionFormAnswers")
    return [_parse_answer(element, namespace) for element in reader.all("Answer")]


def _parse_answer(element: Element, namespace: str) -> Answer:
    reader = ElementReader(element, namespace=namespace, allowed=_ANSWER_CHILDREN,
                           repeatable=("SelectionIdentifier",), path="QuestionFormAnswers/Answer")
    size = reader.optional_text("UploadedFileSizeInBytes")
    return Answer(
        identifier=reader.text("QuestionIdentifier", strip=False),
        free_text=reader.optional_text("FreeText", strip=False),
        selection_identifiers=tuple(
            element_text(selection, path="QuestionFormAnswers/Answer/SelectionIdentifier", strip=False)
            for selection in reader.all("SelectionIdentifier")
        ),
        other_selection_text=reader.optional_text("OtherSelectionText", strip=False),
        uploaded_file_key=reader.optional_text("UploadedFileKey", strip=False),
        uploaded_file_size=None if size is None else parse_int(
            size, path="QuestionFormAnswers/Answer/UploadedFileSizeInBytes", minimum=0, maximum=None
        ),
    )


def answers_as_mapping(xml: str) -> dict[str, set[str] | str]:
    """Answers keyed by QuestionIdentifier, for AnswerKey scoring and review policies.

    Free text (and an uploaded file's key) becomes a ``str``; selections become a ``set`` of
    SelectionIdentifiers. If an identifier appears twice, texts are ``|``-joined and selections merged.
    """
    mapping: dict[str, set[str] | str] = {}
    for answer in parse_answers(xml):
        value = _answer_value(answer)
        previous = mapping.get(answer.identifier)
        if previous is None:
            mapping[answer.identifier] = value
        elif isinstance(previous, str) and isinstance(value, str):
            mapping[answer.identifier] = previous + MULTI_VALUE_SEPARATOR + value
        else:
            mapping[answer.identifier] = _as_set(previous) | _as_set(value)
    return mapping


def _answer_value(answer: Answer) -> set[str] | str:
    if answer.free_text is not None:
        return answer.free_text
    if answer.uploaded_file_key is not None:
        return answer.uploaded_file_key
    return set(answer.selection_identifiers)


def _as_set(value: set[str] | str) -> set[str]:
    return {value} if isinstance(value, str) else set(value)
