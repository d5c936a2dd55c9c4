"""Publishing a batch: one hidden HIT per row with CreateHIT's escrow, made visible all at once; resumed, or undone
with everything it wrote, when it cannot finish."""

import datetime as dt

import pytest
from django.test import Client

from kempelen.core import clock
from kempelen.core.errors import InsufficientFunds, NoAssignmentAvailable
from kempelen.core.models import AuditEvent
from kempelen.jobs.runner import run_once
from kempelen.ledger.models import LedgerTransaction
from kempelen.ledger.queries import requester_balances
from kempelen.marketplace import actions
from kempelen.marketplace.actions.batches import STALL_TIMEOUT
from kempelen.marketplace.models import HIT, Assignment, Batch, BatchStatus, HITType
from kempelen.marketplace.queries import open_hits
from kempelen.notifications.models import OutboxEvent
from kempelen.qualifications.system import MASTERS_LIVE
from kempelen.questions.layouts import layout_as_html_question, render_layout
from kempelen.requester_site import batch_csv, batch_publishing
from kempelen.requester_site.models import PendingUpload
from tests.conftest import make_requester, make_worker
from tests.requester_site.conftest import signed_in

from .conftest import TEMPLATE, actor_for, csv_bytes, make_project, picture_rows, publish_file, start

pytestmark = pytest.mark.django_db


def _state() -> tuple[int, ...]:
    return (Batch.objects.count(), HIT.objects.count(), HITType.objects.count(), LedgerTransaction.objects.count(),
            OutboxEvent.objects.count())


def test_each_row_becomes_one_published_hit_with_its_values_question_and_escrow():
    requester = make_requester().requester
    project = make_project(requester)
    before = requester_balances(requester, "live")
    batch = publish_file(requester, project, csv_bytes(picture_rows(3)))
    assert batch.status == BatchStatus.PUBLISHED and batch.rows_published == 3 and batch.published_at is not None
    assert batch.input_columns == ["image_url", "text"] and batch.row_count == 3
    hits = list(HIT.objects.filter(batch=batch).order_by("batch_row"))
    assert [h.batch_row for h in hits] == [0, 1, 2]
    for i, hit in enumerate(hits):
        values = {"image_url": f"https://img.example.org/{i}.jpg", "text": f"Picture {i} 😀"}
        assert hit.layout_parameters == values and hit.layout_id == project.pk and hit.published
        assert hit.question == layout_as_html_question(render_layout(TEMPLATE, values), 400)
        assert hit.max_assignments == hit.available == 2
        # Reward 10 cents + 20% fee = 12 cents a slot, as CreateHIT would hold.
        assert hit.unit_cost_cents == 12 and hit.escrow_cents == 24
        assert hit.requester_annotation == f"BatchId:{batch.pk};OriginalHitTemplateId:{project.pk};"
        assert hit.expiration == hit.created_at + dt.timedelta(days=3) == hit.next_due_at
    hit_type = batch.hit_type
    assert (hit_type.title, hit_type.reward_cents, hit_type.assignment_duration, hit_type.auto_approval_delay) == (
        "Label a picture", 10, 600, 86400)
    assert requester_balances(requester, "live") == (before[0] - 72, before[1] + 72)
    actions_done = set(AuditEvent.objects.filter(target_id=batch.pk).values_list("action", flat=True))
    assert {"create_batch", "publish_batch_rows", "publish_batch"} <= actions_done
    assert not PendingUpload.objects.filter(subject_id=batch.pk).exists()  # the file is gone once published


def test_a_second_batch_of_the_same_project_reuses_the_hit_type():
    requester = make_requester().requester
    project = make_project(requester)
    first = publish_file(requester, project, csv_bytes(picture_rows(1)))
    second = publish_file(requester, project, csv_bytes(picture_rows(1)))
    assert first.hit_type_id == second.hit_type_id and HITType.objects.count() == 1


@pytest.mark.parametrize(("reward", "assignments", "requirements", "unit"), [
    (10, 9, [], 12),  # 20%
    (10, 10, [], 14),  # 20% + 20% for 10 or more assignments
    (1, 1, [], 2),  # the minimum fee of one cent
    (100, 1, [{"QualificationTypeId": MASTERS_LIVE, "Comparator": "Exists"}], 125),  # + 5% Masters
])
def test_escrow_follows_the_fee_rules(reward, assignments, requirements, unit):
    requester = make_requester(funds_cents=1_000_000).requester
    project = make_project(requester, reward_cents=reward, max_assignments=assignments,
                           qualification_requirements=requirements)
    batch = publish_file(requester, project, csv_bytes(picture_rows(2)))
    for hit in HIT.objects.filter(batch=batch):
        assert hit.unit_cost_cents == unit and hit.escrow_cents == unit * assignments


def test_hits_stay_invisible_until_every_row_is_written():
    requester = make_requester().requester
    project = make_project(requester)
    batch = start(requester, project, csv_bytes(picture_rows(5)))
    batch = batch_publishing.publish(batch.pk, actor=actor_for(requester), chunk_rows=2, max_chunks=1)
    assert batch.status == BatchStatus.PUBLISHING and batch.rows_published == 2
    assert HIT.objects.filter(batch=batch, published=False).count() == 2
    assert not open_hits("live").filter(batch=batch).exists()
    worker = make_worker()
    with pytest.raises(NoAssignmentAvailable, match="no more HITs"):
        actions.accept_assignment(actor=actor_for(worker), worker=worker, environment="live",
                                  group_id=batch.hit_type.group_id)
    hit = HIT.objects.filter(batch=batch).first()
    with pytest.raises(NoAssignmentAvailable, match="still being published"):
        actions.accept_assignment(actor=actor_for(worker), worker=worker, environment="live", hit_id=hit.pk)
    run_once()  # the job runner continues after the last chunk and makes the batch visible
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PUBLISHED and batch.rows_published == 5
    assert open_hits("live").filter(batch=batch).count() == 5
    assert list(HIT.objects.filter(batch=batch).order_by("batch_row").values_list("batch_row", flat=True)) == [0, 1, 2, 3, 4]


def test_a_worker_finds_and_accepts_the_published_tasks_on_the_worker_site():
    requester = make_requester().requester
    project = make_project(requester)
    batch = publish_file(requester, project, csv_bytes(picture_rows(3)))
    browser = Client()
    browser.force_login(make_worker().user)
    listing = browser.get("/worker/").content.decode()
    assert "Label a picture" in listing and batch.hit_type.group_id in listing
    response = browser.post(f"/worker/projects/{batch.hit_type.group_id}/tasks/accept", {"auto": "0"})
    assert response.status_code == 302 and "/worker/tasks/" in response["Location"]
    assignment = Assignment.objects.get()
    assert assignment.hit.batch_id == batch.pk and assignment.status == "Accepted"
    task = browser.get(response["Location"])
    assert task.status_code == 200 and b"task-content" in task.content


def test_publishing_is_refused_when_the_live_balance_is_short_and_nothing_is_written():
    requester = make_requester(funds_cents=50).requester
    project = make_project(requester)
    state = _state()
    with pytest.raises(InsufficientFunds) as refused:
        start(requester, project, csv_bytes(picture_rows(3)))
    assert refused.value.message.startswith("Publishing this batch costs $0.72, but your available balance is $0.50.")
    assert _state() == state


def test_the_sandbox_needs_no_deposit():
    requester = make_requester(funds_cents=0).requester
    project = make_project(requester, environment="sandbox")
    batch = publish_file(requester, project, csv_bytes(picture_rows(2)))
    assert batch.status == BatchStatus.PUBLISHED and batch.environment == "sandbox"
    assert HIT.objects.filter(batch=batch, environment="sandbox").count() == 2


def test_a_file_that_cannot_be_published_writes_nothing():
    requester = make_requester().requester
    project = make_project(requester)
    content = csv_bytes(picture_rows(3)) + b"only-one-field\r\n"
    state = _state()
    with pytest.raises(batch_csv.BatchFileInvalid) as refused:
        start(requester, project, content)
    assert refused.value.problems[0].line == 5
    assert _state() == state


def test_running_out_of_money_part_way_undoes_everything_written():
    requester = make_requester(funds_cents=200).requester
    project = make_project(requester)
    batch = start(requester, project, csv_bytes(picture_rows(6)))  # 6 x 24 = 144 cents: affordable now
    batch_publishing.publish(batch.pk, actor=actor_for(requester), chunk_rows=2, max_chunks=1)
    assert requester_balances(requester, "live") == (200 - 48, 48)
    # Meanwhile the requester spends most of the money on another HIT through the API.
    hit_type = actions.create_hit_type(actor=actor_for(requester), requester=requester, environment="live",
                                       title="Other", description="Other work", reward_cents=100,
                                       assignment_duration=60)
    actions.create_hit(actor=actor_for(requester), requester=requester, environment="live", hit_type=hit_type,
                       lifetime=3600, max_assignments=1, question=HIT.objects.filter(batch=batch).first().question)
    batch = batch_publishing.publish(batch.pk, actor=actor_for(requester), chunk_rows=2)
    assert batch.status == BatchStatus.FAILED and batch.rows_published == 0
    assert batch.error.startswith("Publishing failed: This Requester has insufficient funds")
    assert not HIT.objects.filter(batch=batch).exists()
    assert requester_balances(requester, "live") == (200 - 120, 120)  # only the other HIT holds escrow
    assert not PendingUpload.objects.filter(subject_id=batch.pk).exists()


def test_a_batch_left_publishing_resumes_but_is_undone_after_the_stall_timeout(move_clock):
    requester = make_requester().requester
    project = make_project(requester)
    resumed = start(requester, project, csv_bytes(picture_rows(4)))
    stalled = start(requester, project, csv_bytes(picture_rows(4)))
    for batch in (resumed, stalled):  # each publisher "dies" after its first chunk
        batch_publishing.publish(batch.pk, actor=actor_for(requester), chunk_rows=2, max_chunks=1)
    batch_publishing.publish(resumed.pk, actor=actor_for(requester))  # a publisher comes back at once
    move_clock(STALL_TIMEOUT.total_seconds() + 1)
    assert batch_publishing.run_pending() >= 1
    resumed.refresh_from_db()
    stalled.refresh_from_db()
    assert resumed.status == BatchStatus.PUBLISHED and HIT.objects.filter(batch=resumed, published=True).count() == 4
    assert stalled.status == BatchStatus.FAILED
    assert "stopped after 2 of 4 rows and did not resume within 10 minutes" in stalled.error
    assert not HIT.objects.filter(batch=stalled).exists()
    assert requester_balances(requester, "live")[1] == 4 * 24


def test_a_batch_still_making_progress_is_not_undone(move_clock):
    requester = make_requester().requester
    project = make_project(requester)
    batch = start(requester, project, csv_bytes(picture_rows(6)))
    for _ in range(2):
        move_clock(STALL_TIMEOUT.total_seconds() - 60)
        batch_publishing.publish(batch.pk, actor=actor_for(requester), chunk_rows=2, max_chunks=1)
        assert actions.fail_stalled_batches(actor=actor_for(requester)) == 0
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PUBLISHING and batch.rows_published == 4


def test_editing_the_project_while_publishing_fails_the_batch():
    requester = make_requester().requester
    project = make_project(requester)
    batch = start(requester, project, csv_bytes(picture_rows(4)))
    batch_publishing.publish(batch.pk, actor=actor_for(requester), chunk_rows=2, max_chunks=1)
    project.html = project.html.replace("<p>", "<p class='changed'>")
    project.updated_at = clock.now() + dt.timedelta(seconds=1)
    project.save()
    batch = batch_publishing.publish(batch.pk, actor=actor_for(requester), chunk_rows=2)
    assert batch.status == BatchStatus.FAILED and "project was changed" in batch.error
    assert not HIT.objects.filter(batch=batch).exists()


def test_hit_created_events_are_queued_when_the_batch_becomes_visible():
    requester = make_requester().requester
    project = make_project(requester)
    first = publish_file(requester, project, csv_bytes(picture_rows(1)))
    HITType.objects.filter(pk=first.hit_type_id).update(notification_active=True, notification={
        "Destination": "https://sqs.us-east-1.amazonaws.com/1/queue", "Transport": "SQS", "Version": "2006-05-05",
        "EventTypes": ["HITCreated"]})
    batch = start(requester, project, csv_bytes(picture_rows(3)))
    batch_publishing.publish(batch.pk, actor=actor_for(requester), chunk_rows=2, max_chunks=1)
    assert not OutboxEvent.objects.exists()
    batch = batch_publishing.publish(batch.pk, actor=actor_for(requester))
    events = OutboxEvent.objects.filter(event_type="HITCreated")
    assert sorted(events.values_list("hit_id", flat=True)) == sorted(HIT.objects.filter(batch=batch).values_list("pk", flat=True))
    assert {e.event_timestamp for e in events} == {batch.published_at}


def test_an_interrupted_undo_is_finished_by_the_job_runner_and_nothing_is_written_meanwhile():
    requester = make_requester().requester
    project = make_project(requester)
    batch = start(requester, project, csv_bytes(picture_rows(5)))
    batch_publishing.publish(batch.pk, actor=actor_for(requester), chunk_rows=2, max_chunks=2)
    Batch.objects.filter(pk=batch.pk).update(error="Publishing failed: the reason.")  # the undo began, then died
    assert actions.publish_batch_rows(actor=actor_for(requester), batch_id=batch.pk, rows=[(4, ["x", "y"])]) == 0
    assert actions.finish_batch(actor=actor_for(requester), batch_id=batch.pk) is None
    page = signed_in(requester, "live").get(f"/requester/batches/{batch.pk}").content.decode()
    assert 'id="undoing"' in page and "Publishing failed: the reason." in page
    run_once()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED and batch.error == "Publishing failed: the reason."
    assert not HIT.objects.filter(batch=batch).exists() and requester_balances(requester, "live")[1] == 0


def test_undo_works_through_the_hits_in_chunks():
    requester = make_requester().requester
    project = make_project(requester)
    batch = start(requester, project, csv_bytes(picture_rows(5)))
    batch_publishing.publish(batch.pk, actor=actor_for(requester), chunk_rows=2, max_chunks=2)
    failed = actions.fail_batch(actor=actor_for(requester), batch_id=batch.pk, error="Stop.", chunk_hits=3)
    assert failed is not None and failed.status == BatchStatus.FAILED and failed.error == "Stop."
    assert LedgerTransaction.objects.filter(kind="escrow_release", memo__contains=batch.pk).count() == 2
    assert not HIT.objects.filter(batch=batch).exists()
    assert AuditEvent.objects.filter(target_id=batch.pk, action="undo_batch", data__hits_removed=4).exists()
