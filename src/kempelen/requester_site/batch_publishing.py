"""Publishing a batch from its uploaded CSV file, and the job runner's step for batches in Publishing.

Where publishing runs: a batch of at most ``INLINE_ROWS`` rows is published in the request that confirms it (the
requester lands on a published batch); a larger one is written by the job runner (``run_pending``, one step of
``jobs.runner.run_once``), chunk by chunk, while the batch page shows its progress. Either way the same function
(``publish``) does the work, each chunk in its own transaction, so whoever runs next (the runner, after a crash or
a restart) continues after the last chunk written. A batch that has written nothing for
``batches.STALL_TIMEOUT`` is undone. See docs/requester-site/batches.md.

Between the steps the file is kept with ``uploads.keep_upload`` (kind BATCH_INPUT): under the project's id while the
requester previews and confirms it, then under the batch's id while the batch is being published. It is discarded
once the batch is Published or Failed (the rows live on in the HITs' ``layout_parameters``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from django.db import transaction

from kempelen.accounts.models import Requester
from kempelen.core.actors import Actor
from kempelen.core.errors import HITLayoutDoesNotExist, InvalidParameter, KempelenError
from kempelen.marketplace import actions
from kempelen.marketplace.actions import batches
from kempelen.marketplace.actions._batch_rows import LayoutRenderer
from kempelen.marketplace.models import Batch, BatchStatus, HITLayout
from kempelen.questions.layouts import layout_variables

from . import batch_csv
from .models import PendingUpload, UploadKind
from .uploads import discard_upload, find_upload, keep_upload

log = logging.getLogger("kempelen.batches")

#: Batches up to this many rows are published in the request that confirms them.
INLINE_ROWS = 2_000
#: The job runner spends at most about this long publishing per pass, so that timers and email are not held up.
PASS_SECONDS = 5.0
RUNNER = Actor.system("job-runner")


def check_file(content: bytes, layout: HITLayout) -> tuple[list[str], int]:
    """Everything wrong with a file for this project, with line numbers (BatchFileInvalid), or (columns, rows)."""
    variables = layout_variables(layout.html)
    batch_file = batch_csv.open_batch_file(content, variables)
    try:
        renderer = LayoutRenderer(layout.html, layout.frame_height, batch_file.columns)
    except InvalidParameter as error:  # the template itself cannot be published (a character XML refuses…)
        raise batch_csv.BatchFileInvalid([batch_csv.Problem(None, error.message)]) from None
    return batch_csv.check_batch_file(content, variables, check_row=renderer.problem, max_rows=batches.MAX_ROWS)


def start_batch(
    *, actor: Actor, requester: Requester, environment: str, layout_id: str, upload_id: str, name: str
) -> Batch:
    """Check the uploaded file again and start its batch (Publishing); the file moves from the project to the batch.

    Raises BatchFileInvalid (with line numbers) for a file that cannot be published, InvalidParameter when the
    upload is gone, and whatever ``create_batch`` refuses. Nothing is written unless the batch starts.
    """
    upload = find_upload(upload_id, requester=requester, environment=environment, kind=UploadKind.BATCH_INPUT,
                         subject_id=layout_id)
    if upload is None:
        raise InvalidParameter("This upload is no longer available (uploads are kept for a day). Upload the file again.")
    layout = HITLayout.objects.filter(pk=layout_id, requester=requester, environment=environment).first()
    if layout is None:
        raise HITLayoutDoesNotExist(layout_id)
    content = bytes(upload.content)
    columns, rows = check_file(content, layout)
    with transaction.atomic():
        batch = actions.create_batch(actor=actor, requester=requester, environment=environment, layout_id=layout.pk,
                                     name=name, input_columns=columns, row_count=rows)
        keep_upload(actor=actor, requester=requester, environment=environment, kind=UploadKind.BATCH_INPUT,
                    filename=upload.filename, content=content, subject_id=batch.pk)
        discard_upload(actor=actor, upload=upload)
    return batch


def batch_input(batch: Batch) -> PendingUpload | None:
    """The file a publishing batch is being written from."""
    return (
        PendingUpload.objects.filter(requester_id=batch.requester_id, environment=batch.environment,
                                     kind=UploadKind.BATCH_INPUT, subject_id=batch.pk)
        .order_by("-created_at").first()
    )


def _chunks(rows: Iterator[batch_csv.Row], start: int, size: int) -> Iterator[list[tuple[int, list[str]]]]:
    chunk: list[tuple[int, list[str]]] = []
    for row in rows:
        if row.index < start:
            continue
        chunk.append((row.index, row.values))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def publish(
    batch_id: str,
    *,
    actor: Actor,
    chunk_rows: int = batches.CHUNK_ROWS,
    max_chunks: int | None = None,
    deadline: float | None = None,
) -> Batch:
    """Write a publishing batch's remaining rows, chunk by chunk, then make it visible; returns the batch as it is
    afterwards. Stops early after ``max_chunks`` chunks or past ``deadline`` (``time.monotonic()``), leaving the
    rest for the next call. A file or row that cannot be published fails the batch (undone, with the reason)."""
    batch = Batch.objects.select_related("layout").get(pk=batch_id)
    if batch.status != BatchStatus.PUBLISHING:
        return batch
    upload = batch_input(batch)
    if batch.error:  # failed, and its undo was interrupted: finish the undo
        actions.fail_batch(actor=actor, batch_id=batch.pk, error=batch.error)
        batch.refresh_from_db()
        if upload is not None and batch.status != BatchStatus.PUBLISHING:
            discard_upload(actor=actor, upload=upload)
        return batch
    try:
        if batch.rows_published < batch.row_count:
            if upload is None:
                raise InvalidParameter("The batch's input file is no longer available.")
            layout = batch.layout
            if layout is None:
                raise InvalidParameter("The project of this batch was deleted while the batch was being published.")
            batch_file = batch_csv.open_batch_file(bytes(upload.content), layout_variables(layout.html))
            if batch_file.columns != batch.input_columns:
                raise InvalidParameter("The batch's input file no longer matches the batch.")
            chunks = _chunks(batch_file.rows(), batch.rows_published, chunk_rows)
            for written, chunk in enumerate(chunks, start=1):
                actions.publish_batch_rows(actor=actor, batch_id=batch.pk, rows=chunk)
                if (max_chunks is not None and written >= max_chunks) or (
                    deadline is not None and time.monotonic() > deadline
                ):
                    break
        actions.finish_batch(actor=actor, batch_id=batch.pk)
    except KempelenError as error:
        actions.fail_batch(actor=actor, batch_id=batch.pk, error=f"Publishing failed: {error.message}")
    batch.refresh_from_db()
    if batch.status != BatchStatus.PUBLISHING and upload is not None:
        discard_upload(actor=actor, upload=upload)
    return batch


def run_pending(*, actor: Actor = RUNNER, pass_seconds: float = PASS_SECONDS) -> int:
    """The job runner's step: undo batches stalled in Publishing, then continue the others (oldest first) for about
    ``pass_seconds``. Returns how many batches it worked on or undid (more than 0 brings the runner straight back
    for the rest)."""
    done = actions.fail_stalled_batches(actor=actor)
    deadline = time.monotonic() + pass_seconds
    for batch_id in Batch.objects.filter(status=BatchStatus.PUBLISHING).order_by("created_at").values_list("pk", flat=True):
        if time.monotonic() > deadline:
            return done + 1
        try:
            publish(batch_id, actor=actor, deadline=deadline)
        except Exception:  # retried on the next pass; undone if it stalls
            log.exception("publishing batch %s failed; retrying on the next pass", batch_id)
            continue
        done += 1
    return done
