"""The dashboard's pages: who may see them, what an empty history looks like, filters, pages and escaping."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from kempelen.marketplace import actions
from kempelen.notifications.actions import queue_email
from kempelen.qualifications import system
from tests.conftest import make_requester, make_worker
from tests.kits import main
from tests.lifecycle.kit import accept, approve, give_back, new_hit, new_hit_type, reject, submit

from .kit import PAGES, card_with, cards, signed_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(name):
    url = reverse(name)
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('worker:login')}?next={url}"


@pytest.mark.parametrize("name", PAGES)
def test_a_requester_account_is_refused_with_a_clear_page(name):
    client = Client()
    client.force_login(make_requester().requester.user)
    response = client.get(reverse(name))
    assert response.status_code == 403
    assert "This page is for workers" in main(response.content)
    assert "not a worker account" in main(response.content)


@pytest.mark.parametrize("name", PAGES)
def test_an_operator_without_a_worker_profile_is_refused(name):
    operator = get_user_model().objects.create_user("operator", password="x" * 12, is_staff=True)
    client = Client()
    client.force_login(operator)
    assert client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_pages_only_read(name):
    response = signed_in(make_worker()).post(reverse(name))
    assert response.status_code == 405


def test_a_new_worker_sees_an_empty_but_explained_dashboard():
    response = signed_in(make_worker()).get(reverse("worker:dashboard"))
    assert response.status_code == 200
    page = main(response.content)
    assert "You have no work in progress." in page
    for label in ("In progress", "Submitted, awaiting review", "Approved", "Rejected", "Returned", "Abandoned"):
        assert f"0 {label}" in page
    assert "Pending approval $0.00 Approved rewards $0.00 Bonuses $0.00 Total earned $0.00" in page
    assert "Requesters who require an approval rate see 100%." in page
    assert "Of your 0 submitted assignments, 0 were approved and 0 were rejected." in page
    assert "Until you have submitted 100 assignments, your approval rate counts as 100%" in page
    assert "No messages yet." in page
    # The dashboard is highlighted in the site's menu, and the summary in the dashboard's own tabs.
    assert b'href="/worker/dashboard" aria-current="page">Dashboard' in response.content
    assert b'aria-current="page">Summary</a>' in response.content


def test_empty_lists_say_so():
    client = signed_in(make_worker())
    assert "No assignments yet." in main(client.get(reverse("worker:assignments")).content)
    assert "No assignments in this state." in main(client.get(reverse("worker:assignments") + "?state=approved").content)
    earnings = main(client.get(reverse("worker:earnings")).content)
    assert "Nothing earned yet." in earnings and "No bonuses yet." in earnings
    assert "No messages." in main(client.get(reverse("worker:messages")).content)


def test_work_in_progress_links_to_the_task_and_shows_its_deadline():
    requester = make_requester().requester
    worker = make_worker()
    hit = new_hit(requester, title="Count the birds", reward_cents=35, duration=1800)
    assignment = accept(worker, hit)
    response = signed_in(worker).get(reverse("worker:dashboard"))
    page = main(response.content)
    assert f'href="{reverse("worker:task", args=[assignment.pk])}">Count the birds</a>'.encode() in response.content
    assert f"Count the birds {requester.display_name} $0.35" in page
    assert assignment.deadline.strftime("%Y-%m-%d %H:%M UTC") in page
    assert "(29 minutes left)" in page  # a moment has passed since accepting
    assert "1 In progress" in page


def test_the_state_filter_lists_only_that_state_and_links_back():
    requester = make_requester().requester
    worker = make_worker()
    hit_type = new_hit_type(requester, title="Tag a photo")
    kept = accept(worker, new_hit(requester, hit_type=hit_type))
    returned = give_back(worker, accept(worker, new_hit(requester, hit_type=hit_type)))
    client = signed_in(worker)
    response = client.get(reverse("worker:assignments") + "?state=returned")
    page = main(response.content)
    assert "Returned (1)" in page and "In progress (1)" in page and "All (2)" in page
    assert [returned.pk in c for c in cards(response.content)] == [True]
    assert "Returned " + returned.ended_time.strftime("%Y-%m-%d %H:%M UTC") in card_with(response.content, returned.pk)
    # The dashboard's counts link to these filtered lists.
    dashboard = client.get(reverse("worker:dashboard")).content.decode()
    assert 'href="/worker/dashboard/assignments?state=returned"' in dashboard
    # A state that does not exist shows everything rather than failing.
    everything = client.get(reverse("worker:assignments") + "?state=nonsense")
    assert everything.status_code == 200
    assert len(cards(everything.content)) == 2
    assert kept.pk in everything.content.decode()


def test_assignments_are_newest_first_and_paginated(move_clock):
    requester = make_requester().requester
    worker = make_worker()
    hit_type = new_hit_type(requester, title="Transcribe a line")
    made = []
    for _ in range(27):
        made.append(give_back(worker, accept(worker, new_hit(requester, hit_type=hit_type))))
        move_clock(1)
    client = signed_in(worker)
    first = client.get(reverse("worker:assignments") + "?state=returned")
    first_ids = [a.pk for a in reversed(made)][:25]
    assert [next(i for i in first_ids if i in c) for c in cards(first.content)] == first_ids
    assert "Page 1 of 2" in main(first.content)
    assert 'href="?state=returned&amp;page=2"' in first.content.decode()
    second = client.get(reverse("worker:assignments") + "?state=returned&page=2")
    assert len(cards(second.content)) == 2
    assert made[0].pk in cards(second.content)[-1]
    assert 'href="?state=returned&amp;page=1" rel="prev"' in second.content.decode()
    # A page number past the end shows the last page; a nonsense one, the first.
    assert len(cards(client.get(reverse("worker:assignments") + "?state=returned&page=99").content)) == 2
    assert len(cards(client.get(reverse("worker:assignments") + "?state=returned&page=x").content)) == 25


def test_messages_are_escaped_and_keep_their_line_breaks():
    requester = make_requester().requester
    worker = make_worker()
    queue_email(worker=worker, environment="live", kind="message", requester=requester,
                subject="<i>Hello</i> & welcome", body="<script>alert(1)</script>\nSecond line")
    response = signed_in(worker).get(reverse("worker:messages"))
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>Second line" in body
    assert "&lt;i&gt;Hello&lt;/i&gt; &amp; welcome" in body
    assert f"From {requester.display_name}" in main(body)


def test_messages_can_be_filtered_by_kind():
    requester = make_requester().requester
    worker = make_worker()
    queue_email(worker=worker, environment="live", kind="message", requester=requester, subject="A message", body="m")
    queue_email(worker=worker, environment="live", kind="bonus", requester=requester, subject="A bonus", body="b")
    queue_email(worker=worker, environment="live", kind="qualification_revoked", requester=requester,
                subject="A revocation", body="r")
    client = signed_in(worker)

    def subjects(kind: str) -> list[str]:
        return [c.split(" Message")[0].split(" Bonus")[0].split(" Qualification")[0]
                for c in cards(client.get(reverse("worker:messages") + f"?kind={kind}").content)]

    assert subjects("all") == ["A revocation", "A bonus", "A message"]
    assert subjects("message") == ["A message"]
    assert subjects("bonus") == ["A bonus"]
    assert subjects("qualification") == ["A revocation"]
    assert subjects("bogus") == ["A revocation", "A bonus", "A message"]


def test_sandbox_work_stays_off_the_live_dashboard():
    requester = make_requester().requester
    worker = make_worker()
    hit = new_hit(requester, environment="sandbox", title="Sandbox only")
    assignment = submit(worker, accept(worker, hit))
    approve(requester, assignment, environment="sandbox", feedback="sandbox feedback")
    client = signed_in(worker)
    for name in PAGES:
        assert "Sandbox only" not in client.get(reverse(name)).content.decode()
    assert "Approved rewards $0.00" in main(client.get(reverse("worker:earnings")).content)


def test_the_approval_rate_shows_the_real_percentage_once_enough_work_is_submitted(monkeypatch):
    monkeypatch.setattr(system, "PERCENT_APPROVED_MIN_SUBMITTED", 3)
    requester = make_requester().requester
    worker = make_worker()
    hit_type = new_hit_type(requester)
    done = [submit(worker, accept(worker, new_hit(requester, hit_type=hit_type))) for _ in range(4)]
    approve(requester, done[0])
    reject(requester, done[1], feedback="no")
    approve(requester, done[2])
    page = main(signed_in(worker).get(reverse("worker:dashboard")).content)
    assert "Requesters who require an approval rate see 50%." in page
    assert ("Of your 4 submitted assignments, 2 were approved and 1 was rejected; 1 is awaiting review. "
            "That is 50% approved.") in page
    assert "Until you have submitted" not in page


def test_an_elapsed_deadline_is_shown_as_abandoned_before_the_job_runner_runs(move_clock):
    requester = make_requester().requester
    worker = make_worker()
    hit = new_hit(requester, title="Slow task", duration=60)
    assignment = accept(worker, hit)
    move_clock(61)
    page = main(signed_in(worker).get(reverse("worker:dashboard")).content)
    assert "You have no work in progress." in page
    assert "1 Abandoned" in page and "0 In progress" in page
    assignment.refresh_from_db()
    assert assignment.status == "Abandoned"


def test_settling_touches_only_the_workers_own_due_hits(move_clock):
    requester = make_requester().requester
    worker, other = make_worker(), make_worker()
    mine = accept(worker, new_hit(requester, duration=60))
    theirs = accept(other, new_hit(requester, duration=60))
    move_clock(61)
    signed_in(worker).get(reverse("worker:dashboard"))
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("Abandoned", "Accepted")
    # …and the other worker's reading settles theirs (the job runner would have, too).
    actions.settle_if_due(theirs.hit)
    theirs.refresh_from_db()
    assert theirs.status == "Abandoned"
