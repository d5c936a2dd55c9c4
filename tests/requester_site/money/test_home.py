"""The requester's home page: where they stand in the current environment, and their latest batches."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from kempelen.core import clock, ids
from kempelen.marketplace.models import HIT, Batch
from tests.conftest import make_requester, make_worker
from tests.kits import main
from tests.lifecycle.kit import accept, new_hit, new_hit_type, submit
from tests.requester_site.conftest import signed_in

pytestmark = pytest.mark.django_db
HOME = reverse("requester:home")


def _batch(requester, name: str, *, environment: str = "live", minutes_ago: int = 0, status: str = "Published",
           rows: int = 0) -> Batch:  # type: ignore[no-untyped-def]
    return Batch.objects.create(
        id=ids.entity_id(), requester=requester, environment=environment, name=name,
        hit_type=new_hit_type(requester, environment=environment), row_count=rows, lifetime=3600, status=status,
        created_at=clock.now() - dt.timedelta(minutes=minutes_ago),
    )


def test_anonymous_visitors_are_sent_to_sign_in_and_workers_refused():
    assert Client().get(HOME)["Location"].startswith(reverse("requester:login"))
    browser = Client()
    browser.force_login(make_worker().user)
    assert browser.get(HOME).status_code == 403


def test_home_shows_the_balance_of_the_current_environment_and_says_which():
    requester = make_requester(funds_cents=12_345).requester
    new_hit(requester, max_assignments=3, reward_cents=50)  # $1.80 into escrow
    live = main(signed_in(requester, "live").get(HOME).content)
    assert "in the live environment" in live
    assert "Available $121.65" in live and "In escrow $1.80" in live
    sandbox = main(signed_in(requester, "sandbox").get(HOME).content)
    assert "in the sandbox" in sandbox
    assert "Available $0.00" in sandbox and "In escrow $0.00" in sandbox
    assert "Sandbox money is fake" in sandbox


def test_home_links_to_creating_a_project_and_publishing_a_batch():
    page = signed_in(make_requester().requester).get(HOME).content.decode()
    assert f'href="{reverse("requester:projects")}"' in page and "Create a project" in page
    assert f'href="{reverse("requester:batches")}"' in page and "Publish a batch" in page
    assert f'href="{reverse("requester:account")}"' in page


def test_home_without_batches_says_so():
    page = main(signed_in(make_requester().requester, "sandbox").get(HOME).content)
    assert "You have not published a batch in the sandbox yet." in page


def test_home_lists_the_five_newest_batches_of_this_requester_and_environment_with_counts():
    requester = make_requester().requester
    for n in range(6):
        _batch(requester, f"Batch {n}", minutes_ago=60 - n)
    _batch(requester, "Sandbox batch", environment="sandbox")
    _batch(make_requester().requester, "Someone else's batch")
    newest = _batch(requester, "Cats and dogs", rows=2, minutes_ago=0)
    for row in range(2):
        hit = new_hit(requester, max_assignments=3, reward_cents=10)
        HIT.objects.filter(pk=hit.pk).update(batch=newest, batch_row=row)
        if row == 0:
            worker = make_worker()
            submit(worker, accept(worker, hit))
            accept(make_worker(), hit)

    page = main(signed_in(requester, "live").get(HOME).content)
    names = ["Cats and dogs", "Batch 5", "Batch 4", "Batch 3", "Batch 2"]
    positions = [page.index(name) for name in names]
    assert positions == sorted(positions)
    assert "Batch 1" not in page and "Batch 0" not in page
    assert "Sandbox batch" not in page and "Someone else's batch" not in page
    # HITs 2, assignments 6, in progress 1, awaiting review 1, reviewed 0.
    assert "Cats and dogs Published" in page
    row = page[page.index("Cats and dogs"):page.index("Batch 5")]
    assert row.split()[-5:] == ["2", "6", "1", "1", "0"]
    assert f'href="{reverse("requester:results", args=[newest.pk])}"' in signed_in(requester, "live").get(HOME).content.decode()


def test_a_batch_being_published_shows_its_progress():
    requester = make_requester().requester
    batch = _batch(requester, "Big one", status="Publishing", rows=1000)
    Batch.objects.filter(pk=batch.pk).update(rows_published=250)
    assert "Publishing (250 of 1000 rows)" in main(signed_in(requester, "live").get(HOME).content)


def test_home_settles_elapsed_timers_before_showing_the_balance(move_clock):
    requester = make_requester(funds_cents=1_000).requester
    new_hit(requester, max_assignments=1, reward_cents=50, lifetime=60)
    move_clock(61)
    page = main(signed_in(requester, "live").get(HOME).content)
    assert "Available $10.00" in page and "In escrow $0.00" in page
