"""Parse and validate a HIT's Question (ExternalQuestion, HTMLQuestion, QuestionForm) and a qualification Test.

Namespace rule: the root element's name decides the kind, and the root must then be in one of that kind's
namespaces (listed in ``namespaces.py``), as MTurk required; a missing or wrong namespace is refused with a
message naming the expected one. Children must be in the same namespace as the root.

Size: the whole document, declaration and whitespace included, must fit in 65,535 bytes of UTF-8; a larger one
is refused with ``InvalidParameter`` (InvalidParameterValue), every other problem with ``InvalidQuestion``
(XMLParseError).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

from kempelen.core.errors import InvalidQuestion

from . import namespaces
from .questionform import (
    AnswerSpecification,
    Binary,
    BulletList,
    ContentItem,
    EmbeddedBinary,
    FileUploadAnswer,
    FormattedContent,
    FreeTextAnswer,
    LengthConstraint,
    NumericConstraint,
    Overview,
    Question,
    QuestionForm,
    RegexConstraint,
    Selection,
    SelectionAnswer,
    Text,
    Title,
    parse_question_form,
)
from .xmlutil import MAX_INT32, ElementReader, parse_document, split_tag

__all__ = [
    "AnswerSpecification",
    "Binary",
    "BulletList",
    "ContentItem",
    "EmbeddedBinary",
    "ExternalQuestion",
    "FileUploadAnswer",
    "FormattedContent",
    "FreeTextAnswer",
    "HTMLQuestion",
    "LengthConstraint",
    "NumericConstraint",
    "Overview",
    "ParsedQuestion",
    "Question",
    "QuestionForm",
    "RegexConstraint",
    "Selection",
    "SelectionAnswer",
    "Text",
    "Title",
    "parse_question",
    "parse_test",
]

#: Generous for any real page address, yet short enough to stay a sane URL once MTurk's parameters are added.
MAX_EXTERNAL_URL_LENGTH = 8_000

_KINDS = {
    "ExternalQuestion": (namespaces.EXTERNAL_QUESTION,),
    "HTMLQuestion": (namespaces.HTML_QUESTION,),
    "QuestionForm": namespaces.QUESTION_FORM,
}


@dataclass(frozen=True)
class ExternalQuestion:
    """A page on the requester's own HTTPS site, shown in a frame. ``frame_height`` 0 means fit the window."""

    external_url: str
    frame_height: int


@dataclass(frozen=True)
class HTMLQuestion:
    """A requester-written HTML page that Kempelen hosts and shows in a frame."""

    html_content: str
    frame_height: int


ParsedQuestion = ExternalQuestion | HTMLQuestion | QuestionForm


def parse_question(xml: str, *, field: str = "Question") -> ParsedQuestion:
    """Parse a HIT's Question XML; every refusal says which element is wrong and what was expected."""
    root = parse_document(xml, field=field)
    kind = _kind_of(root, field=field)
    if kind == "ExternalQuestion":
        return _external_question(root)
    if kind == "HTMLQuestion":
        return _html_question(root)
    return parse_question_form(root)


def parse_test(xml: str) -> QuestionForm:
    """Parse a qualification type's Test, which MTurk only allowed to be a QuestionForm."""
    root = parse_document(xml, field="Test")
    kind = _kind_of(root, field="Test")
    if kind != "QuestionForm":
        raise InvalidQuestion(
            f"A qualification test must be a QuestionForm; {kind} cannot be used as a Test. "
            "Workers answer tests on Kempelen's own pages, which only QuestionForm describes."
        )
    return parse_question_form(root)


def _kind_of(root: Element, *, field: str) -> str:
    namespace, name = split_tag(root.tag)
    if name not in _KINDS:
        raise InvalidQuestion(
            f"{field} must be an XML document of type 'HTMLQuestion', 'ExternalQuestion', or 'QuestionForm'; "
            f"its root element is <{name}>."
        )
    expected = _KINDS[name]
    if namespace not in expected:
        found = f"the namespace {namespace!r}" if namespace else "no namespace"
        wanted = " or ".join(repr(each) for each in expected)
        raise InvalidQuestion(f"<{name}> has {found}; it must declare xmlns={wanted}.")
    return name


def _external_question(root: Element) -> ExternalQuestion:
    reader = ElementReader(
        root, namespace=namespaces.EXTERNAL_QUESTION, allowed=("ExternalURL", "FrameHeight"), path="ExternalQuestion"
    )
    return ExternalQuestion(
        external_url=_external_url(reader.text("ExternalURL")),
        frame_height=reader.integer("FrameHeight", minimum=0, maximum=MAX_INT32),
    )


def _external_url(url: str) -> str:
    """The URL as the XML parser decoded it (``&amp;`` is already ``&``), checked to be a plain HTTPS URL."""
    path = "ExternalQuestion/ExternalURL"
    if not url:
        raise InvalidQuestion(f"{path} must not be empty; it is the https:// address of your task page.")
    if len(url) > MAX_EXTERNAL_URL_LENGTH:
        raise InvalidQuestion(f"{path} is {len(url):,} characters long; at most {MAX_EXTERNAL_URL_LENGTH:,} are allowed.")
    if re.search(r"[\s\x00-\x1f\x7f]", url):
        raise InvalidQuestion(f"{path} must not contain spaces or control characters; encode them as %20 and so on.")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidQuestion(f"{path} {url!r} is not a valid URL: {exc}.") from None
    if parts.scheme.lower() != "https":
        raise InvalidQuestion(f"{path} must be an HTTPS URL (starting with https://); got {url!r}.")
    if not parts.hostname:
        raise InvalidQuestion(f"{path} {url!r} has no host name.")
    return url


def _html_question(root: Element) -> HTMLQuestion:
    reader = ElementReader(
        root, namespace=namespaces.HTML_QUESTION, allowed=("HTMLContent", "FrameHeight"), path="HTMLQuestion"
    )
    content = reader.required("HTMLContent")
    if len(content):
        raise InvalidQuestion(
            "HTMLQuestion/HTMLContent must hold the page inside a CDATA section (<![CDATA[ … ]]>); "
            f"found the element <{split_tag(content[0].tag)[1]}> parsed as XML instead."
        )
    html = content.text or ""
    if not html.strip():
        raise InvalidQuestion("HTMLQuestion/HTMLContent is empty; it must hold the HTML page workers see.")
    return HTMLQuestion(html_content=html, frame_height=reader.integer("FrameHeight", minimum=0, maximum=MAX_INT32))
