"""Reading the requester site's pages as a person would."""

from __future__ import annotations

import html
import re


def text(markup: str | bytes) -> str:
    """What a reader sees: tags dropped, entities decoded, whitespace collapsed."""
    if isinstance(markup, bytes):
        markup = markup.decode()
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    markup = re.sub(r"</?(?:a|strong|em|b|i|span|code|time)\b[^>]*>", "", markup)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def main(markup: str | bytes) -> str:
    """The page's main content as text (without the site's header)."""
    if isinstance(markup, bytes):
        markup = markup.decode()
    found = re.search(r"<main\b.*?</main>", markup, flags=re.S)
    assert found, "the page has no <main>"
    return text(found.group(0))


def signed_in_session(client) -> bool:  # type: ignore[no-untyped-def]
    return "_auth_user_id" in client.session
