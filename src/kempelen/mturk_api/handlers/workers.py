"""Worker blocks and messages: CreateWorkerBlock, DeleteWorkerBlock, ListWorkerBlocks, NotifyWorkers.

A missing or malformed WorkerId in CreateWorkerBlock / DeleteWorkerBlock is MTurk's RequestError
"WorkerId is invalid." (not the model's ValidationException), because that is the wording clients saw. A
well-formed WorkerId that is not blocked (or not known) deletes nothing and succeeds, as on MTurk.
"""

from __future__ import annotations

from kempelen.core.errors import InvalidParameter
from kempelen.core.ids import WORKER_ID
from kempelen.marketplace import actions
from kempelen.marketplace.models import WorkerBlock

from ..context import Call
from ..pagination import listing, page


def check_worker_id(p: dict) -> None:
    """MTurk's answer to a missing or malformed WorkerId in the block operations (runs before validation)."""
    worker_id = p.get("WorkerId")
    if not isinstance(worker_id, str) or not WORKER_ID.fullmatch(worker_id):
        raise InvalidParameter("WorkerId is invalid.")


def create_worker_block(call: Call, p: dict) -> dict:
    actions.create_worker_block(actor=call.actor, requester=call.requester, environment=call.environment,
                                worker_id=p["WorkerId"], reason=p["Reason"])
    return {}


def delete_worker_block(call: Call, p: dict) -> dict:
    actions.delete_worker_block(actor=call.actor, requester=call.requester, environment=call.environment,
                                worker_id=p["WorkerId"], reason=p.get("Reason"))
    return {}


def list_worker_blocks(call: Call, p: dict) -> dict:
    qs = WorkerBlock.objects.filter(requester=call.requester, environment=call.environment)
    items, token = page(qs, p, order=("id",), scope="blocks")
    return listing(items, token, "WorkerBlocks", lambda b: {"WorkerId": b.worker_id, "Reason": b.reason})


def notify_workers(call: Call, p: dict) -> dict:
    failures = actions.notify_workers(
        actor=call.actor, requester=call.requester, environment=call.environment, subject=p["Subject"],
        message=p["MessageText"], worker_ids=p["WorkerIds"],
    )
    return {"NotifyWorkersFailureStatuses": failures}
