"""Helpers for the job runner's tests: work falling due, queued email, and the `kempelen jobs` command."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field

from kempelen import cli
from kempelen.accounts.models import Requester, Worker
from kempelen.core.actors import Actor
from kempelen.marketplace.models import HIT
from kempelen.notifications.actions import queue_email
from kempelen.notifications.models import OutboxEmail
from kempelen.qualifications.actions import create_qualification_type, request_qualification
from kempelen.qualifications.models import QualificationRequest
from tests.conftest import make_requester, make_worker
from tests.lifecycle.kit import accept, new_hit, requester_actor, submit
from tests.qualifications.kit import BIRD_TEST


@dataclass
class Command:
    code: int
    out: str
    err: str


def jobs(*args: str) -> Command:
    """Run `kempelen jobs …` in this process, as an operator would in a shell."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["jobs", *args])
    return Command(code, out.getvalue(), err.getvalue())


@dataclass
class DueWork:
    """HITs whose timers will fall due together: per HIT two submitted assignments to auto-approve (and pay), one
    accepted assignment to abandon, and the HIT's expiry."""

    requester: Requester
    workers: list[Worker]
    hits: list[HIT] = field(default_factory=list)


def hits_falling_due(count: int, *, lifetime: int = 300) -> DueWork:
    """HITs that all fall due once the clock has moved ``lifetime`` + 1 seconds."""
    work = DueWork(make_requester().requester, [make_worker() for _ in range(3)])
    for _ in range(count):
        hit = new_hit(work.requester, max_assignments=4, reward_cents=100, auto_approval_delay=60, duration=120,
                      lifetime=lifetime)
        for worker in work.workers[:2]:
            submit(worker, accept(worker, hit))
        accept(work.workers[2], hit)
        work.hits.append(hit)
    return work


def emails(count: int, *, address: str = "worker{n}@example.org") -> list[OutboxEmail]:
    """``count`` queued emails, each to its own worker, with subjects "Message 0", "Message 1"…"""
    queued = []
    for n in range(count):
        worker = make_worker(email=address.format(n=n))
        queued.append(queue_email(worker=worker, environment="live", kind="message", subject=f"Message {n}",
                                  body=f"Hello number {n}"))
    return queued


def taking_qualification_tests(count: int, *, duration: int = 300) -> list[QualificationRequest]:
    """``count`` workers each taking a qualification test that lapses after ``duration`` seconds."""
    owner = make_requester().requester
    qualification = create_qualification_type(
        actor=requester_actor(owner), requester=owner, environment="live", name="Bird spotter",
        description="Workers who can tell common garden birds apart", test=BIRD_TEST, test_duration=duration,
    )
    taken = []
    for _ in range(count):
        worker = make_worker()
        taken.append(request_qualification(actor=Actor.for_worker(worker), worker=worker,
                                           qualification_type_id=qualification.pk))
    return taken
