"""``kempelen jobs``: the runner's queue and dead items, retries by hand, and one pass on demand."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from typing import TYPE_CHECKING

from kempelen.core.actors import Actor
from kempelen.core.errors import KempelenError

if TYPE_CHECKING:  # the parser is built before Django is set up: no models at import time
    from .models import Job


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="jobs_command")
    sub.add_parser("status", help="queue depth, the oldest due item, dead items with their last error (the default)")
    retry = sub.add_parser("retry", help="try dead items again on the runner's next pass")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("job_id", nargs="?", type=int, help="the job's number, as `kempelen jobs` lists it")
    which.add_argument("--all-dead", action="store_true",
                       help="every dead job, and every dead notification event")
    sub.add_parser("run-once", help="run one pass of the job runner now (for cron and tests)")


def run(args: argparse.Namespace) -> int:
    command = getattr(args, "jobs_command", None) or "status"
    if command == "retry":
        return _retry(args)
    if command == "run-once":
        return _run_once()
    print(status_text())
    return 0


def _operator() -> Actor:
    return Actor.operator(os.environ.get("USER", "cli"))


def _retry(args: argparse.Namespace) -> int:
    from . import actions

    if args.all_dead:
        from kempelen.notifications.actions import retry_dead_events

        jobs = actions.retry_dead_jobs(actor=_operator())
        events = retry_dead_events(actor=_operator())
        print(f"{jobs} dead job{_s(jobs)} and {events} dead notification event{_s(events)} will be tried again "
              "on the runner's next pass.")
        return 0
    try:
        job = actions.retry_job(actor=_operator(), job_id=args.job_id)
    except KempelenError as error:
        print(f"kempelen jobs retry: {error.message}", file=sys.stderr)
        return 1
    print(f"Job {job.pk} ({_item(job)}) will be tried again on the runner's next pass.")
    return 0


def _run_once() -> int:
    from .runner import run_once

    tally = run_once()
    done = {"HITs settled": tally.hits_settled, "emails sent": tally.emails_sent}
    done.update({name.replace("_", " "): n for name, n in tally.extra.items()})
    print("One pass: " + ", ".join(f"{what} {n}" for what, n in done.items()) + ".")
    if tally.skipped:
        print(f"Skipped (waiting to retry, or dead): {', '.join(tally.skipped)}.")
    if tally.failed:
        print(f"Failed: {', '.join(tally.failed)} (see `kempelen jobs`).", file=sys.stderr)
        return 1
    return 0


def status_text() -> str:
    from .queries import overview

    view = overview()
    now = view.at
    lines = [f"Job runner, {now:%Y-%m-%d %H:%M:%S} UTC", "", f"Due now: {view.due}"]
    for queue in view.queues:
        since = f"oldest due {_ago(now, queue.oldest)}" if queue.oldest is not None and queue.due else ""
        lines.append(f"  {queue.what:<34}{queue.due:>8}  {since}".rstrip())
    oldest = view.oldest_due
    if oldest is not None and oldest.oldest is not None:
        lines.append(f"Oldest due: {oldest.what}, due {_ago(now, oldest.oldest)}")
    if view.retrying:
        assert view.next_retry is not None
        lines.append(f"Waiting to be retried: {view.retrying} (the next {_ahead(now, view.next_retry)})")
    if view.claimed:
        lines.append(f"Claimed by runners now: {len(view.claimed)}")
        for job in view.claimed:
            assert job.locked_until is not None
            lines.append(f"  #{job.pk} {_item(job)}: runner {job.locked_by}, attempt {job.attempts}, "
                         f"claim ends {_ahead(now, job.locked_until)}")
    lines.append("")
    if not view.dead_count and not view.dead_events:
        lines.append("Dead: none")
        return "\n".join(lines)
    lines.append(f"Dead: {view.dead_count} job{_s(view.dead_count)}"
                 + (f", {view.dead_events} notification event{_s(view.dead_events)}" if view.dead_events else ""))
    for kind in view.dead:
        lines.append(f"  {kind.kind}: {kind.count}, last error: {_line(kind.last_error)}")
        for job in kind.jobs:
            when = _ago(now, job.finished_at) if job.finished_at else "?"
            lines.append(f"    #{job.pk} {_item(job)}: {job.attempts} attempts, dead since {when}: "
                         f"{_line(job.last_error)}")
        if kind.count > len(kind.jobs):
            lines.append(f"    … and {kind.count - len(kind.jobs)} more (the admin lists them all)")
    if view.dead_events:
        lines.append(f"  notification events: {view.dead_events}, last error: {_line(view.dead_events_error)}")
    lines.append("")
    lines.append("Retry with `kempelen jobs retry ID`, or `kempelen jobs retry --all-dead`.")
    return "\n".join(lines)


def _item(job: Job) -> str:
    return {"hit": f"HIT {job.key}", "email": f"email {job.key}", "step": f"step {job.key}"}.get(job.kind, str(job))


def _line(text: str, width: int = 160) -> str:
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else "(none recorded)"
    return first if len(first) <= width else first[: width - 1] + "…"


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _ago(now: dt.datetime, when: dt.datetime | None) -> str:
    if when is None:
        return "?"
    return f"{_span((now - when).total_seconds())} ago"


def _ahead(now: dt.datetime, when: dt.datetime) -> str:
    seconds = (when - now).total_seconds()
    return "now" if seconds <= 0 else f"in {_span(seconds)}"
