"""Safe parsing of requester XML and the element helpers the question, key and answer parsers share."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException, DTDForbidden

from kempelen.core.errors import InvalidParameter, InvalidQuestion

SCHEMA_BASE = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/"
#: MTurk's limit on Question, Test and AnswerKey, counted over the whole UTF-8 document.
MAX_DOCUMENT_BYTES = 65_535
#: The largest value a 32-bit signed integer field can hold (MTurk's xs:int).
MAX_INT32 = 2**31 - 1

# XML 1.0 cannot carry these code points at all, not even as character references.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def document_size(xml: str) -> int:
    """Bytes the document takes as UTF-8 (lone surrogates count as three, as they would on the wire)."""
    return len(xml.encode("utf-8", "surrogatepass"))


def parse_document(xml: object, *, field: str, max_bytes: int | None = MAX_DOCUMENT_BYTES) -> Element:
    """Parse ``xml`` safely: size limit, no DTDs or entities, well-formed. ``field`` names it in messages."""
    if not isinstance(xml, str):
        raise InvalidParameter(f"{field} must be a string holding an XML document.")
    size = document_size(xml)
    if max_bytes is not None and size > max_bytes:
        raise InvalidParameter(
            f"{field} is {size:,} bytes long; it must be at most {max_bytes:,} bytes of UTF-8, "
            "including whitespace."
        )
    # A byte-order mark or blank lines before the XML declaration are harmless slips; expat would refuse them.
    text = xml.lstrip("\ufeff \t\r\n")
    if not text:
        raise InvalidQuestion(f"{field} is empty; expected an XML document.")
    try:
        return SafeElementTree.fromstring(text, forbid_dtd=True)
    except DTDForbidden:
        raise InvalidQuestion(
            f"{field} must not contain a DOCTYPE declaration: document type definitions and entity "
            "declarations are refused."
        ) from None
    except DefusedXmlException as exc:
        raise InvalidQuestion(f"{field} uses XML entities or external references, which are refused ({exc}).") from None
    except ParseError as exc:
        raise InvalidQuestion(f"{field} is not well-formed XML: {exc}.") from None
    except ValueError:
        # Lone surrogates cannot be encoded for the parser.
        raise InvalidQuestion(f"{field} contains characters that are not valid Unicode.") from None


def split_tag(tag: str) -> tuple[str, str]:
    """``{ns}Local`` → (``ns``, ``Local``); a tag without a namespace has ``""``."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def local_name(element: Element) -> str:
    return split_tag(element.tag)[1]


def strip_invalid_xml_chars(text: str) -> str:
    """Remove code points XML 1.0 cannot represent (most C0 controls, lone surrogates, U+FFFE/U+FFFF)."""
    return _NOT_XML_CHAR.sub("", text)


def first_invalid_xml_char(text: str) -> str | None:
    match = _NOT_XML_CHAR.search(text)
    return match.group() if match else None


class ElementReader:
    """Reads the children of one element of a schema namespace, refusing anything the schema does not have.

    Every child must be in ``namespace``, have a name in ``allowed`` and, unless listed in ``repeatable``,
    appear at most once. Text between children must be whitespace. Order is not enforced: MTurk's schemas
    fix one, but a requester who swaps two elements gains nothing from being refused.
    """

    def __init__(
        self,
        element: Element,
        *,
        namespace: str,
        allowed: Iterable[str],
        repeatable: Iterable[str] = (),
        path: str,
    ) -> None:
        self.element = element
        self.namespace = namespace
        self.path = path
        self._children: dict[str, list[Element]] = {}
        allowed_names = tuple(allowed)
        repeatable_names = set(repeatable)
        self._check_no_stray_text()
        for child in element:
            name = self._child_name(child, allowed_names)
            self._children.setdefault(name, []).append(child)
            if name not in repeatable_names and len(self._children[name]) > 1:
                raise InvalidQuestion(f"{path} has more than one {name} element; only one is allowed.")

    def _check_no_stray_text(self) -> None:
        stray = [self.element.text or ""] + [child.tail or "" for child in self.element]
        for text in stray:
            if text.strip():
                raise InvalidQuestion(
                    f"{self.path} contains the text {_preview(text)!r} outside any element; "
                    "only child elements are allowed there."
                )

    def _child_name(self, child: Element, allowed: tuple[str, ...]) -> str:
        namespace, name = split_tag(child.tag)
        if name not in allowed:
            raise InvalidQuestion(
                f"{self.path} contains an unknown element <{name}>; expected one of: {', '.join(allowed)}."
            )
        if namespace != self.namespace:
            where = f"the namespace {namespace!r}" if namespace else "no namespace"
            raise InvalidQuestion(
                f"{self.path}/{name} is in {where}; it must be in {self.namespace!r} like its parent."
            )
        return name

    def has(self, name: str) -> bool:
        return name in self._children

    def all(self, name: str) -> list[Element]:
        return list(self._children.get(name, ()))

    def ordered(self) -> Iterator[tuple[str, Element]]:
        """All children in document order, with their local names."""
        for child in self.element:
            yield local_name(child), child

    def optional(self, name: str) -> Element | None:
        found = self._children.get(name)
        return found[0] if found else None

    def required(self, name: str) -> Element:
        found = self.optional(name)
        if found is None:
            raise InvalidQuestion(f"{self.path} is missing the required element <{name}>.")
        return found

    def text(self, name: str, *, strip: bool = True) -> str:
        """The text of the required leaf child ``name``."""
        return element_text(self.required(name), path=f"{self.path}/{name}", strip=strip)

    def optional_text(self, name: str, *, strip: bool = True) -> str | None:
        child = self.optional(name)
        return None if child is None else element_text(child, path=f"{self.path}/{name}", strip=strip)

    def integer(self, name: str, *, minimum: int | None = None, maximum: int | None = MAX_INT32) -> int:
        return parse_int(self.text(name), path=f"{self.path}/{name}", minimum=minimum, maximum=maximum)

    def optional_integer(self, name: str, *, minimum: int | None = None, maximum: int | None = MAX_INT32
                         ) -> int | None:
        value = self.optional_text(name)
        return None if value is None else parse_int(value, path=f"{self.path}/{name}", minimum=minimum, maximum=maximum)


def element_text(element: Element, *, path: str, strip: bool = True) -> str:
    """Text content of a leaf element."""
    if len(element):
        raise InvalidQuestion(
            f"{path} must contain only text, but contains the element <{local_name(element[0])}>."
        )
    text = element.text or ""
    return text.strip() if strip else text


def parse_int(text: str, *, path: str, minimum: int | None = None, maximum: int | None = MAX_INT32) -> int:
    """A base-10 integer such as ``"42"`` or ``"-3"``, within the given bounds."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise InvalidQuestion(f"{path} must be a whole number; got {_preview(text)!r}.")
    value = int(text)
    if minimum is not None and value < minimum:
        raise InvalidQuestion(f"{path} must be at least {minimum}; got {value}.")
    if maximum is not None and value > maximum:
        raise InvalidQuestion(f"{path} must be at most {maximum}; got {value}.")
    return value


def parse_bool(text: str, *, path: str) -> bool:
    """An xs:boolean: ``true``, ``false``, ``1`` or ``0``."""
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise InvalidQuestion(f"{path} must be true or false; got {_preview(text)!r}.")


def _preview(text: str, limit: int = 40) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
