"""Signing in with Django's model backend; each request's user comes with their worker or requester profile."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class ProfileBackend(ModelBackend):
    """``request.user.worker`` / ``.requester`` without a query of their own on every page (one join instead)."""

    def get_user(self, user_id: Any) -> Any:
        user = get_user_model()._default_manager.select_related("worker", "requester").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
