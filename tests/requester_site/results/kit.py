"""Helpers for the results pages' tests: a batch built the way publishing builds one (a project, a HIT type
through the actions, one HIT per row through create_hit with the layout and its parameters, then tagged with
the batch and its row) and workers doing its HITs."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.test import Client
from django.urls import reverse

from kempelen.accounts.models import Requester, Worker
from kempelen.core import clock, ids
from kempelen.core.actors import Actor
from kempelen.marketplace import actions
from kempelen.marketplace.models import HIT, Assignment, Batch, BatchStatus, HITLayout
from kempelen.questions.answers import answers_from_form_post
from tests.conftest import make_requester, make_worker
from tests.requester_site.conftest import signed_in

TEMPLATE = """<form><p>${sentence}</p><p>${image_url}</p>
<label><input type="radio" name="sentiment" value="positive"> positive</label>
<label><input type="radio" name="sentiment" value="negative"> negative</label>
<label><input type="checkbox" name="tags" value="food"> food</label>
<label><input type="checkbox" name="tags" value="service"> service</label>
<textarea name="comment"></textarea></form>"""
ROWS = [
    {"sentence": "The soup was lovely.", "image_url": "https://img.example/1.png"},
    {"sentence": "The waiter was rude, \"really\".", "image_url": "https://img.example/2.png"},
    {"sentence": "Fine, I guess.", "image_url": "https://img.example/3.png"},
]
DAY = 24 * 3600


def actor(requester: Requester) -> Actor:
    return Actor.for_requester(requester, "tests")


@dataclass
class BatchKit:
    requester: Requester
    batch: Batch
    hits: list[HIT]
    environment: str
    workers: list[Worker] = field(default_factory=list)

    @property
    def url(self) -> str:
        return reverse("requester:results", args=[self.batch.pk])

    def browser(self) -> Client:
        return signed_in(self.requester, self.environment)


def make_batch(
    requester: Requester | None = None,
    *,
    environment: str = "sandbox",
    rows: Sequence[dict[str, str]] = ROWS,
    template: str = TEMPLATE,
    assignments_per_row: int = 1,
    reward_cents: int = 50,
    auto_approval_delay: int = 3 * DAY,
    lifetime: int = 7 * DAY,
    name: str = "Sentiment of reviews",
) -> BatchKit:
    requester = requester or make_requester(funds_cents=100_000).requester
    columns = list(rows[0]) if rows else []
    now = clock.now()
    layout = HITLayout.objects.create(
        id=ids.entity_id(), requester=requester, environment=environment, name=name, html=template,
        created_at=now, title="Rate a review", description="Say whether a short review is positive",
        reward_cents=reward_cents, max_assignments=assignments_per_row, lifetime=lifetime,
        auto_approval_delay=auto_approval_delay,
    )
    hit_type = actions.create_hit_type(
        actor=actor(requester), requester=requester, environment=environment, title="Rate a review",
        description="Say whether a short review is positive", reward_cents=reward_cents, assignment_duration=600,
        auto_approval_delay=auto_approval_delay, keywords="sentiment, reviews",
    )
    batch = Batch.objects.create(
        id=ids.entity_id(), requester=requester, environment=environment, layout=layout, hit_type=hit_type,
        name=name, input_columns=columns, row_count=len(rows), assignments_per_row=assignments_per_row,
        lifetime=lifetime, status=BatchStatus.PUBLISHED, rows_published=len(rows), created_at=now, published_at=now,
    )
    hits = []
    for index, row in enumerate(rows):
        hit = actions.create_hit(
            actor=actor(requester), requester=requester, environment=environment, hit_type=hit_type,
            lifetime=lifetime, max_assignments=assignments_per_row, layout_id=layout.pk,
            layout_parameters=[{"Name": k, "Value": v} for k, v in row.items()],
            requester_annotation=f"BatchId:{batch.pk};",
        )
        HIT.objects.filter(pk=hit.pk).update(batch=batch, batch_row=index)
        hit.refresh_from_db()
        hits.append(hit)
    return BatchKit(requester, batch, hits, environment)


def answer(**fields: str | list[str]) -> str:
    """QuestionFormAnswers for a form post: a list posts the name several times (same-name checkboxes)."""
    posted: list[tuple[str, str]] = []
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            posted.append((name, one))
    return answers_from_form_post(posted)


def work(kit: BatchKit, hit: HIT, worker: Worker | None = None, xml: str | None = None,
         seconds: float = 0) -> Assignment:
    """A worker accepts ``hit``, works ``seconds`` (the clock moves) and submits."""
    worker = worker or make_worker()
    kit.workers.append(worker)
    accepted = actions.accept_assignment(actor=Actor.for_worker(worker), worker=worker, environment=kit.environment,
                                         hit_id=hit.pk)
    if seconds:
        clock.advance(seconds)
    return actions.submit_assignment(
        actor=Actor.for_worker(worker), worker=worker, assignment_id=accepted.pk,
        answer_xml=xml if xml is not None else answer(sentiment="positive", tags=["food", "service"], comment="ok"),
    )


def download(browser: Client, batch: Batch) -> tuple[bytes, list[list[str]]]:
    response = browser.get(reverse("requester:results_download", args=[batch.pk]))
    assert response.status_code == 200, response.status_code
    body = b"".join(response.streaming_content)
    return body, list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


def as_dicts(table: list[list[str]]) -> list[dict[str, str]]:
    header, *rows = table
    return [dict(zip(header, row, strict=True)) for row in rows]


def csv_bytes(rows: Sequence[Sequence[str]], *, delimiter: str = ",", newline: str = "\r\n", bom: bool = False,
              encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode(encoding)


def fill(table: list[list[str]], marks: dict[str, tuple[str, str]]) -> list[list[str]]:
    """The downloaded table with Approve/Reject filled in for some assignments: {AssignmentId: (approve, reject)}."""
    header = table[0]
    at_id, at_approve, at_reject = header.index("AssignmentId"), header.index("Approve"), header.index("Reject")
    out = [list(header)]
    for row in table[1:]:
        row = list(row)
        if row[at_id] in marks:
            row[at_approve], row[at_reject] = marks[row[at_id]]
        out.append(row)
    return out


def utc(value: dt.datetime) -> str:
    return f"{value:%a %b %d %H:%M:%S} UTC {value:%Y}"
