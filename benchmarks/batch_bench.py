"""Publishing a large batch from CSV: rows per second to parse and validate the file, and to publish it.

    .venv/bin/python benchmarks/batch_bench.py --database sqlite|postgresql [--rows 100000] [--chunk 5000] [--changes] [--undo] [--tracemalloc] [--profile ROWS]

A fresh temp `KEMPELEN_DATA_DIR` (for PostgreSQL also a fresh database `kempelen_bench_<pid>` on 127.0.0.1:5432,
dropped at the end) and `kempelen migrate`; then a child process makes a requester with live funds and a project
(a template of about 1 KB with three variables), writes a CSV file of --rows rows (quoted fields with commas,
doubled quotes, line breaks and emoji in some of them), and times, exactly as the requester site runs them:

- parse + validate: `batch_publishing.check_file` (decode, header, every row, every row's question built and
  checked);
- start: `batch_publishing.start_batch` (the file checked again, the HIT type and the batch created, the file kept
  for the batch);
- publish: `batch_publishing.publish` (every chunk: HITs bulk-inserted unpublished, escrow, progress; then the flip
  that makes them visible).

It prints rows per second for each, the peak memory of the child (ru_maxrss; and with --tracemalloc the peak of
Python allocations during each step, which slows the steps down), and verifies afterwards: every row is one
published HIT open to workers, each holding its escrow, and `ledger.queries.problems()` and
`marketplace.invariants.escrow_problems()` are empty. --profile prints where the publish step's time goes
(cProfile, a second batch of --profile-rows rows). The exit status is 1 when verification fails.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api_bench as ab  # the data dir, PostgreSQL and `kempelen` helpers are shared

SELF = str(Path(__file__).resolve())
TARGET_ROWS_PER_SECOND = 10_000

TEMPLATE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Is this caption right?</title>
<script src="https://s3.amazonaws.com/mturk-public/externalHIT_v1.js"></script></head>
<body>
<form name="mturk_form" method="post" id="mturk_form" action="https://www.mturk.com/mturk/externalSubmit">
<input type="hidden" value="" name="assignmentId" id="assignmentId">
<h1>Does the caption describe the picture?</h1>
<p>Look at the picture and read its caption. Answer <strong>yes</strong> if the caption describes what the picture
shows, <strong>no</strong> if it does not, and <strong>unsure</strong> if you cannot tell. Do not guess: unsure is a
fine answer. Each task takes about ten seconds.</p>
<figure><img src="${image_url}" alt="The picture to judge" width="480">
<figcaption>${caption}</figcaption></figure>
<fieldset><legend>Does the caption fit? (item ${item_id})</legend>
<label><input type="radio" name="fits" value="yes" required> yes</label>
<label><input type="radio" name="fits" value="no"> no</label>
<label><input type="radio" name="fits" value="unsure"> unsure</label></fieldset>
<p><label>Anything we should know? <textarea name="comment" rows="2"></textarea></label></p>
<input type="submit" id="submitButton" value="Submit">
</form>
<script>turkSetAssignmentID();</script>
</body></html>"""

CAPTIONS = [
    "A dog catching a frisbee in a park",
    'A sign that says "No parking, except Sundays"',
    "Two cyclists on a mountain road 🚴‍♀️🚴",
    "A bowl of ramen, with egg and spring onions 🍜",
    "Line one of a two-line caption\nand its second line",
    "Café terrace at night, Arles — tables and chairs",
]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def make_csv(rows: int) -> bytes:
    """A file as a spreadsheet writes it: CRLF, quotes only where needed, a BOM in front."""
    import csv
    import io

    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["item_id", "image_url", "caption"])
    for i in range(rows):
        writer.writerow([f"item-{i:07d}", f"https://images.example.org/set-7/{i:07d}.jpg", CAPTIONS[i % len(CAPTIONS)]])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(params: dict[str, Any]) -> dict[str, Any]:
    import tracemalloc

    import django

    django.setup()
    from django.db import connection

    from kempelen.accounts import actions as accounts
    from kempelen.core import clock, ids
    from kempelen.core.actors import Actor
    from kempelen.ledger import actions as ledger
    from kempelen.ledger.queries import problems
    from kempelen.marketplace.actions.batches import batch_cost
    from kempelen.marketplace.invariants import escrow_problems
    from kempelen.marketplace.models import HIT, BatchStatus, HITLayout
    from kempelen.marketplace.queries import open_hits
    from kempelen.requester_site import batch_publishing
    from kempelen.requester_site.models import UploadKind
    from kempelen.requester_site.uploads import keep_upload

    rows, chunk = params["rows"], params["chunk"]
    operator = Actor.operator("batch-bench")
    requester = accounts.create_requester(actor=operator, username="batch-bench", display_name="Batch bench")
    actor = Actor.for_requester(requester, "site")
    now = clock.now()
    layout = HITLayout.objects.create(
        id=ids.entity_id(), requester=requester, environment="live", name="Caption check", html=TEMPLATE,
        frame_height=600, created_at=now, title="Does the caption describe the picture?",
        description="Look at a picture and say whether its caption fits.", keywords="image, caption, check",
        reward_cents=5, max_assignments=3, assignment_duration=600, lifetime=7 * 86400, auto_approval_delay=86400,
    )
    out: dict[str, Any] = {"rows": rows, "chunk": chunk, "vendor": connection.vendor}
    content = make_csv(rows)
    out["file_mb"] = len(content) / 1e6
    funds = batch_cost(layout, 2 * rows + params["profile"]).total_cents * 2 + 100_000
    ledger.deposit(requester=requester, environment="live", cents=funds, key="bench-deposit", actor=operator)
    out["rss_before_mb"] = _rss_mb()

    backend = None
    if connection.vendor == "postgresql":  # the server process serving this connection, on this machine
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]

    def db_cpu() -> float:
        return ab.pids_cpu_seconds([backend]).get(backend, 0.0) if backend else 0.0

    def timed(name: str, step: Any) -> Any:
        if params["tracemalloc"]:
            tracemalloc.start()
        started, cpu, db = time.perf_counter(), time.process_time(), db_cpu()
        result = step()
        out[f"{name}_s"] = time.perf_counter() - started
        out[f"{name}_cpu_s"] = time.process_time() - cpu
        if backend:
            out[f"{name}_db_cpu_s"] = db_cpu() - db
        if params["tracemalloc"]:
            out[f"{name}_tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
        out[f"{name}_rss_mb"] = _rss_mb()
        return result

    columns, counted = timed("validate", lambda: batch_publishing.check_file(content, layout))
    assert counted == rows and columns == ["item_id", "image_url", "caption"], (counted, columns)
    upload = keep_upload(actor=actor, requester=requester, environment="live", kind=UploadKind.BATCH_INPUT,
                         filename="captions.csv", content=content, subject_id=layout.pk)
    batch = timed("start", lambda: batch_publishing.start_batch(
        actor=actor, requester=requester, environment="live", layout_id=layout.pk, upload_id=upload.pk,
        name="Benchmark batch"))
    # The flip (the last, short transaction) timed on its own too.
    finish = batch_publishing.actions.finish_batch

    def timed_finish(**kwargs: Any) -> Any:
        started, cpu, db = time.perf_counter(), time.process_time(), db_cpu()
        result = finish(**kwargs)
        out["flip_s"], out["flip_cpu_s"] = time.perf_counter() - started, time.process_time() - cpu
        if backend:
            out["flip_db_cpu_s"] = db_cpu() - db
        return result

    batch_publishing.actions.finish_batch = timed_finish  # type: ignore[assignment]
    batch = timed("publish", lambda: batch_publishing.publish(batch.pk, actor=actor, chunk_rows=chunk))
    batch_publishing.actions.finish_batch = finish  # type: ignore[assignment]
    out["status"] = batch.status
    out["error"] = batch.error

    started = time.perf_counter()
    hits = HIT.objects.filter(batch=batch)
    out["hits"] = hits.count()
    out["published_hits"] = hits.filter(published=True).count()
    out["open_to_workers"] = open_hits("live").filter(batch=batch).count()
    out["rows_covered"] = hits.values("batch_row").distinct().count()
    out["ledger_problems"] = problems()[:10]
    out["escrow_problems"] = escrow_problems()[:10]
    out["verify_s"] = time.perf_counter() - started
    out["ok"] = (batch.status == BatchStatus.PUBLISHED and out["hits"] == rows == out["published_hits"]
                 == out["open_to_workers"] == out["rows_covered"] and not out["ledger_problems"]
                 and not out["escrow_problems"])

    if params["changes"]:
        # The published batch changed as a whole: one action each, timed.
        from kempelen.marketplace import actions

        def change(action: Any, **kwargs: Any) -> Any:
            return action(actor=actor, requester=requester, environment="live", batch_id=batch.pk, **kwargs)

        timed("add", lambda: change(actions.add_batch_assignments, count=1))
        timed("extend", lambda: change(actions.extend_batch, seconds=86400))
        timed("cancel", lambda: change(actions.cancel_batch))
        out["ledger_problems"] += problems()[:10]
        out["escrow_problems"] += escrow_problems()[:10]
        out["ok"] = out["ok"] and not out["ledger_problems"] and not out["escrow_problems"]

    if params["undo"]:
        # A batch written up to its last chunk, then failed: the undo removes its HITs and releases their escrow.
        from kempelen.marketplace import actions

        upload = keep_upload(actor=actor, requester=requester, environment="live", kind=UploadKind.BATCH_INPUT,
                             filename="undo.csv", content=content, subject_id=layout.pk)
        doomed = batch_publishing.start_batch(actor=actor, requester=requester, environment="live",
                                              layout_id=layout.pk, upload_id=upload.pk, name="Undone batch")
        batch_publishing.publish(doomed.pk, actor=actor, chunk_rows=chunk, max_chunks=-(-rows // chunk) - 1)
        out["undo_hits"] = HIT.objects.filter(batch=doomed).count()
        timed("undo", lambda: actions.fail_batch(actor=actor, batch_id=doomed.pk, error="benchmark"))
        out["undo_left"] = HIT.objects.filter(batch=doomed).count()
        out["ledger_problems"] += problems()[:10]
        out["escrow_problems"] += escrow_problems()[:10]
        out["ok"] = out["ok"] and out["undo_left"] == 0 and not out["ledger_problems"] and not out["escrow_problems"]

    if params["profile"]:
        import cProfile
        import io
        import pstats

        small = make_csv(params["profile"])
        upload = keep_upload(actor=actor, requester=requester, environment="live", kind=UploadKind.BATCH_INPUT,
                             filename="profile.csv", content=small, subject_id=layout.pk)
        second = batch_publishing.start_batch(actor=actor, requester=requester, environment="live",
                                              layout_id=layout.pk, upload_id=upload.pk, name="Profiled batch")
        profiler = cProfile.Profile()
        profiler.enable()
        batch_publishing.publish(second.pk, actor=actor, chunk_rows=chunk)
        profiler.disable()
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(18)
        stats.sort_stats("cumulative").print_stats(25)
        print(text.getvalue(), flush=True)
    return out


def run_child(instance: ab.Instance, params: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, SELF, "--child", "--params", json.dumps(params)], env=instance.env,
                          capture_output=True, text=True, timeout=3600, cwd=instance.data_dir)
    if done.returncode != 0:
        raise SystemExit(f"child failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    printed, _, result = done.stdout.rpartition("@@JSON@@")
    if printed.strip():
        print(printed, flush=True)
    return json.loads(result)  # type: ignore[no-any-return]


def report(r: dict[str, Any]) -> list[str]:
    rows = r["rows"]
    lines = [f"Batch publishing benchmark on {r['vendor']}: {rows:,} rows ({r['file_mb']:.1f} MB CSV), "
             f"chunks of {r['chunk']:,}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"]
    for name, label in (("validate", "parse + validate"), ("start", "start (validate again, create the batch)"),
                        ("publish", "publish (write every chunk, then flip)")):
        seconds = r[f"{name}_s"]
        rate = rows / seconds if seconds else float("inf")
        mark = "" if name == "start" else ("  ok" if rate >= TARGET_ROWS_PER_SECOND else "  MISSED 10,000 rows/s")
        memory = f", tracemalloc peak {r[f'{name}_tracemalloc_peak_mb']:.0f} MB" if f"{name}_tracemalloc_peak_mb" in r else ""
        database = f", database server CPU {r[f'{name}_db_cpu_s']:.2f} s" if f"{name}_db_cpu_s" in r else ""
        lines.append(f"  {label:<42} {seconds:7.2f} s  {rate:10,.0f} rows/s  (CPU {r[f'{name}_cpu_s']:.2f} s"
                     f"{database}{memory}){mark}")
        if name == "publish":
            database = f", database server CPU {r['flip_db_cpu_s']:.2f} s" if "flip_db_cpu_s" in r else ""
            lines.append(f"    of which the flip (one transaction)       {r['flip_s']:7.2f} s"
                         f"{'':22}(CPU {r['flip_cpu_s']:.2f} s{database})")
    lines.append(f"  peak RSS of the process: {r['publish_rss_mb']:.0f} MB (before loading the file: "
                 f"{r['rss_before_mb']:.0f} MB)")
    lines.append(f"  verified in {r['verify_s']:.1f} s: batch {r['status']}, {r['hits']:,} HITs, {r['published_hits']:,} "
                 f"published, {r['open_to_workers']:,} open to workers, {r['rows_covered']:,} rows covered; ledger "
                 f"problems {len(r['ledger_problems'])}, escrow problems {len(r['escrow_problems'])}"
                 + (f"; error: {r['error']}" if r["error"] else ""))
    for name, label in (("add", "add 1 assignment to every task"), ("extend", "extend every task by a day"),
                        ("cancel", "cancel (expire all, release escrow)")):
        if f"{name}_s" in r:
            database = f", database server CPU {r[f'{name}_db_cpu_s']:.2f} s" if f"{name}_db_cpu_s" in r else ""
            lines.append(f"  {label:<42} {r[f'{name}_s']:7.2f} s  (CPU {r[f'{name}_cpu_s']:.2f} s{database})")
    if "undo_s" in r:
        database = f", database server CPU {r['undo_db_cpu_s']:.2f} s" if "undo_db_cpu_s" in r else ""
        lines.append(f"  undo of a batch failed after {r['undo_hits']:,} rows: {r['undo_s']:.2f} s "
                     f"(CPU {r['undo_cpu_s']:.2f} s{database}), {r['undo_left']} HITs left")
    lines.append("  OK" if r["ok"] else "  !! VERIFICATION FAILED: " + json.dumps(
        {k: r[k] for k in ("ledger_problems", "escrow_problems", "error")}))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=5_000, help="rows per transaction while publishing")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    parser.add_argument("--changes", action="store_true",
                        help="also time adding assignments to, extending and cancelling the published batch")
    parser.add_argument("--undo", action="store_true", help="also time undoing a batch that failed at its last chunk")
    parser.add_argument("--profile", type=int, default=0, metavar="ROWS",
                        help="then profile publishing a second batch of ROWS rows")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir (and the PostgreSQL database)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = child(json.loads(args.params))
        print("@@JSON@@" + json.dumps(result, default=str), flush=True)
        return 0
    instance = ab.prepare(args.database)
    try:
        ab.kempelen(instance, "migrate", timeout=600)
        log("migrated")
        result = run_child(instance, {"rows": args.rows, "chunk": args.chunk, "tracemalloc": args.tracemalloc,
                                      "profile": args.profile, "undo": args.undo,
                                      "changes": args.changes})
        print("\n".join(report(result)), flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2, default=str))
        return 0 if result["ok"] else 1
    finally:
        ab.teardown(instance, args.keep)


if __name__ == "__main__":
    sys.exit(main())
