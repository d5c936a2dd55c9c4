"""Helpers for the dashboard's page tests: signing a worker in and reading a page as a person would."""

from __future__ import annotations

import html
import re

from django.test import Client

from kempelen.accounts.models import Worker

PAGES = ("worker:dashboard", "worker:assignments", "worker:earnings", "worker:messages")


def signed_in(worker: Worker) -> Client:
    client = Client()
    client.force_login(worker.user)
    return client


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


def cards(markup: str | bytes) -> list[str]:
    """Each card (an assignment, a message) on a page, as text, in page order."""
    if isinstance(markup, bytes):
        markup = markup.decode()
    return [text(m) for m in re.findall(r'<li class="card">.*?</li>\s*(?=<li class="card">|</ol>)', markup, flags=re.S)]


def card_with(markup: str | bytes, needle: str) -> str:
    found = [c for c in cards(markup) if needle in c]
    assert len(found) == 1, f"expected one card with {needle!r}, found {len(found)}"
    return found[0]
