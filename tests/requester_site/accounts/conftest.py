"""Fixtures of the requester account-page tests: a clean throttle cache, fast hashing, requesters with passwords."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache

from kempelen.accounts.models import Requester
from tests.conftest import make_requester

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_throttles() -> Iterator[None]:
    """Sign-in and reset counts live in the (process-wide) cache; no test inherits another's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Real hashers are slow on purpose; these tests check the pages, not the hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
