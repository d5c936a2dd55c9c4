"""The workers list: who is on it, the figures on the requester's own work, search, sorting and pages."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kempelen.core.actors import Actor
from kempelen.marketplace import actions as marketplace
from kempelen.marketplace.models import Assignment
from tests.conftest import make_requester, make_worker
from tests.requester_site.conftest import signed_in

from .kit import grant, main, new_type, text, work

pytestmark = pytest.mark.django_db


def row_of(response, worker) -> str:
    """The list's row of one worker, as text."""
    body = response.content.decode()
    found = re.search(rf"<tr>\s*<td><a href=\"/requester/workers/{worker.worker_id}\">.*?</tr>", body, flags=re.S)
    assert found, f"{worker.worker_id} is not listed"
    return text(found.group(0))


def listed(response) -> list[str]:
    return re.findall(r'<td><a href="/requester/workers/(A[A-Z0-9]+)">', response.content.decode())


def test_figures_are_on_the_requesters_own_work_in_this_environment(move_clock):
    owner = make_requester().requester
    other = make_requester().requester
    worker = make_worker()
    work(owner, worker, outcome="approved")
    work(owner, worker, outcome="approved")
    work(owner, worker, outcome="rejected")
    work(owner, worker)  # awaiting review
    work(other, worker, outcome="rejected")  # another requester's: not counted
    work(owner, worker, outcome="rejected", environment="live")  # the other environment: not counted
    grant(owner, new_type(owner), worker, 75)
    response = signed_in(owner).get("/requester/workers")
    assert row_of(response, worker).startswith(f"{worker.worker_id} 4 2 1 1 67% ")
    assert "Good tagger: 75" in row_of(response, worker)
    assert row_of(response, worker).endswith("Good tagger: 75 No")


def test_an_elapsed_auto_approval_counts_as_approved_before_the_runner_applies_it(move_clock):
    owner = make_requester().requester
    worker = make_worker()
    assignment = work(owner, worker)
    move_clock(30 * 24 * 3600 + 10)  # the HIT type's auto-approval delay (30 days) has passed
    assert Assignment.objects.get(pk=assignment.pk).status == "Submitted"
    row = row_of(signed_in(owner).get("/requester/workers"), worker)
    assert row.startswith(f"{worker.worker_id} 1 1 0 0 100% ")


def test_the_median_time_is_the_middle_of_the_workers_times(move_clock):
    owner = make_requester().requester
    worker = make_worker()
    from tests.lifecycle.kit import accept, new_hit, submit

    for seconds in (30, 90, 400):
        assignment = accept(worker, new_hit(owner, environment="sandbox"))
        move_clock(seconds)
        submit(worker, assignment)
    assert " 100% " not in row_of(signed_in(owner).get("/requester/workers"), worker)  # nothing reviewed yet
    assert " 1 min 30 s " in row_of(signed_in(owner).get("/requester/workers"), worker)


def test_blocked_and_granted_workers_are_listed_with_no_work():
    owner = make_requester().requester
    blocked, granted = make_worker(), make_worker()
    marketplace.create_worker_block(actor=Actor.for_requester(owner), requester=owner, environment="sandbox",
                                    worker_id=blocked.worker_id, reason="Spam")
    grant(owner, new_type(owner), granted, 2)
    response = signed_in(owner).get("/requester/workers")
    assert row_of(response, blocked) == f"{blocked.worker_id} 0 0 0 0 \u2014 \u2014 \u2014 \u2014 Blocked"
    assert row_of(response, granted) == f"{granted.worker_id} 0 0 0 0 \u2014 \u2014 \u2014 Good tagger: 2 No"


def test_another_requesters_workers_and_grants_never_show():
    owner, other = make_requester().requester, make_requester().requester
    mine, theirs = make_worker(), make_worker()
    work(owner, mine)
    work(other, theirs, outcome="approved")
    grant(other, new_type(other, "Their secret type"), mine, 99)
    response = signed_in(owner).get("/requester/workers")
    assert listed(response) == [mine.worker_id]
    assert "Their secret type" not in response.content.decode()


def test_each_environment_lists_its_own_workers():
    owner = make_requester().requester
    sandbox_worker, live_worker = make_worker(), make_worker()
    work(owner, sandbox_worker, environment="sandbox")
    work(owner, live_worker, environment="live")
    assert listed(signed_in(owner, "sandbox").get("/requester/workers")) == [sandbox_worker.worker_id]
    assert listed(signed_in(owner, "live").get("/requester/workers")) == [live_worker.worker_id]


def test_no_workers_yet_is_explained():
    response = signed_in(make_requester().requester).get("/requester/workers")
    assert "No workers yet: workers appear here once they submit work for you in the sandbox." in main(response)


def test_search_by_part_of_a_worker_id_in_any_case():
    owner = make_requester().requester
    first, second = make_worker(), make_worker()
    work(owner, first)
    work(owner, second)
    browser = signed_in(owner)
    assert listed(browser.get(f"/requester/workers?q={first.worker_id[3:9].lower()}")) == [first.worker_id]
    blocked_only = make_worker()
    marketplace.create_worker_block(actor=Actor.for_requester(owner), requester=owner, environment="sandbox",
                                    worker_id=blocked_only.worker_id, reason="Spam")
    assert listed(browser.get(f"/requester/workers?q={blocked_only.worker_id[2:]}")) == [blocked_only.worker_id]
    nothing = browser.get("/requester/workers?q=ZZZZZZZZZZZZZZZZ")
    assert listed(nothing) == [] and "No worker's ID contains \u201cZZZZZZZZZZZZZZZZ\u201d." in main(nothing)


def test_sorting_by_each_column_and_reversing_it():
    owner = make_requester().requester
    busy, careful, new = make_worker(), make_worker(), make_worker()
    for outcome in ("approved", "rejected", "rejected"):
        work(owner, busy, outcome=outcome)
    work(owner, careful, outcome="approved")
    work(owner, new)
    browser = signed_in(owner)
    # Ties are broken by Worker ID.
    assert listed(browser.get("/requester/workers?sort=-submitted")) == [busy.worker_id, *sorted([careful.worker_id, new.worker_id])]
    assert listed(browser.get("/requester/workers?sort=-rate")) == [careful.worker_id, busy.worker_id, new.worker_id]
    # Workers with nothing reviewed come last whichever way the rate is sorted.
    assert listed(browser.get("/requester/workers?sort=rate")) == [busy.worker_id, careful.worker_id, new.worker_id]
    assert listed(browser.get("/requester/workers?sort=-rejected"))[0] == busy.worker_id
    assert listed(browser.get("/requester/workers?sort=-pending"))[0] == new.worker_id
    assert listed(browser.get("/requester/workers?sort=-last"))[0] == new.worker_id
    assert listed(browser.get("/requester/workers?sort=worker")) == sorted([busy.worker_id, careful.worker_id, new.worker_id])
    assert listed(browser.get("/requester/workers?sort=nonsense")) == listed(browser.get("/requester/workers"))
    page = browser.get("/requester/workers?sort=-rate").content.decode()
    assert 'aria-sort="descending"><a href="?sort=rate">Approval rate' in page


def test_pages_keep_the_search_and_the_sort(monkeypatch):
    from kempelen.requester_site import views_workers

    monkeypatch.setattr(views_workers, "PAGE_SIZE", 2)
    owner = make_requester().requester
    workers = [make_worker() for _ in range(5)]
    for worker in workers:
        work(owner, worker)
    browser = signed_in(owner)
    first = browser.get("/requester/workers?sort=worker&q=A")
    assert "Page 1 of 3" in main(first)
    assert 'href="?sort=worker&amp;q=A&amp;page=2" rel="next"' in first.content.decode()
    seen = [*listed(first), *listed(browser.get("/requester/workers?sort=worker&q=A&page=2")),
            *listed(browser.get("/requester/workers?sort=worker&q=A&page=3"))]
    assert seen == sorted(w.worker_id for w in workers)


def test_the_list_takes_the_same_number_of_queries_for_many_workers():
    owner = make_requester().requester
    qt = new_type(owner)

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert signed_in(owner).get("/requester/workers").status_code == 200
        return len(captured.captured_queries)

    worker = make_worker()
    work(owner, worker, outcome="approved")
    grant(owner, qt, worker, 5)
    few = queries_for_list()
    for _ in range(6):
        worker = make_worker()
        work(owner, worker, outcome="rejected")
        grant(owner, qt, worker, 5)
    assert queries_for_list() == few
