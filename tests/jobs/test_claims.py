"""Claims that lapse when their runner dies, expired idempotency tokens, and passes that only read when nothing
is due."""

from __future__ import annotations

import pytest
from django.db import connection

from kempelen.core import idempotency
from kempelen.core.errors import HitAlreadyExists
from kempelen.core.models import AuditEvent, IdempotencyToken
from kempelen.jobs import runner
from kempelen.jobs.models import Job
from kempelen.notifications.models import OutboxEmail
from tests.conftest import OPERATOR, make_requester
from tests.lifecycle.kit import new_hit

from .kit import emails, jobs

pytestmark = pytest.mark.django_db


def test_a_runner_that_dies_holding_a_claim_leaves_the_email_to_another_once_the_claim_lapses(
    settings, mailoutbox, move_clock
):
    emails(2)
    dying = runner.claim_emails(10)  # this runner claims both emails, then dies before sending them
    assert len(dying) == 2
    assert runner.send_emails() == 0  # another runner leaves claimed emails alone
    listed = jobs().out
    assert "Claimed by runners now: 2" in listed
    assert "emails to send                           0" in listed
    move_clock(settings.JOBS_CLAIM_SECONDS - 1)
    assert runner.send_emails() == 0
    move_clock(2)
    assert runner.send_emails() == 2
    assert sorted(m.subject for m in mailoutbox) == ["Message 0", "Message 1"]
    assert list(OutboxEmail.objects.values_list("attempts", flat=True)) == [2, 2]  # the lost claim counts
    assert not Job.objects.exists()
    assert runner.send_emails() == 0


def test_an_email_whose_runners_keep_dying_is_parked_dead(settings, move_clock):
    settings.JOBS_MAX_ATTEMPTS = 2
    emails(1)
    for _ in range(2):
        assert len(runner.claim_emails(10)) == 1
        move_clock(settings.JOBS_CLAIM_SECONDS + 1)
    assert runner.claim_emails(10) == []
    job = Job.objects.get()
    assert (job.status, job.attempts) == ("dead", 2)
    assert "ran out before it finished (attempt 2)" in job.last_error
    assert "email: 1, last error: the claim of runner" in jobs().out


def test_a_runner_marks_only_its_own_claim(mailoutbox, move_clock, settings):
    """A runner that comes back after its claim lapsed and was taken over still records its send, and leaves the
    new claim alone: the email counts as delivered once, and the other runner's claim ends as usual."""
    emails(1)
    slow = runner.claim_emails(10)[0]
    move_clock(settings.JOBS_CLAIM_SECONDS + 1)
    fast = runner.claim_emails(10)[0]
    assert fast.attempt == slow.attempt + 1
    assert runner.deliver_email(slow)
    assert Job.objects.get().attempts == fast.attempt  # still the other runner's
    assert runner.deliver_email(fast)  # sent twice in all: at least once, as documented
    assert not Job.objects.exists()
    assert OutboxEmail.objects.get().delivered_at is not None


def test_idempotency_tokens_expire_after_24_hours(move_clock):
    r = make_requester().requester
    new_hit(r, token="monday", lifetime=60)
    move_clock(23 * 3600)
    new_hit(r, token="tuesday", lifetime=60)
    move_clock(3600)  # "monday" is 24 hours old now
    tally = runner.run_once()
    assert tally.extra["tokens_purged"] == 1
    assert list(IdempotencyToken.objects.values_list("token", flat=True)) == ["tuesday"]
    assert AuditEvent.objects.get(action="purge_idempotency_tokens").data["count"] == 1
    new_hit(r, token="monday")  # usable again, as on MTurk after 24 hours
    with pytest.raises(HitAlreadyExists):
        new_hit(r, token="tuesday")
    assert runner.run_once().extra["tokens_purged"] == 0


def test_a_backlog_of_expired_tokens_goes_a_chunk_at_a_time(move_clock):
    r = make_requester().requester
    for n in range(5):
        new_hit(r, token=f"token-{n}", lifetime=60)
    move_clock(24 * 3600 + 1)
    assert idempotency.purge_expired(actor=OPERATOR, chunk=2, max_chunks=2) == 4
    assert idempotency.purge_expired(actor=OPERATOR, chunk=2, max_chunks=2) == 1
    assert not IdempotencyToken.objects.exists()


def test_a_pass_with_nothing_due_only_reads(mailoutbox):
    r = make_requester().requester
    new_hit(r, lifetime=3600, token="recent")  # a timer, not due yet, and a token that has not expired
    emails(1)
    assert runner.send_emails() == 1
    statements: list[str] = []

    def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        tally = runner.run_once()
    assert tally.total() == 0
    writes = [sql for sql in statements if sql.split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE", "BEGIN",
                                                                             "SAVEPOINT"}]
    assert statements and writes == []
