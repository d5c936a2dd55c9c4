"""Fixtures of the account-page tests: a clean throttle cache, workers with passwords, invite-only mode."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache

from kempelen.accounts.models import Worker
from tests.conftest import make_worker

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


@pytest.fixture
def worker_with_password(db: None) -> Callable[..., Worker]:
    def factory(**profile: Any) -> Worker:
        profile.setdefault("password", PASSWORD)
        worker = make_worker(**profile)
        if not profile.get("email"):
            worker.user.email = f"{worker.user.username}@example.org"
            worker.user.save(update_fields=["email"])
        return worker

    return factory


@pytest.fixture
def invite_only(settings: Any) -> None:
    settings.KEMPELEN = {**settings.KEMPELEN, "WORKER_SIGNUP": "invite"}
