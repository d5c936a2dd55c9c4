"""A requester's HTMLQuestion cannot read the worker's session or act as the worker.

The template (``hostile_template.html``) runs in the worker's task page, in Kempelen's task frame, and tries:
(a) Kempelen's cookies and storage; (b) reading worker pages with the worker's session (fetch, no-cors fetch,
XMLHttpRequest); (c) changing the worker's profile with the session, without a CSRF token, with one scraped from
the profile page and with a valid one that leaked; (d) Kempelen's page around the frame (``parent.document``,
``top.location``) and Kempelen's pages opened in a new window; (e) submitting assignments other than its own: another
worker's, and this worker's assignment of another HIT, with the session and with this task's ``turkSubmitTo``.
It posts what it got to a collector on the requester's own https site (``task_site``).

The test does not touch the frame while the script runs: Playwright's own evaluations in a frame count as a user
gesture, which would give the script a user activation that a real worker's untouched page does not have (the
script reports ``navigator.userActivation`` and the test checks it stayed false).

Every attempt must fail, checked both in what the script saw and in the database. Positive controls show that the
same browser, from Kempelen's own page, does read the dashboard and storage: the walls are what stop the script.
"""

from __future__ import annotations

import json
import re
import secrets
import string
import time
from pathlib import Path
from typing import Any

import pytest

from kempelen.accounts.models import Worker
from kempelen.core.actors import Actor
from kempelen.marketplace import actions
from kempelen.marketplace.models import Assignment
from tests.browser.conftest import create_hit, html_question
from tests.conftest import make_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEMPLATE = (Path(__file__).parent / "hostile_template.html").read_text()
SECRET = "kempelen-local-secret-value"
#: The change the script tries to make: every field of the profile form it might guess.
PROFILE_CHANGE = {"display_name": "Pwned by a HIT", "country": "KP", "subdivision": "", "is_adult": "on"}
#: Text that only a worker page shows to a signed-in worker.
SIGNED_IN_MARKERS = ("Sign out", "csrfmiddlewaretoken", "Dashboard")


def _accept(worker: Worker, hit_id: str) -> Assignment:
    return actions.accept_assignment(actor=Actor.for_worker(worker), worker=worker, environment="live", hit_id=hit_id)


def _failed(value: Any) -> bool:
    """What a blocked attempt leaves: an exception, or an opaque response the script cannot read."""
    if isinstance(value, str):
        return value.startswith("blocked:")
    if isinstance(value, dict):
        return value.get("type") == "opaque" and value.get("status") == 0 and value.get("body") == ""
    return False


def _assert_everything_failed(found: dict[str, Any], *, worker: Worker, framed: bool) -> None:
    text = json.dumps(found)
    assert found["origin"] == "null", found["origin"]
    assert found["framed"] is framed
    assert found["user_activation"] is False
    # (a) no cookie, no storage of Kempelen's origin
    for key in ("cookie", "localStorage", "sessionStorage", "indexedDB"):
        assert _failed(found[key]), (key, found[key])
    assert SECRET not in text
    assert worker.display_name not in text and worker.user.username not in text
    assert "csrftoken" not in text and "sessionid" not in text
    # (b) no worker page read
    for key in ("dashboard_cors", "dashboard_no_cors", "dashboard_xhr", "profile_read"):
        assert _failed(found[key]), (key, found[key])
    for marker in SIGNED_IN_MARKERS:
        assert marker not in text, marker
    # (c) no token scraped; the posts went out blind (their effect is checked in the database)
    assert found["scraped_token"] == ""
    for key in ("profile_post_fetch_none", "profile_post_fetch_scraped", "profile_post_fetch_leaked"):
        assert _failed(found[key]), (key, found[key])
    # (d) nothing of Kempelen's page around the frame, nor of pages it opened
    for key in ("parent_document", "parent_cookie", "parent_localStorage", "top_location", "popup_document",
                "popup_location", "sink_profile_document", "sink_submit_document"):
        if not framed and key.startswith(("parent_", "top_")):
            continue  # opened top-level, the page is its own parent; covered by the origin check
        assert _failed(found[key]), (key, found[key])
    # (e) the forged submissions went out blind (their effect is checked in the database)
    for key in ("other_workers_with_session", "other_workers_with_this_tasks_turkSubmitTo", "own_other_with_session",
                "own_other_with_this_tasks_turkSubmitTo"):
        assert _failed(found[key]), (key, found[key])


def _assert_nothing_changed(worker: Worker, profile_before: dict[str, Any], *assignments: Assignment) -> None:
    worker.refresh_from_db()
    assert {k: getattr(worker, k) for k in profile_before} == profile_before
    for assignment in assignments:
        fresh = Assignment.objects.get(pk=assignment.pk)
        assert fresh.status == "Accepted", (assignment.pk, fresh.status)
        assert not fresh.answer


def test_a_hostile_template_cannot_read_the_session_or_act_as_the_worker(api, context, page, sign_in, live_server,
                                                                         task_site):
    client = api().client()
    worker = make_worker(display_name="Ada Worker", country="DE", is_adult=False)
    other_worker = make_worker()
    decoy_hit = create_hit(client, html_question("<p>another task</p>"), title="Another task", max_assignments=2)
    other_workers = _accept(other_worker, decoy_hit)
    own_other = _accept(worker, decoy_hit)

    leaked = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    template = (TEMPLATE.replace("__OTHER_WORKERS_ASSIGNMENT__", other_workers.pk)
                .replace("__SAME_WORKERS_OTHER_ASSIGNMENT__", own_other.pk)
                .replace("__LEAKED_CSRF_TOKEN__", leaked)
                .replace("__PROFILE_CHANGE__", json.dumps(PROFILE_CHANGE))
                .replace("__COLLECTOR__", f"{task_site.url}/collect"))
    hostile_hit = create_hit(client, html_question(template), title="Rate this picture")
    assignment = _accept(worker, hostile_hit)
    profile_before = {"display_name": "Ada Worker", "country": "DE", "subdivision": "", "is_adult": False}

    sign_in(worker)
    # The leaked CSRF token is the worker's real one: the browser holds it as Kempelen's CSRF cookie.
    context.add_cookies([{"name": "csrftoken", "value": leaked, "url": live_server.url, "sameSite": "Strict"}])

    # Positive controls: from Kempelen's own page, this browser reads storage and the signed-in dashboard.
    page.goto("/worker/")
    page.evaluate("s => { localStorage.setItem('kempelen-secret', s); sessionStorage.setItem('kempelen-secret', s); }",
                  SECRET)
    assert page.evaluate("localStorage.getItem('kempelen-secret')") == SECRET
    assert "csrftoken=" in page.evaluate("document.cookie")
    dashboard = page.evaluate("fetch('/worker/dashboard').then(r => r.text())")
    assert worker.worker_id in dashboard and "Sign out" in dashboard

    # The task page frames the hostile template; it runs all its attempts.
    task_url = f"/worker/tasks/{assignment.pk}"
    page.goto(task_url)
    [found] = task_site.wait_for_collected(1)
    _assert_everything_failed(found, worker=worker, framed=True)
    time.sleep(1)  # its last attempt, after reporting: moving Kempelen's page without a click
    assert page.url == live_server.url + task_url
    _assert_nothing_changed(worker, profile_before, assignment, other_workers, own_other)

    # With the worker's clicks (user activation) the template may open new windows, which escape the sandbox: a
    # form post of the profile change, and Kempelen's dashboard that it then tries to read.
    task_frame = page.frame_locator("iframe.task")
    with context.expect_page() as posted:
        task_frame.locator("#send").click()
    posted.value.wait_for_load_state()
    assert "Pwned" not in posted.value.content()
    with context.expect_page() as opened:
        task_frame.locator("#open").click()
    clicked = task_site.wait_for_collected(2)[1]
    # (Chromium even gives the sandboxed opener no handle to the new window: window.open returns null.)
    assert clicked["phase"] == "after clicks"
    for key in ("window_document", "window_location", "window_cookie"):
        assert _failed(clicked[key]), (key, clicked[key])
    assert opened.value.url.startswith(live_server.url + "/worker/")
    _assert_nothing_changed(worker, profile_before, assignment, other_workers, own_other)

    # The task content's own headers: a CSP sandbox without allow-same-origin, framed only by Kempelen.
    content_url = page.locator("iframe.task").get_attribute("src")
    assert content_url and "/task-content/" in content_url
    sandbox_attribute = page.locator("iframe.task").get_attribute("sandbox") or ""
    assert "allow-scripts" in sandbox_attribute and "allow-same-origin" not in sandbox_attribute
    response = context.request.get(content_url)
    policy = response.headers["content-security-policy"]
    sandbox = re.search(r"(?:^|;)\s*sandbox([^;]*)", policy)
    assert sandbox is not None, policy
    assert "allow-same-origin" not in sandbox.group(1)
    assert "frame-ancestors 'self'" in policy
    assert "set-cookie" not in response.headers

    # Opened top-level (someone follows the frame's URL), it still runs in an opaque origin and gets nothing.
    top_level = context.new_page()
    top_level.goto(content_url)
    found = task_site.wait_for_collected(3)[2]
    assert top_level.evaluate("self.origin") == "null"
    _assert_everything_failed(found, worker=worker, framed=False)
    _assert_nothing_changed(worker, profile_before, assignment, other_workers, own_other)

    # Positive control: the very request the script sent (session, a valid token, same fields) does change the
    # profile when Kempelen's own page sends it. What stopped the script is the wall, not a wrong guess. (The
    # token is the browser's current one: the windows opened cross-site above got a fresh CSRF cookie.)
    page.goto("/worker/")
    token = next(c["value"] for c in context.cookies(live_server.url) if c["name"] == "csrftoken")
    status = page.evaluate(
        """([fields, token]) => fetch('/worker/profile', {method: 'POST', redirect: 'manual',
             headers: {'Content-Type': 'application/x-www-form-urlencoded'},
             body: new URLSearchParams({csrfmiddlewaretoken: token, ...fields}).toString()}).then(r => r.type)""",
        [PROFILE_CHANGE, token])
    assert status == "opaqueredirect"  # saved, then redirected back to the profile
    worker.refresh_from_db()
    assert (worker.display_name, worker.country, worker.is_adult) == ("Pwned by a HIT", "KP", True)
