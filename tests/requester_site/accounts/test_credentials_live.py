"""A key made on the requester site works with boto3 against the live server until it is revoked there."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError
from django.urls import reverse

from tests.conftest import client_for
from tests.requester_site.conftest import signed_in

pytestmark = pytest.mark.django_db(transaction=True)


def _refusal(call) -> str:  # type: ignore[no-untyped-def]
    """The error code of a call that must fail. (Not through pytest.raises: the exception it keeps would keep
    botocore's connection to the live server open, and with it a database session, past the test.)"""
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return "no error"


def test_a_key_created_on_the_site_works_with_boto3_in_both_environments_until_revoked(api, live_server):
    handle = api(funds_cents=12_345)
    browser = signed_in(handle.requester, "live")
    form_id = re.search(rb'name="form_id" value="([0-9a-f]+)"', browser.get(reverse("requester:credentials")).content)
    assert form_id
    created = browser.post(reverse("requester:credential_create"), {"label": "boto3", "form_id": form_id.group(1).decode()})
    key = re.search(rb'id="access-key-id">([^<]+)<', created.content)
    secret = re.search(rb'id="secret-access-key">([^<]+)<', created.content)
    assert key and secret
    access_key_id, secret_key = key.group(1).decode(), secret.group(1).decode()

    live = client_for(live_server.url, access_key_id, secret_key, environment="live")
    sandbox = client_for(live_server.url, access_key_id, secret_key, environment="sandbox")
    assert live.get_account_balance()["AvailableBalance"] == "123.45"
    assert sandbox.get_account_balance()["AvailableBalance"] == "10000.00"

    browser.post(reverse("requester:credential_revoke", args=[access_key_id]))
    assert _refusal(live.get_account_balance) == "UnrecognizedClientException"
    assert _refusal(sandbox.get_account_balance) == "UnrecognizedClientException"
    # The requester's other key is untouched.
    assert handle.client().get_account_balance()["AvailableBalance"] == "123.45"
