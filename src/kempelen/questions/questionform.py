"""QuestionForm: MTurk's XML form format, parsed into frozen dataclasses and validated.

Regular expressions (``AnswerFormatRegex``) were JavaScript patterns tested with ``RegExp.test``: a match anywhere
in the answer counts, so ``\\S`` means "not blank". Kempelen runs them with Python's ``re.search`` after rewriting
JavaScript's named groups ``(?<name>…)`` as ``(?P<name>…)``. Flags: ``i`` (ignore case), ``m`` (multi-line) and
``s`` (dot matches newline) are honoured; ``g``, ``u`` and ``y`` change nothing about a single test and are
accepted and ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from kempelen.core.errors import InvalidQuestion

from . import namespaces
from .formatted import check_formatted_content
from .xmlutil import MAX_INT32, ElementReader, element_text, local_name, parse_bool, parse_int

MAX_FILE_SIZE_IN_BYTES = 2_000_000_000
STYLE_SUGGESTIONS = ("radiobutton", "dropdown", "checkbox", "list", "combobox", "multichooser")
MIME_TYPES = ("image", "audio", "video")
_CONTENT_ELEMENTS = ("Title", "Text", "List", "FormattedContent", "Binary", "EmbeddedBinary", "Application")
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "g": 0, "u": 0, "y": 0}
_JS_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")


# --- content ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Title:
    text: str


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class BulletList:
    """MTurk's ``List`` of ``ListItem`` strings."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Binary:
    """An image, sound or video shown as a link or inline: ``MimeType{Type,SubType}``, ``DataURL``, ``AltText``."""

    mime_type: str
    mime_subtype: str | None
    data_url: str
    alt_text: str


@dataclass(frozen=True)
class EmbeddedBinary:
    mime_type: str
    mime_subtype: str
    data_url: str
    alt_text: str
    width: str
    height: str
    parameters: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FormattedContent:
    """XHTML from the allowed subset, kept as the requester wrote it (see ``formatted.py``)."""

    xhtml: str


ContentItem = Title | Text | BulletList | Binary | EmbeddedBinary | FormattedContent


# --- answer specifications ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NumericConstraint:
    """``IsNumeric``: the answer must be a number, optionally within inclusive integer bounds."""

    min_value: int | None = None
    max_value: int | None = None


@dataclass(frozen=True)
class LengthConstraint:
    min_length: int | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class RegexConstraint:
    pattern: str
    error_text: str | None = None
    flags: str = ""

    def compiled(self) -> re.Pattern[str]:
        return compile_regex(self.pattern, self.flags)

    def matches(self, text: str) -> bool:
        return self.compiled().search(text) is not None


@dataclass(frozen=True)
class FreeTextAnswer:
    numeric: NumericConstraint | None = None
    length: LengthConstraint | None = None
    regexes: tuple[RegexConstraint, ...] = ()
    default_text: str | None = None
    number_of_lines: int | None = None


@dataclass(frozen=True)
class Selection:
    """One choice. ``label`` is plain text, formatted XHTML or a media file."""

    identifier: str
    label: str | FormattedContent | Binary


@dataclass(frozen=True)
class SelectionAnswer:
    """Counts default to 1 and 1, as MTurk's. A typed "other" answer counts as one selection."""

    selections: tuple[Selection, ...]
    min_selection_count: int = 1
    max_selection_count: int = 1
    style_suggestion: str | None = None
    other_selection: FreeTextAnswer | None = None

    @property
    def selection_identifiers(self) -> tuple[str, ...]:
        return tuple(selection.identifier for selection in self.selections)


@dataclass(frozen=True)
class FileUploadAnswer:
    min_file_size_in_bytes: int
    max_file_size_in_bytes: int


AnswerSpecification = FreeTextAnswer | SelectionAnswer | FileUploadAnswer


# --- the form ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    identifier: str
    display_name: str | None
    is_required: bool
    content: tuple[ContentItem, ...]
    answer: AnswerSpecification


@dataclass(frozen=True)
class Overview:
    content: tuple[ContentItem, ...]


@dataclass(frozen=True)
class QuestionForm:
    """Overviews and questions in the order the requester wrote them."""

    namespace: str
    items: tuple[Overview | Question, ...]

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(item for item in self.items if isinstance(item, Question))

    def question(self, identifier: str) -> Question:
        """The question with this QuestionIdentifier; ``KeyError`` if there is none."""
        for question in self.questions:
            if question.identifier == identifier:
                return question
        raise KeyError(identifier)


# --- parsing -------------------------------------------------------------------------------------------------


def compile_regex(pattern: str, flags: str = "") -> re.Pattern[str]:
    """Compile an AnswerFormatRegex as described in the module docstring; ``re.error`` if it does not compile."""
    value = 0
    for flag in flags:
        value |= _REGEX_FLAGS[flag]
    return re.compile(_JS_NAMED_GROUP.sub("(?P<", pattern), value)


def parse_question_form(root: Element) -> QuestionForm:
    """Build a QuestionForm from its already-parsed root element (namespace checked by the caller)."""
    namespace = root.tag[1:].partition("}")[0]
    reader = ElementReader(
        root, namespace=namespace, allowed=("Overview", "Question"), repeatable=("Overview", "Question"),
        path="QuestionForm",
    )
    parser = _FormParser(namespace)
    items: list[Overview | Question] = []
    for name, child in reader.ordered():
        if name == "Overview":
            items.append(Overview(parser.content(child, path="QuestionForm/Overview")))
        else:
            items.append(parser.question(child, number=sum(isinstance(item, Question) for item in items) + 1))
    form = QuestionForm(namespace=namespace, items=tuple(items))
    _check_questions(form)
    return form


def _check_questions(form: QuestionForm) -> None:
    if not form.questions:
        raise InvalidQuestion("QuestionForm must contain at least one Question element.")
    seen: set[str] = set()
    for question in form.questions:
        if question.identifier in seen:
            raise InvalidQuestion(
                f"QuestionIdentifier {question.identifier!r} is used by more than one Question; "
                "each question needs its own identifier."
            )
        seen.add(question.identifier)


class _FormParser:
    """Parses the parts of one form; remembers the namespace, which decides what the schema allows."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.is_2017 = namespace == namespaces.QUESTION_FORM_2017

    def reader(self, element: Element, path: str, allowed: tuple[str, ...], repeatable: tuple[str, ...] = ()
               ) -> ElementReader:
        return ElementReader(element, namespace=self.namespace, allowed=allowed, repeatable=repeatable, path=path)

    def question(self, element: Element, *, number: int) -> Question:
        path = f"QuestionForm/Question[{number}]"
        reader = self.reader(
            element, path, ("QuestionIdentifier", "DisplayName", "IsRequired", "QuestionContent",
                            "AnswerSpecification"),
        )
        identifier = reader.text("QuestionIdentifier")
        if not identifier:
            raise InvalidQuestion(f"{path}/QuestionIdentifier must not be empty.")
        path = f"QuestionForm/Question[{identifier}]"
        is_required = reader.optional_text("IsRequired")
        return Question(
            identifier=identifier,
            display_name=reader.optional_text("DisplayName"),
            is_required=parse_bool(is_required, path=f"{path}/IsRequired") if is_required is not None else False,
            content=self.content(reader.required("QuestionContent"), path=f"{path}/QuestionContent"),
            answer=self.answer_specification(reader.required("AnswerSpecification"), path=f"{path}/AnswerSpecification"),
        )

    # content

    def content(self, element: Element, *, path: str) -> tuple[ContentItem, ...]:
        reader = self.reader(element, path, _CONTENT_ELEMENTS, repeatable=_CONTENT_ELEMENTS)
        items = tuple(self.content_item(name, child, path=f"{path}/{name}") for name, child in reader.ordered())
        if not items:
            raise InvalidQuestion(f"{path} is empty; it needs at least one of Title, Text, List, FormattedContent or Binary.")
        return items

    def content_item(self, name: str, element: Element, *, path: str) -> ContentItem:
        if name == "Title":
            return Title(element_text(element, path=path))
        if name == "Text":
            return Text(element_text(element, path=path))
        if name == "List":
            return self.bullet_list(element, path=path)
        if name == "FormattedContent":
            return self.formatted_content(element, path=path)
        if name == "Binary":
            return self.binary(element, path=path)
        if name == "EmbeddedBinary":
            return self.embedded_binary(element, path=path)
        raise InvalidQuestion(
            f"{path}: Application content (Java applets and Flash) is obsolete and not supported; "
            "use FormattedContent, Binary or an HTMLQuestion instead."
        )

    def bullet_list(self, element: Element, *, path: str) -> BulletList:
        reader = self.reader(element, path, ("ListItem",), repeatable=("ListItem",))
        items = tuple(element_text(item, path=f"{path}/ListItem") for item in reader.all("ListItem"))
        if not items:
            raise InvalidQuestion(f"{path} must contain at least one ListItem.")
        return BulletList(items)

    def formatted_content(self, element: Element, *, path: str) -> FormattedContent:
        if len(element):
            raise InvalidQuestion(
                f"{path} must hold its XHTML inside a CDATA section (<![CDATA[ … ]]>); "
                f"found the element <{local_name(element[0])}> directly inside it."
            )
        xhtml = element.text or ""
        check_formatted_content(xhtml, path=path)
        return FormattedContent(xhtml)

    def binary(self, element: Element, *, path: str) -> Binary:
        reader = self.reader(element, path, ("MimeType", "DataURL", "AltText"))
        mime = self.reader(reader.required("MimeType"), f"{path}/MimeType", ("Type", "SubType"))
        mime_type = mime.text("Type")
        if mime_type not in MIME_TYPES:
            raise InvalidQuestion(f"{path}/MimeType/Type must be one of {', '.join(MIME_TYPES)}; got {mime_type!r}.")
        return Binary(
            mime_type=mime_type,
            mime_subtype=mime.optional_text("SubType") or None,
            data_url=_http_url(reader.text("DataURL"), path=f"{path}/DataURL"),
            alt_text=reader.text("AltText"),
        )

    def embedded_binary(self, element: Element, *, path: str) -> EmbeddedBinary:
        reader = self.reader(
            element, path, ("EmbeddedMimeType", "DataURL", "AltText", "Width", "Height", "ApplicationParameter"),
            repeatable=("ApplicationParameter",),
        )
        mime = self.reader(reader.required("EmbeddedMimeType"), f"{path}/EmbeddedMimeType", ("Type", "SubType"))
        parameters = []
        for parameter in reader.all("ApplicationParameter"):
            pair = self.reader(parameter, f"{path}/ApplicationParameter", ("Name", "Value"))
            parameters.append((pair.text("Name"), pair.text("Value", strip=False)))
        return EmbeddedBinary(
            mime_type=mime.text("Type"),
            mime_subtype=mime.text("SubType"),
            data_url=_http_url(reader.text("DataURL"), path=f"{path}/DataURL"),
            alt_text=reader.text("AltText"),
            width=reader.text("Width"),
            height=reader.text("Height"),
            parameters=tuple(parameters),
        )

    # answer specifications

    def answer_specification(self, element: Element, *, path: str) -> AnswerSpecification:
        kinds = ("FreeTextAnswer", "SelectionAnswer", "FileUploadAnswer")
        reader = self.reader(element, path, kinds)
        present = [kind for kind in kinds if reader.has(kind)]
        if len(present) != 1:
            raise InvalidQuestion(
                f"{path} must contain exactly one of FreeTextAnswer, SelectionAnswer or FileUploadAnswer; "
                f"found {len(present)}."
            )
        kind = present[0]
        child = reader.required(kind)
        if kind == "FreeTextAnswer":
            return self.free_text(child, path=f"{path}/FreeTextAnswer")
        if kind == "SelectionAnswer":
            return self.selection_answer(child, path=f"{path}/SelectionAnswer")
        return self.file_upload(child, path=f"{path}/FileUploadAnswer")

    def free_text(self, element: Element, *, path: str) -> FreeTextAnswer:
        reader = self.reader(element, path, ("Constraints", "DefaultText", "NumberOfLinesSuggestion"))
        constraints = reader.optional("Constraints")
        numeric, length, regexes = self.constraints(constraints, path=f"{path}/Constraints") if constraints is not None else (None, None, ())
        return FreeTextAnswer(
            numeric=numeric,
            length=length,
            regexes=regexes,
            default_text=reader.optional_text("DefaultText", strip=False),
            number_of_lines=reader.optional_integer("NumberOfLinesSuggestion", minimum=1),
        )

    def constraints(self, element: Element, *, path: str
                    ) -> tuple[NumericConstraint | None, LengthConstraint | None, tuple[RegexConstraint, ...]]:
        reader = self.reader(element, path, ("IsNumeric", "Length", "AnswerFormatRegex"), repeatable=("AnswerFormatRegex",))
        numeric = reader.optional("IsNumeric")
        length = reader.optional("Length")
        return (
            _numeric(numeric, path=f"{path}/IsNumeric") if numeric is not None else None,
            _length(length, path=f"{path}/Length") if length is not None else None,
            tuple(_regex(regex, path=f"{path}/AnswerFormatRegex") for regex in reader.all("AnswerFormatRegex")),
        )

    def selection_answer(self, element: Element, *, path: str) -> SelectionAnswer:
        reader = self.reader(element, path, ("MinSelectionCount", "MaxSelectionCount", "StyleSuggestion", "Selections"))
        style = reader.optional_text("StyleSuggestion")
        if style is not None and style not in STYLE_SUGGESTIONS:
            raise InvalidQuestion(f"{path}/StyleSuggestion must be one of {', '.join(STYLE_SUGGESTIONS)}; got {style!r}.")
        selections, other = self.selections(reader.required("Selections"), path=f"{path}/Selections")
        answer = SelectionAnswer(
            selections=selections,
            min_selection_count=_count(reader, "MinSelectionCount", default=1, minimum=0),
            max_selection_count=_count(reader, "MaxSelectionCount", default=1, minimum=1),
            style_suggestion=style,
            other_selection=other,
        )
        _check_selection_counts(answer, path=path)
        return answer

    def selections(self, element: Element, *, path: str) -> tuple[tuple[Selection, ...], FreeTextAnswer | None]:
        reader = self.reader(element, path, ("Selection", "OtherSelection"), repeatable=("Selection",))
        selections = tuple(self.selection(child, path=f"{path}/Selection") for child in reader.all("Selection"))
        if not selections:
            raise InvalidQuestion(f"{path} must contain at least one Selection.")
        identifiers = [selection.identifier for selection in selections]
        for identifier in identifiers:
            if identifiers.count(identifier) > 1:
                raise InvalidQuestion(f"{path}: SelectionIdentifier {identifier!r} is used by more than one Selection.")
        other = reader.optional("OtherSelection")
        return selections, self.free_text(other, path=f"{path}/OtherSelection") if other is not None else None

    def selection(self, element: Element, *, path: str) -> Selection:
        reader = self.reader(element, path, ("SelectionIdentifier", "Text", "FormattedContent", "Binary"))
        identifier = reader.text("SelectionIdentifier")
        if not identifier:
            raise InvalidQuestion(f"{path}/SelectionIdentifier must not be empty.")
        labels = [name for name in ("Text", "FormattedContent", "Binary") if reader.has(name)]
        if len(labels) != 1:
            raise InvalidQuestion(
                f"{path}[{identifier}] must contain exactly one of Text, FormattedContent or Binary; found {len(labels)}."
            )
        child = reader.required(labels[0])
        label: str | FormattedContent | Binary
        if labels[0] == "Text":
            label = element_text(child, path=f"{path}/Text")
        elif labels[0] == "FormattedContent":
            label = self.formatted_content(child, path=f"{path}/FormattedContent")
        else:
            label = self.binary(child, path=f"{path}/Binary")
        return Selection(identifier=identifier, label=label)

    def file_upload(self, element: Element, *, path: str) -> FileUploadAnswer:
        if self.is_2017:
            raise InvalidQuestion(
                f"{path}: FileUploadAnswer is not part of the 2017-11-06 QuestionForm schema; "
                f"use the namespace {namespaces.QUESTION_FORM_2005!r} for file uploads."
            )
        reader = self.reader(element, path, ("MaxFileSizeInBytes", "MinFileSizeInBytes"))
        maximum = reader.integer("MaxFileSizeInBytes", minimum=0, maximum=MAX_FILE_SIZE_IN_BYTES)
        minimum = reader.integer("MinFileSizeInBytes", minimum=0, maximum=MAX_FILE_SIZE_IN_BYTES)
        if minimum > maximum:
            raise InvalidQuestion(f"{path}: MinFileSizeInBytes ({minimum}) is larger than MaxFileSizeInBytes ({maximum}).")
        return FileUploadAnswer(min_file_size_in_bytes=minimum, max_file_size_in_bytes=maximum)


# --- leaf helpers --------------------------------------------------------------------------------------------


def _attributes(element: Element, allowed: tuple[str, ...], *, path: str) -> dict[str, str]:
    unknown = [name for name in element.attrib if name not in allowed]
    if unknown:
        raise InvalidQuestion(f"{path} has an unknown attribute {unknown[0]!r}; expected {' or '.join(allowed)}.")
    if len(element) or (element.text or "").strip():
        raise InvalidQuestion(f"{path} takes its settings as attributes and must be empty.")
    return dict(element.attrib)


def _numeric(element: Element, *, path: str) -> NumericConstraint:
    attributes = _attributes(element, ("minValue", "maxValue"), path=path)
    bounds = {
        name: parse_int(value.strip(), path=f"{path}@{name}", minimum=-MAX_INT32 - 1)
        for name, value in attributes.items()
    }
    constraint = NumericConstraint(min_value=bounds.get("minValue"), max_value=bounds.get("maxValue"))
    _check_order(constraint.min_value, constraint.max_value, path=path, names=("minValue", "maxValue"))
    return constraint


def _length(element: Element, *, path: str) -> LengthConstraint:
    attributes = _attributes(element, ("minLength", "maxLength"), path=path)
    bounds = {name: parse_int(value.strip(), path=f"{path}@{name}", minimum=0) for name, value in attributes.items()}
    if bounds.get("maxLength") == 0:
        raise InvalidQuestion(f"{path}@maxLength must be at least 1.")
    constraint = LengthConstraint(min_length=bounds.get("minLength"), max_length=bounds.get("maxLength"))
    _check_order(constraint.min_length, constraint.max_length, path=path, names=("minLength", "maxLength"))
    return constraint


def _regex(element: Element, *, path: str) -> RegexConstraint:
    attributes = _attributes(element, ("regex", "errorText", "flags"), path=path)
    if "regex" not in attributes:
        raise InvalidQuestion(f"{path} is missing its regex attribute.")
    pattern, flags = attributes["regex"], attributes.get("flags", "").strip()
    unknown = sorted(set(flags) - set(_REGEX_FLAGS))
    if unknown:
        raise InvalidQuestion(f"{path}@flags has the unknown flag {unknown[0]!r}; use i for case-insensitive matching.")
    try:
        compile_regex(pattern, flags)
    except re.error as exc:
        raise InvalidQuestion(f"{path}@regex {pattern!r} is not a valid regular expression: {exc}.") from None
    return RegexConstraint(pattern=pattern, error_text=attributes.get("errorText") or None, flags=flags)


def _count(reader: ElementReader, name: str, *, default: int, minimum: int) -> int:
    value = reader.optional_integer(name, minimum=minimum)
    return default if value is None else value


def _check_selection_counts(answer: SelectionAnswer, *, path: str) -> None:
    _check_order(answer.min_selection_count, answer.max_selection_count, path=path,
                 names=("MinSelectionCount", "MaxSelectionCount"))
    offered = len(answer.selections) + (1 if answer.other_selection is not None else 0)
    if answer.min_selection_count > offered:
        raise InvalidQuestion(
            f"{path}: MinSelectionCount is {answer.min_selection_count}, but the question offers only "
            f"{offered} choice{'s' if offered != 1 else ''}."
        )


def _check_order(low: int | None, high: int | None, *, path: str, names: tuple[str, str]) -> None:
    if low is not None and high is not None and low > high:
        raise InvalidQuestion(f"{path}: {names[0]} ({low}) is larger than {names[1]} ({high}).")


def _http_url(url: str, *, path: str) -> str:
    if not re.match(r"(?i)https?://[^\s/?#]+", url) or re.search(r"\s", url):
        raise InvalidQuestion(f"{path} must be an absolute http:// or https:// URL without spaces; got {url!r}.")
    return url
