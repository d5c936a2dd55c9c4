"""Worker blocks and messages: CreateWorkerBlock, DeleteWorkerBlock, ListWorkerBlocks, NotifyWorkers."""

from __future__ import annotations

import pytest

from kempelen.core.errors import Blocked
from kempelen.notifications.models import OutboxEmail

from .helpers import accept, create_hit, do_work, raw_request, refused

pytestmark = pytest.mark.django_db(transaction=True)


def _blocks(client) -> list[dict]:
    return client.list_worker_blocks()["WorkerBlocks"]


# --- Blocks ----------------------------------------------------------------------------------------------


def test_a_blocked_worker_is_listed_and_cannot_accept_the_requesters_hits(api, worker_factory):
    client = api().client()
    worker = worker_factory()
    assert set(client.create_worker_block(WorkerId=worker.worker_id, Reason="Copied answers")) == {
        "ResponseMetadata"}
    listed = client.list_worker_blocks()
    assert listed["WorkerBlocks"] == [{"WorkerId": worker.worker_id, "Reason": "Copied answers"}]
    assert listed["NumResults"] == 1  # amti reads it directly
    hit = create_hit(client)["HITId"]
    with pytest.raises(Blocked):
        accept(worker, hit)


def test_blocking_again_keeps_one_block_with_the_new_reason(api, worker_factory):
    client = api().client()
    worker = worker_factory()
    client.create_worker_block(WorkerId=worker.worker_id, Reason="first")
    client.create_worker_block(WorkerId=worker.worker_id, Reason="second")
    assert _blocks(client) == [{"WorkerId": worker.worker_id, "Reason": "second"}]


def test_blocks_are_per_requester(api, worker_factory):
    one, two = api().client(), api().client()
    worker = worker_factory()
    one.create_worker_block(WorkerId=worker.worker_id, Reason="spam")
    assert _blocks(two) == []
    accept(worker, create_hit(two)["HITId"])  # the other requester's HITs are still open to them


def test_a_block_may_name_a_worker_id_not_seen_yet(api):
    client = api().client()
    client.create_worker_block(WorkerId="A2YUCJ28XANFOX", Reason="reported elsewhere")
    assert _blocks(client) == [{"WorkerId": "A2YUCJ28XANFOX", "Reason": "reported elsewhere"}]


def test_delete_worker_block_unblocks(api, worker_factory):
    client = api().client()
    worker = worker_factory()
    client.create_worker_block(WorkerId=worker.worker_id, Reason="spam")
    assert set(client.delete_worker_block(WorkerId=worker.worker_id, Reason="appealed")) == {"ResponseMetadata"}
    assert _blocks(client) == []
    accept(worker, create_hit(client)["HITId"])


def test_deleting_the_block_of_an_unblocked_worker_still_succeeds(api, worker_factory):
    client = api().client()
    client.delete_worker_block(WorkerId=worker_factory().worker_id)
    client.delete_worker_block(WorkerId="A2YUCJ28XANFOX")
    assert _blocks(client) == []


@pytest.mark.parametrize("worker_id", ["not-a-worker", "B2YUCJ28XANFOX", "a2yucj28xanfox"])
def test_an_invalid_worker_id_is_refused_with_mturks_wording(api, worker_id):
    client = api().client()
    for call in (client.delete_worker_block, client.create_worker_block):
        kwargs = {"WorkerId": worker_id} | ({"Reason": "x"} if call == client.create_worker_block else {})
        failure = refused(call, **kwargs)
        assert failure.code == "RequestError"
        assert failure.bare_message == "WorkerId is invalid."
    assert _blocks(client) == []


def test_a_missing_worker_id_is_invalid_too(api):
    handle = api()
    response = raw_request(handle.url, operation="DeleteWorkerBlock", body={}, access_key_id=handle.access_key_id,
                           secret=handle.secret)
    assert response.status == 400
    assert response.json()["Message"].startswith("WorkerId is invalid.")


def test_create_worker_block_needs_a_reason(api, worker_factory):
    client = api().client()
    failure = refused(client.create_worker_block, WorkerId=worker_factory().worker_id, Reason="")
    assert failure.code == "RequestError"
    assert "Reason" in failure.message
    assert _blocks(client) == []


# --- NotifyWorkers ---------------------------------------------------------------------------------------


def test_notify_workers_reaches_workers_with_reviewed_work_and_reports_the_rest(api, worker_factory):
    client = api().client()
    hit = create_hit(client)["HITId"]
    reviewed = do_work(worker_factory(), hit)
    client.approve_assignment(AssignmentId=reviewed.assignment_id)
    unreviewed = do_work(worker_factory(), hit)
    result = client.notify_workers(Subject="New batch", MessageText="More work is up.",
                                   WorkerIds=[reviewed.worker.worker_id, unreviewed.worker.worker_id,
                                              "A2YUCJ28XANFOX"])
    failures = {f["WorkerId"]: f for f in result["NotifyWorkersFailureStatuses"]}
    assert set(failures) == {unreviewed.worker.worker_id, "A2YUCJ28XANFOX"}
    for failure in failures.values():
        assert failure["NotifyWorkersFailureCode"] in ("SoftFailure", "HardFailure")
        assert failure["NotifyWorkersFailureMessage"]
    sent = OutboxEmail.objects.get(kind="message")
    assert (sent.worker, sent.subject, sent.body) == (reviewed.worker, "New batch", "More work is up.")


def test_notify_workers_always_returns_the_failure_list(api, worker_factory):
    client = api().client()
    work = do_work(worker_factory(), create_hit(client)["HITId"])
    client.reject_assignment(AssignmentId=work.assignment_id, RequesterFeedback="")
    result = client.notify_workers(Subject="Hello", MessageText="Thanks", WorkerIds=[work.worker.worker_id])
    assert result["NotifyWorkersFailureStatuses"] == []


def test_notify_workers_limits(api):
    client = api().client()
    many = [f"A{n:013d}" for n in range(101)]
    failure = refused(client.notify_workers, Subject="Hi", MessageText="x", WorkerIds=many)
    assert failure.code in ("ValidationException", "RequestError")
    assert "100" in failure.message
    failure = refused(client.notify_workers, Subject="S" * 201, MessageText="x", WorkerIds=["A2YUCJ28XANFOX"])
    assert failure.code in ("ValidationException", "RequestError") and "subject" in failure.message.lower()
    failure = refused(client.notify_workers, Subject="Hi", MessageText="x" * 4097, WorkerIds=["A2YUCJ28XANFOX"])
    assert failure.code in ("ValidationException", "RequestError") and "messagetext" in failure.message.lower()
    assert OutboxEmail.objects.count() == 0
