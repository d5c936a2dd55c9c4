"""HIT layouts: requester-site HTML templates with ``${name}`` placeholders, rendered into HTMLQuestions.

Placeholders match the regular expression ``\\$\\{([A-Za-z_][A-Za-z0-9_]*)\\}``: a dollar sign, an opening
brace, a name of ASCII letters, digits and underscores not starting with a digit, and a closing brace, with
nothing else inside (``${ name }`` is left alone as literal text). A template may use a name several times.

Escaping rule: every substituted value is HTML-escaped with ``html.escape(value, quote=True)`` (``&``, ``<``,
``>``, ``"`` and ``'`` become entities), so a value is always text in the page and never markup, even inside an
attribute value. Values are substituted in one pass: a value containing ``${other}`` stays literal.
MTurk never documented its rule; Turkle substitutes raw and localturk escapes. A requester who needs markup
from the data should build it in the template around the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape

from kempelen.core.errors import InvalidParameter

from . import namespaces
from .xmlutil import MAX_INT32, first_invalid_xml_char

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def layout_variables(template: str) -> list[str]:
    """The placeholder names of ``template``, each once, in order of first appearance."""
    return list(dict.fromkeys(PLACEHOLDER.findall(template)))


def render_layout(template: str, params: Mapping[str, str]) -> str:
    """Substitute HTML-escaped ``params`` into ``template``; the names must be exactly the template's."""
    variables = layout_variables(template)
    missing = [name for name in variables if name not in params]
    if missing:
        raise InvalidParameter(
            f"HITLayoutParameter {missing[0]!r} is missing: the layout uses ${{{missing[0]}}}. "
            f"Its parameters are: {', '.join(variables)}."
        )
    unknown = [name for name in params if name not in variables]
    if unknown:
        known = ", ".join(variables) if variables else "none"
        raise InvalidParameter(
            f"HITLayoutParameter {unknown[0]!r} does not appear in the layout; its parameters are: {known}."
        )
    for name, value in params.items():
        if not isinstance(value, str):
            raise InvalidParameter(f"HITLayoutParameter {name!r} must be a string.")
    return PLACEHOLDER.sub(lambda match: escape(params[match.group(1)], quote=True), template)


def layout_as_html_question(html: str, frame_height: int = 0) -> str:
    """Wrap rendered layout HTML in an HTMLQuestion document, so it can be stored, size-checked and shown as one.

    The HTML goes in CDATA; a ``]]>`` inside it is split across two CDATA sections so it survives intact.
    """
    if isinstance(frame_height, bool) or not isinstance(frame_height, int) or not 0 <= frame_height <= MAX_INT32:
        raise InvalidParameter(f"FrameHeight must be a whole number of pixels, 0 or more; got {frame_height!r}.")
    bad = first_invalid_xml_char(html)
    if bad is not None:
        raise InvalidParameter(
            f"The layout HTML contains the character U+{ord(bad):04X}, which XML cannot carry; remove it."
        )
    cdata = html.replace("]]>", "]]]]><![CDATA[>")
    return (
        f'<HTMLQuestion xmlns="{namespaces.HTML_QUESTION}">'
        f"<HTMLContent><![CDATA[{cdata}]]></HTMLContent>"
        f"<FrameHeight>{frame_height}</FrameHeight>"
        "</HTMLQuestion>"
    )
