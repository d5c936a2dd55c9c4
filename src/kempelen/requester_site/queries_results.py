"""Reads behind the results pages and the results CSV: a batch's submitted assignments, their counts, and the
stream of rows for the download.

Which assignments: those a requester can see (Submitted, Approved, Rejected) on the batch's HITs. An assignment
whose auto-approval time has passed counts as Approved even before the job runner has recorded it (its
*effective* status), so the counts, the filters and the CSV agree with what approving or rejecting it would find.

The download reads in two passes over the same rows, both limited to assignments submitted at or before the
moment the download started (answers never change after submission, so both passes see the same answers):
the first collects the answer fields (the ``Answer.*`` columns must be known before the first row) and the
workers (for their approval rates) in one statement read in slices; the second walks the batch's HITs in file
order in chunks (keyset pagination on ``(batch_row, id)``, using the ``(batch, batch_row)`` index) and fetches
each chunk's assignments with one query. Memory holds a chunk, the answer fields and one entry per worker,
whatever the size of the batch. Both passes use plain SQL and read timestamps as text: at a million rows,
model instances and per-value conversions would cost more than everything else.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When

from kempelen.accounts.models import Requester, Worker
from kempelen.core import clock
from kempelen.marketplace.models import HIT, Assignment, AssignmentStatus, Batch, BonusPayment
from kempelen.marketplace.queries import described_hit_type

from . import results_csv
from .results_csv import AssignmentFacts, HITFacts, Rates

VISIBLE = (AssignmentStatus.SUBMITTED, AssignmentStatus.APPROVED, AssignmentStatus.REJECTED)
STATUS_FILTERS = ("Submitted", "Approved", "Rejected")
#: HITs read per query while streaming, and the most assignment slots one chunk may hold.
HITS_PER_CHUNK = 1000
SLOTS_PER_CHUNK = 5000


def batch_of(requester: Requester, environment: str, batch_id: str) -> Batch | None:
    """The requester's own batch in this environment, or None (another's, or the other environment's)."""
    return (
        Batch.objects.filter(pk=batch_id, requester=requester, environment=environment)
        .select_related("layout", "hit_type")
        .first()
    )


# --- Effective status -------------------------------------------------------------------------------------------


def _auto_approved(now: dt.datetime) -> Q:
    return Q(status=AssignmentStatus.SUBMITTED, auto_approval_time__lte=now)


def status_filter(status: str, now: dt.datetime) -> Q:
    """Assignments whose effective status is ``status``."""
    if status == AssignmentStatus.SUBMITTED:
        return Q(status=AssignmentStatus.SUBMITTED) & ~_auto_approved(now)
    if status == AssignmentStatus.APPROVED:
        return Q(status=AssignmentStatus.APPROVED) | _auto_approved(now)
    return Q(status=status)


def effective_status(assignment: Assignment, now: dt.datetime) -> str:
    if (assignment.status == AssignmentStatus.SUBMITTED and assignment.auto_approval_time is not None
            and assignment.auto_approval_time <= now):
        return AssignmentStatus.APPROVED
    return assignment.status


# --- The results page ---------------------------------------------------------------------------------------------


def batch_assignments(batch: Batch) -> QuerySet[Assignment]:
    return Assignment.objects.filter(hit__batch=batch, status__in=VISIBLE)


def status_counts(batch: Batch, now: dt.datetime) -> dict[str, int]:
    """How many of the batch's assignments are in each effective status.

    Counted from the ``(hit, status)`` index alone, HIT by HIT through the batch's HITs (the planner could
    otherwise walk every assignment of the instance with a given status). Elapsed auto-approvals are found
    through the HITs whose next timer is due, which the job runner keeps few.
    """
    q = connection.ops.quote_name
    hits = f"SELECT id FROM {q(_HIT)} WHERE batch_id = %s"
    counts = dict.fromkeys(STATUS_FILTERS, 0)
    when = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT a.status, COUNT(*) FROM {q(_ASSIGNMENT)} a WHERE a.hit_id IN ({hits}) "
                       f"AND a.status IN (%s, %s, %s) GROUP BY a.status", [batch.pk, *VISIBLE])
        counts.update(dict(cursor.fetchall()))
        cursor.execute(f"SELECT COUNT(*) FROM {q(_ASSIGNMENT)} a WHERE a.hit_id IN ({hits} AND next_due_at <= %s) "
                       f"AND a.status = %s AND a.auto_approval_time <= %s",
                       [batch.pk, when, AssignmentStatus.SUBMITTED, when])
        due = cursor.fetchone()[0]
    counts[AssignmentStatus.SUBMITTED] -= due
    counts[AssignmentStatus.APPROVED] += due
    return counts


def filtered(batch: Batch, *, status: str, worker_id: str, now: dt.datetime) -> QuerySet[Assignment]:
    """The batch's submitted assignments in file order (row, then submission), filtered."""
    qs = batch_assignments(batch)
    if status in STATUS_FILTERS:
        qs = qs.filter(status_filter(status, now))
    if worker_id:
        qs = qs.filter(worker__worker_id=worker_id)
    return qs.annotate(
        effective=Case(When(_auto_approved(now), then=Value(AssignmentStatus.APPROVED)), default=F("status"),
                       output_field=CharField())
    ).order_by("hit__batch_row", "submit_time", "id")


def for_display(qs: QuerySet[Assignment]) -> QuerySet[Assignment]:
    return qs.select_related("hit", "worker")


def reviewable_ids(
    batch: Batch, *, status: str, worker_id: str, as_of: dt.datetime, now: dt.datetime, limit: int
) -> list[str]:
    """The assignments still to review (effective status Submitted) in a filter, submitted by ``as_of``: what
    "all submitted in this view" means. At most ``limit`` ids (the caller asks for one more than it allows)."""
    qs = filtered(batch, status=status, worker_id=worker_id, now=now).filter(
        status_filter(AssignmentStatus.SUBMITTED, now), submit_time__lte=as_of
    )
    return list(qs.values_list("id", flat=True)[:limit])


def assignment_in_batch(batch: Batch, assignment_id: str) -> Assignment | None:
    return (
        batch_assignments(batch).filter(pk=assignment_id).select_related("hit", "worker").first()
    )


def bonuses_by_assignment(assignment_ids: Iterable[str]) -> dict[str, list[BonusPayment]]:
    found: dict[str, list[BonusPayment]] = defaultdict(list)
    for bonus in BonusPayment.objects.filter(assignment_id__in=list(assignment_ids)).order_by("grant_time", "id"):
        found[bonus.assignment_id].append(bonus)
    return found


# --- Approval rates -----------------------------------------------------------------------------------------------


def approval_rates(requester: Requester, environment: str, worker_pks: Iterable[int], now: dt.datetime) -> dict[int, Rates]:
    """Per worker: approved of reviewed among this requester's assignments of that worker (lifetime, last 30
    days and last 7 days by submission time); an elapsed auto-approval counts as approved."""
    approved = Q(status=AssignmentStatus.APPROVED) | _auto_approved(now)
    rejected = Q(status=AssignmentStatus.REJECTED)
    month = Q(submit_time__gte=now - dt.timedelta(days=30))
    week = Q(submit_time__gte=now - dt.timedelta(days=7))
    rates: dict[int, Rates] = {}
    pks = sorted(set(worker_pks))
    for start in range(0, len(pks), 500):
        rows = (
            Assignment.objects.filter(requester=requester, environment=environment, status__in=VISIBLE,
                                      worker_id__in=pks[start:start + 500])
            .values("worker_id")
            .annotate(
                a=Count("id", filter=approved), r=Count("id", filter=rejected),
                a30=Count("id", filter=approved & month), r30=Count("id", filter=rejected & month),
                a7=Count("id", filter=approved & week), r7=Count("id", filter=rejected & week),
            )
        )
        for row in rows:
            rates[row["worker_id"]] = Rates(
                results_csv.format_rate(row["a"], row["a"] + row["r"]),
                results_csv.format_rate(row["a30"], row["a30"] + row["r30"]),
                results_csv.format_rate(row["a7"], row["a7"] + row["r7"]),
            )
    return rates


def worker_rates(requester: Requester, environment: str, worker: Worker, now: dt.datetime) -> Rates:
    return approval_rates(requester, environment, [worker.pk], now).get(worker.pk, results_csv.NO_RATES)


# --- The download: two passes in chunks -----------------------------------------------------------------------

_HIT = HIT._meta.db_table
_ASSIGNMENT = Assignment._meta.db_table
# The batch's HITs, then their assignments through the ``(hit, status)`` index. SQLite keeps the left table of a
# CROSS JOIN as the outer loop (PostgreSQL plans it as any join); with a plain join its planner may walk every
# assignment of the instance with a visible status and look up each one's HIT.
_FROM_BATCH_HITS = f'"{_HIT}" h CROSS JOIN "{_ASSIGNMENT}" a'
_OF_BATCH = "a.hit_id = h.id AND h.batch_id = %s"


def _time_column(column: str) -> str:
    """A timestamp column as text in UTC (see ``results_csv.Timestamp``): a million rows of timestamps would
    otherwise be parsed into datetimes one by one (by a regular expression in Django's SQLite converter and in
    psycopg's loader) only to be written out as text again. Connections are in UTC (Django sets it)."""
    return f"CAST({column} AS TEXT)"


def _hit_chunks(batch_id: str, columns: str) -> Iterator[list[tuple]]:
    """The batch's HITs in file order, ``HITS_PER_CHUNK`` at a time (fewer when they hold many slots).

    Each row starts with ``batch_row, id, max_assignments, batch_id`` followed by ``columns``.
    """
    q = connection.ops.quote_name
    sql_first = (f"SELECT h.batch_row, h.id, h.max_assignments, h.batch_id{columns} FROM {q(_HIT)} h "
                 f"WHERE h.batch_id = %s AND h.batch_row IS NOT NULL ORDER BY h.batch_row, h.id LIMIT %s")
    sql_next = (f"SELECT h.batch_row, h.id, h.max_assignments, h.batch_id{columns} FROM {q(_HIT)} h "
                f"WHERE h.batch_id = %s AND h.batch_row >= %s AND (h.batch_row > %s OR h.id > %s) "
                f"ORDER BY h.batch_row, h.id LIMIT %s")
    last: tuple[int, str] | None = None
    while True:
        with connection.cursor() as cursor:
            if last is None:
                cursor.execute(sql_first, [batch_id, HITS_PER_CHUNK])
            else:
                cursor.execute(sql_next, [batch_id, last[0], last[0], last[1], HITS_PER_CHUNK])
            rows = cursor.fetchall()
        fetched = len(rows)
        if not rows:
            return
        # A chunk holds at most SLOTS_PER_CHUNK assignment slots (and always at least one HIT).
        slots, cut = 0, fetched
        for index, row in enumerate(rows):
            slots += row[2]
            if slots > SLOTS_PER_CHUNK and index > 0:
                cut = index
                break
        yield rows[:cut]
        if cut == fetched and fetched < HITS_PER_CHUNK:
            return
        last = (rows[cut - 1][0], rows[cut - 1][1])


def _assignments_of(hits: list[tuple], columns: str, column_params: list, cutoff: Any) -> list[tuple]:
    """The visible assignments submitted by ``cutoff`` of a chunk of HITs (as ``_hit_chunks`` gives them), in no
    particular order (the caller orders them; sorting in SQL would copy every answer through a temporary
    B-tree). The chunk is selected by its first and last ``(batch_row, id)`` on the ``(batch, batch_row)`` index
    rather than by a list of a thousand ids."""
    (first_row, first_id), (last_row, last_id) = hits[0][:2], hits[-1][:2]
    sql = (f"SELECT a.hit_id{columns} FROM {_FROM_BATCH_HITS} "
           f"WHERE {_OF_BATCH} AND h.batch_row >= %s AND h.batch_row <= %s "
           f"AND (h.batch_row > %s OR h.id >= %s) AND (h.batch_row < %s OR h.id <= %s) "
           f"AND a.status IN (%s, %s, %s) AND a.submit_time <= %s")
    params = [*column_params, hits[0][3], first_row, last_row, first_row, first_id, last_row, last_id, *VISIBLE,
              cutoff]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def answer_fields_and_workers(batch: Batch, cutoff: dt.datetime) -> tuple[list[str], set[int]]:
    """First pass: the answer fields of the batch's assignments submitted by ``cutoff`` (sorted, as columns go)
    and the workers who did them.

    Order does not matter here, so this is one statement read in slices rather than chunks in file order (about
    half the cost). On PostgreSQL it runs in a read-only transaction through a server-side cursor, so rows arrive
    as they are read; on SQLite a plain cursor already steps through the result lazily (and a transaction there
    would take the database's write lock).
    """
    fields: set[str] = set()
    workers: set[int] = set()
    sql = (f"SELECT a.worker_id, a.answer FROM {_FROM_BATCH_HITS} WHERE {_OF_BATCH} "
           f"AND a.status IN (%s, %s, %s) AND a.submit_time <= %s")
    params = [batch.pk, *VISIBLE, connection.ops.adapt_datetimefield_value(cutoff)]

    def read(cursor: Any) -> None:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(5000):
            for worker_pk, answer in rows:
                workers.add(worker_pk)
                fields.update(results_csv.answer_fields(answer))

    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.chunked_cursor() as cursor:
            read(cursor)
    else:
        with connection.cursor() as cursor:
            read(cursor)
    return results_csv.answer_columns(fields), workers


class _WorkerIds(dict[int, str]):
    """Public WorkerIds by worker pk, read 500 at a time up front (a join per row costs more), any other on demand."""

    def __init__(self, pks: Iterable[int]) -> None:
        super().__init__()
        ordered = sorted(pks)
        for start in range(0, len(ordered), 500):
            self.update(Worker.objects.filter(pk__in=ordered[start:start + 500]).values_list("pk", "worker_id"))

    def __missing__(self, pk: int) -> str:
        found = Worker.objects.filter(pk=pk).values_list("worker_id", flat=True).first() or ""
        self[pk] = found
        return found


def result_records(
    batch: Batch, cutoff: dt.datetime, worker_pks: Iterable[int] = ()
) -> Iterator[tuple[HITFacts, list[tuple[int, AssignmentFacts]]]]:
    """Second pass: each HIT of the batch in file order with its assignments submitted by ``cutoff`` (in order of
    submission), as ``(worker pk, facts)``, their status the effective one at ``cutoff``. HITs without such
    assignments are skipped."""
    when = connection.ops.adapt_datetimefield_value(cutoff)
    t = _time_column
    hit_columns = (f", h.hit_type_id, {t('h.created_at')}, h.requester_annotation, {t('h.expiration')}, "
                   "h.layout_parameters")
    # The effective status: an elapsed auto-approval is an approval, at its time.
    due = "a.status = %s AND a.auto_approval_time <= %s"
    assignment_columns = (
        f", a.id, a.worker_id, CASE WHEN {due} THEN %s ELSE a.status END, {t('a.accept_time')}, "
        f"{t('a.submit_time')}, {t('a.auto_approval_time')}, "
        f"CASE WHEN {due} THEN {t('a.auto_approval_time')} ELSE {t('a.approval_time')} END, "
        f"{t('a.rejection_time')}, a.requester_feedback, a.answer"
    )
    worker_ids = _WorkerIds(worker_pks)
    due_params = [AssignmentStatus.SUBMITTED, when]
    column_params = [*due_params, AssignmentStatus.APPROVED, *due_params]
    for hits in _hit_chunks(batch.pk, hit_columns):
        by_hit: dict[str, list[tuple[int, AssignmentFacts]]] = defaultdict(list)
        fetched = _assignments_of(hits, assignment_columns, column_params, when)
        for (hit_id, assignment_id, worker_pk, status, accept, submit, auto, approval, rejection, feedback,
             answer) in fetched:
            by_hit[hit_id].append((worker_pk, AssignmentFacts(
                assignment_id, worker_ids[worker_pk], status, accept, submit, auto, approval, rejection,
                feedback or "", answer or "",
            )))
        for (_row, hit_id, max_assignments, _batch, hit_type_id, created_at, annotation, expiration,
             parameters) in hits:
            found = by_hit.get(hit_id)
            if not found:
                continue
            if len(found) > 1:  # in order of submission (timestamps as text of one database sort as times)
                found.sort(key=lambda item: (str(item[1].submit_time), item[1].assignment_id))
            hit_type = described_hit_type(hit_type_id)
            yield HITFacts(
                hit_id, hit_type_id, hit_type.title, hit_type.description, hit_type.keywords or "",
                hit_type.reward_cents, created_at, max_assignments, annotation or "",
                hit_type.assignment_duration, hit_type.auto_approval_delay, expiration, batch.lifetime,
                _parameters(parameters),
            ), found


def _parameters(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def results_lines(batch: Batch, *, now: dt.datetime | None = None) -> tuple[str, Iterator[str]]:
    """The results CSV's header line and its lines (a generator: rows are read as they are written)."""
    now = now or clock.now()
    answer_fields, workers = answer_fields_and_workers(batch, now)
    writer = results_csv.RowWriter(batch.input_columns or [], answer_fields)
    rates = {pk: writer.rates_part(r) for pk, r in approval_rates(batch.requester, batch.environment, workers,
                                                                    now).items()}
    no_rates = writer.rates_part(results_csv.NO_RATES)

    def lines() -> Iterator[str]:
        for hit, assignments in result_records(batch, now, workers):
            parts = writer.hit_parts(hit)
            for worker_pk, facts in assignments:
                line = writer.line(parts, facts, rates.get(worker_pk, no_rates))
                if line is not None:
                    yield line

    return writer.header_line(), lines()
