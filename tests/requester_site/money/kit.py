"""A requester's money story with every kind of movement, and reading the statement back."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from kempelen.accounts.models import Requester, Worker
from kempelen.marketplace import actions
from kempelen.marketplace.models import HIT, Assignment
from tests.conftest import make_worker
from tests.lifecycle.kit import accept, approve, new_hit, reject, requester_actor, submit


@dataclass
class Story:
    paid: Assignment
    rejected: Assignment
    busy_hit: HIT
    expired_hit: HIT
    worker: Worker


def live_story(requester: Requester, move_clock: Callable[[float], None]) -> Story:
    """After a $1,000.00 deposit (``make_requester``'s): a HIT of two $0.50 assignments (fee $0.10 each) reserves
    $1.20; one assignment is approved (payment $0.50, fee $0.10), the other rejected (refund $0.60); a $1.00 bonus
    (fee $0.20); a second HIT reserves $0.60 and expires unfilled (released). Available ends at $998.20."""
    hit = new_hit(requester, max_assignments=2, reward_cents=50, lifetime=3600)
    first, second = make_worker(), make_worker()
    paid = submit(first, accept(first, hit))
    approve(requester, paid)
    rejected = submit(second, accept(second, hit))
    reject(requester, rejected, feedback="Blank answer")
    actions.send_bonus(actor=requester_actor(requester), requester=requester, environment="live",
                       worker_id=first.worker_id, assignment_id=paid.pk, amount_cents=100, reason="Great work")
    short = new_hit(requester, max_assignments=1, reward_cents=50, lifetime=60)
    move_clock(61)
    actions.settle_due_for_requester(requester, "live")
    return Story(paid=paid, rejected=rejected, busy_hit=hit, expired_hit=short, worker=first)


def csv_rows(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))
