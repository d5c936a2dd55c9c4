"""Shared helpers for the requester site's page tests."""

from __future__ import annotations

from django.test import Client

from kempelen.accounts.models import Requester
from kempelen.requester_site.decorators import ENVIRONMENT_KEY


def signed_in(requester: Requester, environment: str = "sandbox") -> Client:
    """A test client signed in as ``requester`` and working in ``environment``."""
    browser = Client()
    browser.force_login(requester.user)
    session = browser.session
    session[ENVIRONMENT_KEY] = environment
    session.save()
    return browser
