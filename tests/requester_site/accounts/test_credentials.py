"""API keys on the requester site: listing, creating (the secret shown once), revoking, and who may."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from kempelen.accounts import actions as accounts
from kempelen.accounts.models import ApiCredential
from kempelen.accounts.queries import active_credential
from kempelen.core.models import AuditEvent
from tests.conftest import OPERATOR, make_requester, make_worker
from tests.kits import main, text
from tests.requester_site.conftest import signed_in

pytestmark = pytest.mark.django_db
KEYS = reverse("requester:credentials")
CREATE = reverse("requester:credential_create")


def _revoke_url(access_key_id: str) -> str:
    return reverse("requester:credential_revoke", args=[access_key_id])


def _form_id(page: bytes) -> str:
    found = re.search(rb'name="form_id" value="([0-9a-f]+)"', page)
    assert found, "the page has no key form"
    return found.group(1).decode()


def _create(browser, label: str = "labelling script"):  # type: ignore[no-untyped-def]
    form_id = _form_id(browser.get(KEYS).content)
    return browser.post(CREATE, {"label": label, "form_id": form_id}), form_id


def _issued(page: bytes) -> tuple[str, str]:
    key = re.search(rb'id="access-key-id">(AKIA[0-9A-Z]+)<', page)
    secret = re.search(rb'id="secret-access-key">([^<]+)<', page)
    assert key and secret
    return key.group(1).decode(), secret.group(1).decode()


def test_the_keys_page_lists_each_key_with_label_creation_and_state():
    handle = make_requester()
    accounts.issue_credential(actor=OPERATOR, requester=handle.requester, label="old laptop")
    revoked = accounts.issue_credential(actor=OPERATOR, requester=handle.requester, label="leaked")
    accounts.revoke_credential(actor=OPERATOR, requester=handle.requester, access_key_id=revoked.access_key_id)
    page = main(signed_in(handle.requester).get(KEYS).content)
    assert handle.access_key_id in page
    assert "old laptop" in page
    assert f"{revoked.access_key_id} leaked" in page
    assert re.search(rf"{revoked.access_key_id} leaked \d{{4}}-\d\d-\d\d \d\d:\d\d Revoked on", page)
    assert page.count("Active") == 2
    # Secrets are never on the list.
    assert handle.secret not in page


def test_a_new_key_shows_its_secret_once_with_a_warning():
    handle = make_requester()
    browser = signed_in(handle.requester)
    response, _ = _create(browser, "labelling script")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    access_key_id, secret = _issued(response.content)
    page = main(response.content)
    assert "Copy the secret now" in page
    assert "This is the only time the secret access key is shown." in page
    credential = ApiCredential.objects.get(access_key_id=access_key_id)
    assert credential.requester == handle.requester and credential.label == "labelling script"
    assert active_credential(access_key_id).secret == secret  # type: ignore[union-attr]
    assert secret not in credential.secret_encrypted
    assert AuditEvent.objects.filter(action="issue_credential", target_id=access_key_id).exists()

    # Never again: not on the list, not in the session.
    assert secret not in browser.get(KEYS).content.decode()
    assert secret not in str(dict(browser.session.items()))


def test_submitting_the_same_form_twice_creates_one_key_and_never_shows_the_secret_again():
    handle = make_requester()
    browser = signed_in(handle.requester)
    first, form_id = _create(browser)
    _, secret = _issued(first.content)
    again = browser.post(CREATE, {"label": "labelling script", "form_id": form_id}, follow=True)
    assert again.redirect_chain[-1][0] == KEYS
    assert "That form was used already, so no other key was created." in main(again.content)
    assert secret not in again.content.decode()
    assert ApiCredential.objects.filter(requester=handle.requester).count() == 2  # the CLI's key and the new one


def test_a_made_up_form_id_creates_nothing():
    handle = make_requester()
    browser = signed_in(handle.requester)
    browser.get(KEYS)
    response = browser.post(CREATE, {"label": "x", "form_id": "0" * 32}, follow=True)
    assert "no other key was created" in main(response.content)
    assert ApiCredential.objects.filter(requester=handle.requester).count() == 1


def test_a_too_long_label_is_explained_and_creates_nothing_and_the_form_still_works():
    handle = make_requester()
    browser = signed_in(handle.requester)
    form_id = _form_id(browser.get(KEYS).content)
    response = browser.post(CREATE, {"label": "x" * 101, "form_id": form_id})
    assert response.status_code == 400
    assert "Ensure this value has at most 100 characters (it has 101)." in text(response.content)
    assert ApiCredential.objects.filter(requester=handle.requester).count() == 1
    fixed = browser.post(CREATE, {"label": "short", "form_id": _form_id(response.content)})
    assert fixed.status_code == 200 and "Copy the secret now" in main(fixed.content)


def test_creating_a_key_takes_a_post():
    browser = signed_in(make_requester().requester)
    assert browser.get(CREATE).status_code == 405


def test_revoking_asks_first_and_then_refuses_the_key():
    handle = make_requester()
    browser = signed_in(handle.requester)
    confirm = browser.get(_revoke_url(handle.access_key_id))
    assert confirm.status_code == 200
    assert "Revoke this key" in main(confirm.content)
    assert active_credential(handle.access_key_id) is not None  # asking changed nothing

    done = browser.post(_revoke_url(handle.access_key_id), follow=True)
    assert done.redirect_chain[-1][0] == KEYS
    assert f"Access key {handle.access_key_id} is revoked" in main(done.content)
    assert active_credential(handle.access_key_id) is None
    assert AuditEvent.objects.filter(action="revoke_credential", target_id=handle.access_key_id).count() == 1

    twice = browser.post(_revoke_url(handle.access_key_id), follow=True)
    assert "was revoked already" in main(twice.content)
    assert AuditEvent.objects.filter(action="revoke_credential", target_id=handle.access_key_id).count() == 1


def test_another_requesters_key_is_not_found_and_stays_active():
    mine, theirs = make_requester(), make_requester()
    browser = signed_in(mine.requester)
    assert browser.get(_revoke_url(theirs.access_key_id)).status_code == 404
    assert browser.post(_revoke_url(theirs.access_key_id)).status_code == 404
    assert browser.get(_revoke_url("AKIANOSUCHKEY0000000")).status_code == 404
    assert active_credential(theirs.access_key_id) is not None
    assert theirs.access_key_id not in browser.get(KEYS).content.decode()


def test_keys_are_the_same_in_both_environments_and_the_page_gives_the_matching_region():
    handle = make_requester()
    for environment, region in (("sandbox", "sandbox"), ("live", "us-east-1")):
        page = signed_in(handle.requester, environment).get(KEYS).content.decode()
        assert handle.access_key_id in page
        assert f'region_name="{region}"' in page
        assert f"AWS_DEFAULT_REGION={region}" in page
        assert 'endpoint_url="http://testserver"' in page


def test_the_endpoint_is_the_public_url_when_one_is_set(settings):
    settings.KEMPELEN = {**settings.KEMPELEN, "PUBLIC_URL": "https://turk.example.org"}
    page = signed_in(make_requester().requester).get(KEYS).content.decode()
    assert 'endpoint_url="https://turk.example.org"' in page
    assert "AWS_ENDPOINT_URL_MTURK=https://turk.example.org" in page


def test_anonymous_visitors_are_sent_to_sign_in_and_workers_refused(client):
    handle = make_requester()
    for url in (KEYS, _revoke_url(handle.access_key_id)):
        assert client.get(url)["Location"].startswith(reverse("requester:login"))
    assert client.post(CREATE, {"label": "x", "form_id": "0" * 32})["Location"].startswith(reverse("requester:login"))
    client.force_login(make_worker().user)
    assert client.get(KEYS).status_code == 403
    assert client.post(_revoke_url(handle.access_key_id)).status_code == 403
    assert active_credential(handle.access_key_id) is not None
    assert ApiCredential.objects.count() == 1
