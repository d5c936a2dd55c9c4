"""Builders for the project pages' tests: projects made through the actions, the properties form's POST data, and
the browser tests' fixtures (one headless Chromium for this package's browser tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from kempelen.accounts.models import Requester
from kempelen.core.actors import Actor
from kempelen.marketplace import actions
from kempelen.marketplace.actions.layouts import ProjectProperties
from kempelen.marketplace.models import HITLayout
from kempelen.requester_site.decorators import ENVIRONMENT_KEY
from tests.browser.conftest import browser, context, page, sign_in  # noqa: F401  (for the browser tests here)
from tests.requester_site.templates_kit import CLASSIC

PROPERTIES = ProjectProperties(title="Rate a review", description="Say whether a product review is positive.",
                               keywords="review, sentiment", reward_cents=12, max_assignments=3,
                               assignment_duration=600, lifetime=86400, auto_approval_delay=3 * 86400)


def make_project(requester: Requester, environment: str = "sandbox", *, name: str = "Reviews",
                 html: str = CLASSIC.html, properties: ProjectProperties = PROPERTIES,
                 sample_row: dict[str, str] | None = None, frame_height: int = 0) -> HITLayout:
    return actions.create_project(
        actor=Actor.for_requester(requester), requester=requester, environment=environment, name=name, html=html,
        properties=properties, sample_row=sample_row, frame_height=frame_height,
    )


def properties_data(**overrides: Any) -> dict[str, Any]:
    """What the properties form posts, with no requirements unless given (``req-…`` / ``qual-0-…`` keys)."""
    data: dict[str, Any] = {
        "name": "Product reviews", "title": "Rate a product review", "description": "Read a review and rate it.",
        "keywords": "review, rating", "reward": "0.50", "max_assignments": "3",
        "assignment_duration_0": "10", "assignment_duration_1": "minutes",
        "lifetime_0": "2", "lifetime_1": "days",
        "auto_approval_delay_0": "3", "auto_approval_delay_1": "days",
        "req-location": "", "req-location_values": "",
        "qual-TOTAL_FORMS": "2", "qual-INITIAL_FORMS": "0", "qual-MIN_NUM_FORMS": "0", "qual-MAX_NUM_FORMS": "10",
    }
    for prefix in ("approval_rate", "approved_hits", "location", "masters", "adult"):
        data[f"req-{prefix}_visibility"] = "Accept"
    for row in range(2):
        data.update({f"qual-{row}-qualification_type": "", f"qual-{row}-comparator": "Exists",
                     f"qual-{row}-values": "", f"qual-{row}-visibility": "Accept"})
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def sign_in_requester(context, live_server) -> Callable[[Requester, str], None]:  # noqa: F811
    """Sign a requester in, working in an environment, by giving the browser a session cookie made here."""

    def signer(requester: Requester, environment: str = "sandbox") -> None:
        client = Client()
        client.force_login(requester.user)
        session = client.session
        session[ENVIRONMENT_KEY] = environment
        session.save()
        context.add_cookies([{
            "name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": live_server.url,
            "httpOnly": True, "sameSite": "Lax",
        }])

    return signer
