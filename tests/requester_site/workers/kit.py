"""Helpers for the workers pages' tests: work done for a requester through the actions, and pages as people read them."""

from __future__ import annotations

import html
import re
from typing import Any

from django.contrib.messages import get_messages

from kempelen.accounts.models import Requester, Worker
from kempelen.core.actors import Actor
from kempelen.marketplace.models import Assignment
from kempelen.qualifications import actions as quals
from kempelen.qualifications.models import QualificationType
from tests.lifecycle.kit import accept, approve, new_hit, reject, submit


def work(requester: Requester, worker: Worker, *, environment: str = "sandbox", outcome: str = "submitted",
         hit_type: Any = None, title: str = "Label a picture") -> Assignment:
    """One assignment the worker did for the requester: left ``submitted``, or ``approved`` / ``rejected``."""
    hit = new_hit(requester, environment=environment, hit_type=hit_type, title=title)
    assignment = submit(worker, accept(worker, hit))
    if outcome == "approved":
        approve(requester, assignment, environment=environment)
    elif outcome == "rejected":
        reject(requester, assignment, environment=environment, feedback="Not what was asked")
    return Assignment.objects.get(pk=assignment.pk)


def new_type(requester: Requester, name: str = "Good tagger", *, environment: str = "sandbox",
             **extra: Any) -> QualificationType:
    extra.setdefault("description", "Workers whose tags were checked and found good")
    return quals.create_qualification_type(
        actor=Actor.for_requester(requester), requester=requester, environment=environment, name=name, **extra
    )


def grant(requester: Requester, qt: QualificationType, worker: Worker, value: int = 1) -> None:
    quals.associate_qualification_with_worker(
        actor=Actor.for_requester(requester), requester=requester, environment=qt.environment,
        qualification_type_id=qt.pk, worker_id=worker.worker_id, integer_value=value, send_notification=False,
    )


_INLINE = r"(?:a|b|i|em|strong|code|span|time|abbr|small|sub|sup|u|s|label)"


def text(markup: Any) -> str:
    """A page (or a response) as a person reads it: tags removed, entities decoded, whitespace collapsed."""
    body = markup.content.decode() if hasattr(markup, "content") else str(markup)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(rf"</?{_INLINE}\b[^>]*>", "", body)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def main(response: Any) -> str:
    """The page's main content as text (without the site's header and menu)."""
    body = response.content.decode()
    found = re.search(r"<main\b.*?</main>", body, flags=re.S)
    assert found, "the page has no <main>"
    return text(found.group(0))


def flashed(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]
