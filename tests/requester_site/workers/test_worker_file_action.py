"""The action that applies a worker file: tenancy, all or nothing, and repeat-safety, checked in the action itself."""

from __future__ import annotations

import pytest

from kempelen.core.actors import Actor
from kempelen.core.errors import InvalidParameter, QualificationTypeDoesNotExist, WorkerDoesNotExist
from kempelen.core.models import AuditEvent
from kempelen.marketplace.actions.worker_csv import WorkerFileRow, apply_worker_file
from kempelen.marketplace.models import WorkerBlock
from kempelen.notifications.models import OutboxEmail
from kempelen.qualifications.models import Qualification
from tests.conftest import make_requester, make_worker

from .kit import grant, new_type

pytestmark = pytest.mark.django_db


def run(requester, rows, environment="sandbox", **kwargs):
    return apply_worker_file(actor=Actor.for_requester(requester), requester=requester, environment=environment,
                             rows=rows, **kwargs)


def everything() -> tuple:
    return (sorted(Qualification.objects.values_list("worker_id", "qualification_type_id", "integer_value", "status",
                                                     "grant_time")),
            sorted(WorkerBlock.objects.values_list("worker_id", "environment", "reason")),
            OutboxEmail.objects.count())


def test_grants_changes_revocations_blocks_and_unblocks_are_applied_and_counted():
    owner = make_requester().requester
    a, b, c = make_worker(), make_worker(), make_worker()
    tagger, spotter = new_type(owner, "Tagger"), new_type(owner, "Spotter")
    grant(owner, tagger, a, 10)
    grant(owner, spotter, b, 20)
    run(owner, [WorkerFileRow(c.worker_id, {}, "Block", "")])
    outcome = run(owner, [
        WorkerFileRow(a.worker_id, {tagger.pk: 11, spotter.pk: 5}),
        WorkerFileRow(b.worker_id, {spotter.pk: None}, "Block", "Rude"),
        WorkerFileRow(c.worker_id, {}, "Unblock"),
    ])
    assert (outcome.granted, outcome.changed, outcome.revoked, outcome.blocked, outcome.unblocked) == (1, 1, 1, 1, 1)
    values = dict(((w, t), (v, s)) for w, t, v, s in
                  Qualification.objects.values_list("worker__worker_id", "qualification_type_id", "integer_value", "status"))
    assert values[(a.worker_id, tagger.pk)] == (11, "Granted")
    assert values[(a.worker_id, spotter.pk)] == (5, "Granted")
    assert values[(b.worker_id, spotter.pk)] == (20, "Revoked")
    assert list(WorkerBlock.objects.values_list("worker_id", "reason")) == [(b.worker_id, "Rude")]
    event = AuditEvent.objects.filter(action="apply_worker_file").last()
    assert event is not None and event.data["granted"] == 1 and event.data["unblocked"] == 1


def test_applying_twice_changes_nothing_the_second_time(move_clock):
    owner = make_requester().requester
    a, b = make_worker(), make_worker()
    tagger = new_type(owner)
    rows = [WorkerFileRow(a.worker_id, {tagger.pk: 30}, "Block"), WorkerFileRow(b.worker_id, {tagger.pk: None})]
    run(owner, rows)
    before = everything()
    move_clock(60)  # a re-grant would show as a new grant time
    outcome = run(owner, rows)
    assert outcome.total == 0 and everything() == before


def test_one_refused_row_leaves_everything_as_it_was():
    owner = make_requester().requester
    a, b = make_worker(), make_worker()
    tagger = new_type(owner)
    grant(owner, tagger, a, 1)
    before = everything()
    with pytest.raises(WorkerDoesNotExist):
        run(owner, [WorkerFileRow(a.worker_id, {tagger.pk: 99}, "Block"), WorkerFileRow(b.worker_id, {tagger.pk: 5}),
                    WorkerFileRow("A9ZZZZZZZZZZZZ", {tagger.pk: 5})])
    assert everything() == before


def test_another_requesters_type_is_refused_as_unknown_and_nothing_changes():
    owner, other = make_requester().requester, make_requester().requester
    worker = make_worker()
    mine, theirs = new_type(owner), new_type(other, "Theirs")
    before = everything()
    with pytest.raises(QualificationTypeDoesNotExist):
        run(owner, [WorkerFileRow(worker.worker_id, {mine.pk: 5, theirs.pk: 5})])
    assert everything() == before


def test_a_type_of_the_other_environment_is_refused():
    owner = make_requester().requester
    worker = make_worker()
    live_type = new_type(owner, environment="live")
    with pytest.raises(QualificationTypeDoesNotExist):
        run(owner, [WorkerFileRow(worker.worker_id, {live_type.pk: 5})], environment="sandbox")
    assert not Qualification.objects.exists()


def test_a_block_belongs_to_the_environment_it_was_made_in():
    owner = make_requester().requester
    worker = make_worker()
    run(owner, [WorkerFileRow(worker.worker_id, {}, "Block")], environment="live")
    run(owner, [WorkerFileRow(worker.worker_id, {}, "Unblock")], environment="sandbox")
    assert list(WorkerBlock.objects.values_list("environment", "reason")) == [("live", "Blocked by worker file upload")]


@pytest.mark.parametrize("row", [
    WorkerFileRow("A1AAAAAAAAAAAA", {"T": 101}),
    WorkerFileRow("A1AAAAAAAAAAAA", {"T": -1}),
    WorkerFileRow("A1AAAAAAAAAAAA", {}, "Ban"),
    WorkerFileRow("not-a-worker", {}),
    WorkerFileRow("A1AAAAAAAAAAAA", {}, "Block", "bell\x07"),
])
def test_rows_the_file_format_forbids_are_refused(row):
    owner = make_requester().requester
    with pytest.raises(InvalidParameter):
        run(owner, [row])


def test_a_worker_twice_is_refused():
    owner = make_requester().requester
    worker = make_worker()
    with pytest.raises(InvalidParameter, match="appears more than once"):
        run(owner, [WorkerFileRow(worker.worker_id, {}, "Block"), WorkerFileRow(worker.worker_id, {}, "Unblock")])
    assert not WorkerBlock.objects.exists()


def test_grants_email_workers_only_when_asked_and_revocations_always():
    owner = make_requester().requester
    a, b = make_worker(), make_worker()
    tagger = new_type(owner)
    grant(owner, tagger, b, 3)
    run(owner, [WorkerFileRow(a.worker_id, {tagger.pk: 4}), WorkerFileRow(b.worker_id, {tagger.pk: None})],
        notify=False)
    assert list(OutboxEmail.objects.values_list("worker_id", "kind")) == [(b.pk, "qualification_revoked")]
