"""Fixtures of the account-page tests: a clean throttle cache, workers with passwords, invite-only mode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kempelen.accounts.models import Worker
from tests.account_fixtures import PASSWORD, _fast_password_hashing, _fresh_throttles  # noqa: F401
from tests.conftest import make_worker


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
