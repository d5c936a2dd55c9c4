"""FormattedContent: the XHTML subset a QuestionForm may carry, checked before anyone renders it.

MTurk required FormattedContent to be well-formed XHTML from a fixed subset of tags, with no scripts. Kempelen
checks the same at creation time so a requester learns about a bad tag then, not when a worker sees a blank
question. What is refused: tags outside the subset below (script, style, iframe, form, object, embed…),
event-handler attributes (``on…``), and links or images whose URL is not http(s) (``href`` may also be
``mailto:`` or a ``#fragment``). ``class``, ``id`` and ``style`` are accepted; the page that renders the content
still sanitises it, since a check at creation time is not a substitute for escaping at render time.
HTML named entities such as ``&nbsp;`` are accepted although XML does not define them.
"""

from __future__ import annotations

import html.entities
import re
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from kempelen.core.errors import InvalidQuestion

from .xmlutil import split_tag

ALLOWED_TAGS = frozenset({
    "a", "abbr", "acronym", "address", "b", "big", "blockquote", "br", "caption", "center", "cite", "code",
    "col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike",
    "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var",
})
_URL_ATTRIBUTES = frozenset({"href", "src", "cite", "longdesc", "usemap"})
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_NAMED_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")


def check_formatted_content(xhtml: str, *, path: str) -> None:
    """Refuse ``xhtml`` unless it is well-formed and stays inside the subset described in the module docstring."""
    try:
        root = SafeElementTree.fromstring(f"<div>{_numeric_entities(xhtml)}</div>", forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise InvalidQuestion(f"{path} must be well-formed XHTML: {exc}.") from None
    for element in root.iter():
        _check_element(element, path=path)


def _numeric_entities(xhtml: str) -> str:
    """Rewrite HTML named entities (``&eacute;``) as character references XML understands."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _XML_ENTITIES or name not in html.entities.name2codepoint:
            return match.group()
        return f"&#{html.entities.name2codepoint[name]};"

    return _NAMED_ENTITY.sub(replace, xhtml)


def _check_element(element: Element, *, path: str) -> None:
    tag = split_tag(element.tag)[1].lower()
    if tag not in ALLOWED_TAGS:
        raise InvalidQuestion(
            f"{path} uses the tag <{tag}>, which FormattedContent does not allow; "
            "allowed tags are text formatting, lists, tables, links and images."
        )
    for raw_name, value in element.attrib.items():
        name = split_tag(raw_name)[1].lower()
        if name.startswith("on"):
            raise InvalidQuestion(f"{path} uses the event attribute {name} on <{tag}>; scripts are not allowed.")
        if name in _URL_ATTRIBUTES and not _acceptable_url(value, allow_mailto=name == "href"):
            raise InvalidQuestion(
                f"{path} has {name}={value!r} on <{tag}>; links and images must use an absolute "
                "http:// or https:// URL."
            )


def _acceptable_url(url: str, *, allow_mailto: bool) -> bool:
    url = url.strip().lower()
    if url.startswith(("http://", "https://")):
        return True
    return allow_mailto and (url.startswith("mailto:") or url.startswith("#"))
