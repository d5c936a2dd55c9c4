"""The dashboard's figures after a requester acts through boto3: every count, amount, day and message as the
worker should see it, to the cent, and nothing of another worker's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from kempelen.core import clock
from kempelen.ledger.models import AccountKind
from kempelen.ledger.queries import balance
from kempelen.marketplace.models import Assignment
from tests.conftest import make_worker
from tests.kits import main
from tests.lifecycle.kit import accept, give_back, submit

from .kit import card_with, cards, signed_in

QUESTION = """<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
<HTMLContent><![CDATA[<form><input name="label"></form>]]></HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>"""

DAY = 24 * 3600


def _to_next_noon_utc(move_clock) -> dt.date:
    """Start at 12:00 UTC tomorrow, so that what happens in the next hours stays on one UTC date."""
    now = clock.now()
    noon = (now + dt.timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    move_clock((noon - now).total_seconds())
    return noon.date()


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_shows_exactly_what_the_requester_did(api, move_clock):
    day1 = _to_next_noon_utc(move_clock)
    handle = api()
    client = handle.client()
    name = handle.requester.display_name
    hit_type = client.create_hit_type(
        Title="Label a picture", Description="Say what is in the picture", Reward="0.50",
        AssignmentDurationInSeconds=600, AutoApprovalDelayInSeconds=DAY,
    )["HITTypeId"]

    def new_hit() -> str:
        return client.create_hit_with_hit_type(
            HITTypeId=hit_type, LifetimeInSeconds=3 * DAY, MaxAssignments=1, Question=QUESTION
        )["HIT"]["HITId"]

    worker, other = make_worker(display_name="Ada"), make_worker(display_name="Grace")

    # Day 1: an approval with feedback and a bonus, a rejection with a reason, work left for auto-approval,
    # a returned HIT, a HIT accepted and then left past its deadline, and a message.
    approved = submit(worker, accept(worker, new_hit()))
    rejected = submit(worker, accept(worker, new_hit()))
    auto = submit(worker, accept(worker, new_hit()))
    returned = give_back(worker, accept(worker, new_hit()))
    abandoned = accept(worker, new_hit())
    client.approve_assignment(AssignmentId=approved.pk, RequesterFeedback="Great work, thank you!")
    client.reject_assignment(AssignmentId=rejected.pk, RequesterFeedback="The label did not match the picture.")
    client.send_bonus(WorkerId=worker.worker_id, AssignmentId=approved.pk, BonusAmount="1.25",
                      Reason="For the careful labels.", UniqueRequestToken="bonus-1")
    client.notify_workers(Subject="Next batch", MessageText="Thanks for your work.\nA new batch starts <Monday>.",
                          WorkerIds=[worker.worker_id])

    # Another worker's work, money and messages from the same requester.
    theirs = submit(other, accept(other, new_hit()))
    client.approve_assignment(AssignmentId=theirs.pk, RequesterFeedback="Feedback for Grace only")
    client.send_bonus(WorkerId=other.worker_id, AssignmentId=theirs.pk, BonusAmount="7.00",
                      Reason="A bonus for Grace only", UniqueRequestToken="bonus-other")
    client.notify_workers(Subject="For Grace only", MessageText="Hello Grace", WorkerIds=[other.worker_id])

    # Day 2, an hour after the auto-approval fell due (no job runner ran): a bonus for the auto-approved work,
    # one task in progress and one submitted, awaiting review.
    move_clock(DAY + 3600)
    day2 = clock.now().date()
    assert day2 == day1 + dt.timedelta(days=1)
    assert Assignment.objects.get(pk=auto.pk).status == "Submitted"  # nobody has applied the auto-approval yet
    pages = signed_in(worker)
    pages.get(reverse("worker:dashboard"))  # reading settles the elapsed timers
    client.send_bonus(WorkerId=worker.worker_id, AssignmentId=auto.pk, BonusAmount="0.30",
                      Reason="Speedy work.", UniqueRequestToken="bonus-2")
    in_progress = accept(worker, new_hit())
    pending = submit(worker, accept(worker, new_hit()))

    # --- The summary ---
    response = pages.get(reverse("worker:dashboard"))
    summary = main(response.content)
    assert f'href="{reverse("worker:task", args=[in_progress.pk])}">Label a picture</a>'.encode() in response.content
    assert f"Label a picture {name} $0.50 {in_progress.deadline:%Y-%m-%d %H:%M} UTC" in summary
    for count, label in ((1, "In progress"), (1, "Submitted, awaiting review"), (2, "Approved"), (1, "Rejected"),
                         (1, "Returned"), (1, "Abandoned")):
        assert f"{count} {label}" in summary
    assert "Pending approval $0.50 Approved rewards $1.00 Bonuses $1.55 Total earned $2.55" in summary
    assert "Requesters who require an approval rate see 100%." in summary
    assert ("Of your 4 submitted assignments, 2 were approved and 1 was rejected; 1 is awaiting review. "
            "That is 50% approved.") in summary
    assert "Until you have submitted 100 assignments" in summary
    latest = summary.split("Latest messages")[1]
    assert latest.index("You received a bonus of $0.30") < latest.index("Next batch") < latest.index(
        "You received a bonus of $1.25")

    # --- Assignments by state ---
    listing = pages.get(reverse("worker:assignments") + "?state=approved").content
    assert len(cards(listing)) == 2
    card = card_with(listing, approved.pk)
    approved.refresh_from_db()
    assert f"Requester: {name} Reward: $0.50" in card
    assert f"Accepted {approved.accept_time:%Y-%m-%d %H:%M} UTC Submitted {approved.submit_time:%Y-%m-%d %H:%M} UTC" in card
    assert f"Approved {approved.approval_time:%Y-%m-%d %H:%M} UTC Requester's feedback Great work, thank you!" in card
    assert "automatically" not in card
    assert "Bonuses for this assignment ($1.25)" in card and "$1.25 on" in card and "Reason: For the careful labels." in card
    card = card_with(listing, auto.pk)
    auto.refresh_from_db()
    assert auto.approval_time == auto.auto_approval_time and auto.approval_time.date() == day2
    assert f"Approved {auto.approval_time:%Y-%m-%d %H:%M} UTC (automatically, when the review period ended)" in card
    assert "Requester's feedback No feedback given." in card
    assert "Bonuses for this assignment ($0.30)" in card and "Reason: Speedy work." in card

    card = card_with(pages.get(reverse("worker:assignments") + "?state=rejected").content, rejected.pk)
    rejected.refresh_from_db()
    assert f"Rejected {rejected.rejection_time:%Y-%m-%d %H:%M} UTC" in card
    assert "Requester's feedback The label did not match the picture." in card
    assert "Bonuses" not in card

    card = card_with(pages.get(reverse("worker:assignments") + "?state=submitted").content, pending.pk)
    assert f"Approved automatically if not reviewed by {pending.auto_approval_time:%Y-%m-%d %H:%M} UTC" in card
    assert "feedback" not in card
    assert returned.pk in cards(pages.get(reverse("worker:assignments") + "?state=returned").content)[0]
    card = card_with(pages.get(reverse("worker:assignments") + "?state=abandoned").content, abandoned.pk)
    assert f"Abandoned (deadline passed) {abandoned.deadline:%Y-%m-%d %H:%M} UTC" in card
    assert in_progress.pk in cards(pages.get(reverse("worker:assignments") + "?state=in-progress").content)[0]
    everything = pages.get(reverse("worker:assignments")).content
    assert len(cards(everything)) == 7

    # --- Earnings, per day and in total, to the cent ---
    earnings = main(pages.get(reverse("worker:earnings")).content)
    assert "In total Pending approval $0.50 Approved rewards $1.00 Bonuses $1.55 Total earned $2.55" in earnings
    per_day = earnings.split("Per day")[1].split("Bonuses paid to you")[0]
    assert (f"{day2} $0.50 (1 assignment) $0.30 (1 bonus) $0.80 $0.50 "
            f"{day1} $0.50 (1 assignment) $1.25 (1 bonus) $1.75 $0.00") in per_day
    bonus_rows = earnings.split("Bonuses paid to you")[1]
    assert f"{name} Label a picture (assignment {auto.pk}) $0.30 Speedy work." in bonus_rows
    assert f"{name} Label a picture (assignment {approved.pk}) $1.25 For the careful labels." in bonus_rows
    assert bonus_rows.index("Speedy work.") < bonus_rows.index("For the careful labels.")
    # The ledger is the truth: the worker's earnings account holds exactly what the page says was earned.
    assert balance(AccountKind.WORKER_EARNINGS, "live", worker=worker) == 255

    # --- Messages ---
    inbox = pages.get(reverse("worker:messages"))
    found = cards(inbox.content)
    assert len(found) == 3
    assert found[0].startswith(f"You received a bonus of $0.30 from {name} Bonus From {name}")
    assert "Reason: Speedy work." in found[0]
    assert found[1].startswith(f"Next batch Message From {name}")
    assert found[1].endswith("Thanks for your work. A new batch starts <Monday>.")
    assert "Thanks for your work.<br>A new batch starts &lt;Monday&gt;." in inbox.content.decode()
    assert found[2].startswith(f"You received a bonus of $1.25 from {name}")

    # --- Nothing of the other worker's, anywhere ---
    for page in ("worker:dashboard", "worker:assignments", "worker:earnings", "worker:messages"):
        body = pages.get(reverse(page)).content.decode()
        for secret in ("Grace", "Feedback for Grace only", "A bonus for Grace only", "$7.00", theirs.pk):
            assert secret not in body, f"{secret!r} leaked into {page}"
