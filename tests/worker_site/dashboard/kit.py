"""Helpers for the dashboard's page tests: signing a worker in and reading its cards."""

from __future__ import annotations

import re

from django.test import Client

from kempelen.accounts.models import Worker
from tests.kits import text

PAGES = ("worker:dashboard", "worker:assignments", "worker:earnings", "worker:messages")


def signed_in(worker: Worker) -> Client:
    client = Client()
    client.force_login(worker.user)
    return client


def cards(markup: str | bytes) -> list[str]:
    """Each card (an assignment, a message) on a page, as text, in page order."""
    if isinstance(markup, bytes):
        markup = markup.decode()
    return [text(m) for m in re.findall(r'<li class="card">.*?</li>\s*(?=<li class="card">|</ol>)', markup, flags=re.S)]


def card_with(markup: str | bytes, needle: str) -> str:
    found = [c for c in cards(markup) if needle in c]
    assert len(found) == 1, f"expected one card with {needle!r}, found {len(found)}"
    return found[0]
