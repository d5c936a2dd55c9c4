"""Helpers for the qualification page tests: types made through the actions, a signed-in browser, page text."""

from __future__ import annotations

import html
import re
from typing import Any

from django.contrib.messages import get_messages
from django.test import Client

from kempelen.accounts.models import Requester, Worker
from kempelen.core.actors import Actor
from kempelen.qualifications import actions
from kempelen.qualifications.models import QualificationRequest, QualificationType
from tests.conftest import make_requester, make_worker
from tests.qualifications.kit import ALL_RIGHT, BIRD_KEY, BIRD_TEST, TWO_RIGHT  # noqa: F401 - re-exported

OWNER = Actor.operator("tests")


def owner(name: str = "Bird Lab", *, funds_cents: int = 0) -> Requester:
    handle = make_requester(funds_cents=funds_cents)
    handle.requester.display_name = name
    handle.requester.save(update_fields=["display_name"])
    return handle.requester


def new_type(requester: Requester, name: str = "Bird spotter", *, environment: str = "live", **extra: Any
             ) -> QualificationType:
    extra.setdefault("description", "Workers who can tell common garden birds apart")
    return actions.create_qualification_type(
        actor=Actor.for_requester(requester), requester=requester, environment=environment, name=name, **extra
    )


def bird_test(requester: Requester, name: str = "Bird spotter", **extra: Any) -> QualificationType:
    extra.setdefault("test_duration", 600)
    return new_type(requester, name, test=BIRD_TEST, answer_key=BIRD_KEY, **extra)


def ask(worker: Worker, qt: QualificationType) -> QualificationRequest:
    return actions.request_qualification(actor=Actor.for_worker(worker), worker=worker, qualification_type_id=qt.pk)


def signed_in(worker: Worker | None = None, **profile: Any) -> tuple[Client, Worker]:
    worker = worker or make_worker(**profile)
    client = Client()
    client.force_login(worker.user)
    return client, worker


def text(response: Any) -> str:
    """The page as a person reads it: tags removed, entities decoded, whitespace collapsed."""
    return html_text(response.content.decode())


_INLINE = r"(?:a|b|i|em|strong|code|span|time|abbr|small|sub|sup|u|s)"


def html_text(body: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(rf"</?{_INLINE}\b[^>]*>", "", body)  # inline elements run on with the text around them
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def element_text(response: Any, element_id: str, closing: str) -> str:
    """The text of the element with this id, up to the first ``closing`` tag after it."""
    body = response.content.decode()
    start = body.index(f'id="{element_id}"')
    return html_text(body[start:body.index(closing, start)].partition(">")[2])


def flashed(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]
