"""Fixtures of the requester account-page tests: a clean throttle cache, fast hashing, requesters with passwords."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kempelen.accounts.models import Requester
from tests.account_fixtures import PASSWORD, _fast_password_hashing, _fresh_throttles  # noqa: F401
from tests.conftest import make_requester


def with_password(requester: Requester, password: str = PASSWORD) -> Requester:
    user = requester.user
    user.set_password(password)
    user.email = user.email or f"{user.username}@example.org"
    user.save(update_fields=["password", "email"])
    return requester


@pytest.fixture
def requester_with_password(db: None) -> Callable[[], Requester]:
    def factory() -> Requester:
        return with_password(make_requester().requester)

    return factory


@pytest.fixture
def signup_closed(settings: Any) -> None:
    settings.KEMPELEN = {**settings.KEMPELEN, "REQUESTER_SIGNUP": "closed"}
