"""Signing in with Django's model backend; each request's user comes with their worker or requester profile."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from kempelen.core import lookups

from .models import Requester, Worker


class ProfileBackend(ModelBackend):
    """Loads the user of each request and their worker or requester profile with statements built once (this
    runs on every signed-in page), so ``request.user.worker`` / ``.requester`` cost no query of their own."""

    def get_user(self, user_id: Any) -> Any:
        user_model = get_user_model()
        user = lookups.one(user_model, "id = %s", [user_id])
        if user is None or not self.user_can_authenticate(user):
            return None
        worker = lookups.one(Worker, "user_id = %s", [user.pk])
        user_model.worker.related.set_cached_value(user, worker)  # type: ignore[attr-defined]
        requester = None if worker is not None else lookups.one(Requester, "user_id = %s", [user.pk])
        if worker is None:
            user_model.requester.related.set_cached_value(user, requester)  # type: ignore[attr-defined]
        return user
