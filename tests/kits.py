"""Reading pages as a person would, for the page tests of both sites."""

from __future__ import annotations

import html
import re
from typing import Any


def text(markup: str | bytes) -> str:
    """What a reader sees: tags dropped, entities decoded, whitespace collapsed."""
    if isinstance(markup, bytes):
        markup = markup.decode()
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    markup = re.sub(r"</?(?:a|strong|em|b|i|span|code|time|q|kbd)\b[^>]*>", "", markup)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def main(markup: str | bytes) -> str:
    """The page's main content as text (without the site's header)."""
    if isinstance(markup, bytes):
        markup = markup.decode()
    found = re.search(r"<main\b.*?</main>", markup, flags=re.S)
    assert found, "the page has no <main>"
    return text(found.group(0))


def signed_in_session(client: Any) -> bool:
    """Whether the test client's session is signed in."""
    return "_auth_user_id" in client.session
