"""Downloading a batch's results CSV from a real `kempelen serve`: a batch of 1,000,000 submitted assignments.

    .venv/bin/python benchmarks/results_bench.py --database sqlite|postgresql [--rows 1000000] [--per-hit 2]

Setup fills a fresh database (bulk inserts, timed separately) with one requester's batch: a project (layout),
its HIT type, ``rows / per-hit`` HITs tagged with the batch and their row, and ``rows`` submitted assignments
by --workers workers (70% Submitted, 25% Approved, 5% Rejected), each with a QuestionFormAnswers answer as a
form post makes it (a radio, same-name checkboxes, free text with quotes, commas and accents). The ledger gets
what CreateHIT, ApproveAssignment and RejectAssignment would have booked (per chunk, not per assignment), so
the ledger and escrow invariants hold. A small batch (--small rows) is filled as well.

Then `kempelen serve` starts (no job runner) and the requester downloads the small batch's CSV, then the large
one's, over HTTP with a session cookie, as a browser would. For each download: time to the first byte (the
first pass over the answers happens before it), total time, rows per second, bytes; the serving process's
resident memory before, and its peak (VmHWM from /proc) after; the server's CPU and, on PostgreSQL, the
database backends' CPU. The rows are counted as they arrive and the header checked. Equal peaks for the
small and the large download show that memory does not grow with the batch. --profile N then writes N rows
in-process under cProfile to show where the time goes. See benchmarks/README.md and docs/requester-site/results.md.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import os
import pstats
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api_bench as ab  # the server, /proc and PostgreSQL helpers are shared

TARGET_ROWS_PER_S = 30_000
SELF = str(Path(__file__).resolve())
TEMPLATE = """<form><p>${sentence}</p><img src="${image_url}" alt="">
<label><input type="radio" name="sentiment" value="positive"> positive</label>
<label><input type="radio" name="sentiment" value="negative"> negative</label>
<label><input type="checkbox" name="tags" value="food"> food</label>
<label><input type="checkbox" name="tags" value="service"> service</label>
<label><input type="checkbox" name="tags" value="price"> price</label>
<textarea name="comment"></textarea></form>"""
SENTENCES = ["The soup was lovely.", "The delivery came two days late.", "I would not buy this again.",
             "Friendly staff and a clean room.", "The battery lasts all day.", 'It is "fine", I guess.',
             "Terrible customer service, honestly.", "Trop cher pour ce que c'est.", "Das Essen war köstlich.",
             "The park is beautiful in spring."]
COMMENTS = ["", "", "Clear.", "Hard to say, maybe positive.", 'The word "late" decides it.', "Très clair.",
            "Sarcastic?", "Mentions price and service", "ok", "No comment, thanks."]


def log(message: str) -> None:
    print(f"[results-bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- Filling the database (a child process with Django set up) -------------------------------------------------


def child_fill(params: dict[str, Any]) -> dict[str, Any]:
    """Fill two batches (small, large) for the requester ``bench``; returns their ids and the timings."""
    import datetime as dt
    from collections import Counter, defaultdict

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.db.models import F

    from kempelen.accounts.models import Requester, Worker
    from kempelen.core import clock, ids
    from kempelen.core.actors import Actor
    from kempelen.core.money import reward_fee
    from kempelen.ledger import actions as ledger
    from kempelen.ledger.models import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction
    from kempelen.marketplace import actions
    from kempelen.marketplace.models import HIT, Assignment, Batch, BatchStatus, HITLayout
    from kempelen.questions.answers import answers_from_form_post
    from kempelen.questions.layouts import layout_as_html_question, render_layout

    rng = random.Random(params["seed"])
    operator = Actor.operator("results-bench")
    requester = Requester.objects.get(user__username="bench")
    timings: dict[str, float] = {}
    started = time.perf_counter()

    # Workers: created in bulk (users with unusable passwords), each with its earnings account.
    t = time.perf_counter()
    User = get_user_model()
    now = clock.now()
    users = User.objects.bulk_create([User(username=f"rw{i:05d}", password="!") for i in range(params["workers"])])
    workers = Worker.objects.bulk_create([
        Worker(user=u, worker_id=ids.worker_id(), display_name=f"Bench worker {i}", country="US", created_at=now)
        for i, u in enumerate(users)])
    for w in workers:
        ledger.ensure_worker_account(w, "live")
    timings["workers"] = time.perf_counter() - t

    reward = 5
    hit_type = actions.create_hit_type(
        actor=operator, requester=requester, environment="live", title="Rate the sentiment of a review",
        description="Say whether a short review is positive or negative, and tag it.", reward_cents=reward,
        assignment_duration=600, auto_approval_delay=3 * 86400, keywords="sentiment, reviews, benchmark",
    )
    accounts = {
        "available": ledger.account_for(AccountKind.REQUESTER_AVAILABLE, "live", requester=requester),
        "escrow": ledger.account_for(AccountKind.REQUESTER_ESCROW, "live", requester=requester),
        "fees": ledger.account_for(AccountKind.PLATFORM_FEES, "live"),
    }
    earnings = {w.pk: ledger.account_for(AccountKind.WORKER_EARNINGS, "live", worker=w).pk for w in workers}
    answers = [answers_from_form_post(
        [("sentiment", rng.choice(["positive", "negative"]))]
        + [("tags", tag) for tag in ("food", "service", "price") if rng.random() < 0.4]
        + [("comment", rng.choice(COMMENTS))]) for _ in range(2000)]

    def fill_batch(name: str, rows: int, per_hit: int) -> dict[str, Any]:
        n_hits = max(1, rows // per_hit)
        unit = reward + reward_fee(reward, per_hit, masters=False)
        fee = unit - reward
        lifetime = 14 * 86400
        layout = HITLayout.objects.create(
            id=ids.entity_id(), requester=requester, environment="live", name=name, html=TEMPLATE,
            created_at=now, title=hit_type.title, description=hit_type.description, reward_cents=reward,
            max_assignments=per_hit, lifetime=lifetime, auto_approval_delay=hit_type.auto_approval_delay)
        batch = Batch.objects.create(
            id=ids.entity_id(), requester=requester, environment="live", layout=layout, hit_type=hit_type,
            name=name, input_columns=["sentence", "image_url"], row_count=n_hits, assignments_per_row=per_hit,
            lifetime=lifetime, status=BatchStatus.PUBLISHED, rows_published=n_hits, created_at=now - dt.timedelta(days=6),
            published_at=now - dt.timedelta(days=6))
        ledger.deposit(requester=requester, environment="live", cents=n_hits * per_hit * unit + 100_000,
                       key=f"deposit:results-bench:{batch.pk}", actor=operator, memo="Benchmark fill")
        by_status: Counter = Counter()
        t_hits = t_assignments = t_ledger = 0.0
        for start in range(0, n_hits, params["chunk"]):
            count = min(params["chunk"], n_hits - start)
            hits, assignments = [], []
            pay: dict[int, int] = defaultdict(int)
            approved_n = rejected_n = 0
            t0 = time.perf_counter()
            for row in range(start, start + count):
                created = now - dt.timedelta(days=6) + dt.timedelta(seconds=row * 0.2)
                values = {"sentence": SENTENCES[row % len(SENTENCES)], "image_url": f"https://img.example/{row}.png"}
                hit = HIT(
                    id=ids.entity_id(), hit_type=hit_type, requester=requester, environment="live", layout=layout,
                    layout_parameters=values, question=layout_as_html_question(render_layout(TEMPLATE, values), 0),
                    requester_annotation=f"BatchId:{batch.pk};", max_assignments=per_hit, available=0,
                    created_at=created, expiration=created + dt.timedelta(seconds=lifetime), unit_cost_cents=unit,
                    last_activity_at=created, batch=batch, batch_row=row)
                submitted = 0
                due = [hit.expiration]
                for k in range(per_hit):
                    worker = workers[(row * per_hit + k) % len(workers)]
                    roll = rng.random()
                    status = "Submitted" if roll < 0.70 else "Approved" if roll < 0.95 else "Rejected"
                    # Submitted work is recent (its auto-approval still ahead); reviewed work older.
                    accept = (now - dt.timedelta(hours=rng.uniform(1, 40)) if status == "Submitted"
                              else created + dt.timedelta(minutes=rng.uniform(1, 600)))
                    submit = accept + dt.timedelta(seconds=rng.randint(20, 500))
                    a = Assignment(
                        id=ids.entity_id(), hit=hit, worker=worker, requester=requester, environment="live",
                        status=status, accept_time=accept, deadline=accept + dt.timedelta(seconds=600),
                        submit_time=submit, auto_approval_time=submit + dt.timedelta(days=3),
                        answer=answers[rng.randrange(len(answers))])
                    if status == "Submitted":
                        submitted += 1
                        due.append(a.auto_approval_time)
                    elif status == "Approved":
                        a.approval_time, a.paid = submit + dt.timedelta(hours=2), True
                        pay[worker.pk] += reward
                        approved_n += 1
                    else:
                        a.rejection_time, a.requester_feedback = submit + dt.timedelta(hours=2), "Wrong sentiment."
                        rejected_n += 1
                    by_status[status] += 1
                    assignments.append(a)
                hit.submitted, hit.completed = submitted, per_hit - submitted
                hit.escrow_cents = submitted * unit
                hit.expiry_settled = False
                hit.next_due_at = min(due)
                hits.append(hit)
            t1 = time.perf_counter()
            with transaction.atomic():
                HIT.objects.bulk_create(hits, batch_size=1000)
                t2 = time.perf_counter()
                Assignment.objects.bulk_create(assignments, batch_size=2000)
                t3 = time.perf_counter()
                reserved = count * per_hit * unit
                paid, released = approved_n * unit, rejected_n * unit

                def book(kind: str, legs: list[tuple[int, int]], memo: str, start: int = start) -> None:
                    txn = LedgerTransaction.objects.create(
                        idempotency_key=f"{kind}:bench:{batch.pk}:{start}", kind=kind, environment="live",
                        created_at=now, memo=memo, actor=str(operator), requester=requester)
                    LedgerEntry.objects.bulk_create([LedgerEntry(transaction=txn, account_id=acct, amount_cents=c)
                                                     for acct, c in legs if c])

                book("escrow_reserve", [(accounts["available"].pk, -reserved), (accounts["escrow"].pk, reserved)],
                     f"Escrow for HITs {start}-{start + count} of batch {batch.pk}")
                if paid:
                    book("assignment_payment", [(accounts["escrow"].pk, -paid), (accounts["fees"].pk, approved_n * fee)]
                         + [(earnings[w], cents) for w, cents in pay.items()], "Payments (benchmark fill)")
                if released:
                    book("escrow_release", [(accounts["escrow"].pk, -released), (accounts["available"].pk, released)],
                         "Rejections (benchmark fill)")
                LedgerAccount.objects.filter(pk=accounts["available"].pk).update(
                    balance_cents=F("balance_cents") - reserved + released)
                LedgerAccount.objects.filter(pk=accounts["escrow"].pk).update(
                    balance_cents=F("balance_cents") + reserved - paid - released)
                t4 = time.perf_counter()
            t_hits += t2 - t1 + (t1 - t0)
            t_assignments += t3 - t2
            t_ledger += t4 - t3
        return {"batch": batch.pk, "hits": n_hits, "assignments": sum(by_status.values()),
                "by_status": dict(by_status), "seconds": {"hits (build + insert)": t_hits,
                                                          "assignments": t_assignments, "ledger": t_ledger}}

    small = fill_batch("Small batch", params["small"], params["per_hit"])
    t = time.perf_counter()
    large = fill_batch("Large batch", params["rows"], params["per_hit"])
    timings["large batch"] = time.perf_counter() - t
    t = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    timings["analyze"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    size = {}
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute("PRAGMA page_size")
            size["database_mb"] = pages * cursor.fetchone()[0] / 1e6
        else:
            cursor.execute("SELECT pg_database_size(current_database())")
            size["database_mb"] = cursor.fetchone()[0] / 1e6
    return {"small": small, "large": large, "timings": timings, "size": size}


def child_session(params: dict[str, Any]) -> dict[str, Any]:
    """A signed-in session for the requester, working in the live environment (made as Django's login makes it)."""
    from importlib import import_module

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model

    from kempelen.requester_site.decorators import ENVIRONMENT_KEY

    user = get_user_model().objects.get(username="bench")
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[ENVIRONMENT_KEY] = "live"
    session.create()
    return {"cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}"}


def child_profile(params: dict[str, Any]) -> dict[str, Any]:
    """Write the first N rows of the large batch's CSV in-process, with no HTTP: timed plainly, then (at most
    200,000 rows) under cProfile."""
    import django

    django.setup()
    from kempelen.marketplace.models import Batch
    from kempelen.requester_site import queries_results, results_csv

    batch = Batch.objects.get(pk=params["batch"])

    first_pass_cpu = 0.0

    def write(limit: int) -> tuple[float, float, int, int]:
        nonlocal first_pass_cpu
        started, cpu = time.perf_counter(), time.process_time()
        header, rows = queries_results.results_lines(batch)
        first_pass = time.perf_counter() - started
        first_pass_cpu = time.process_time() - cpu
        written = size = 0

        def limited():  # type: ignore[no-untyped-def]
            nonlocal written
            for row in rows:
                yield row
                written += 1
                if written >= limit:
                    return

        for chunk in results_csv.encode(header, limited()):
            size += len(chunk)
        return time.perf_counter() - started, first_pass, written, size

    cpu = time.process_time()
    seconds, first_pass, written, size = write(params["rows"])
    cpu = time.process_time() - cpu
    first_cpu = first_pass_cpu
    profiler = cProfile.Profile()
    profiler.enable()
    write(min(params["rows"], 200_000))
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
    print(out.getvalue())
    return {"rows": written, "seconds": seconds, "cpu_seconds": cpu, "first_pass_seconds": first_pass,
            "first_pass_cpu_seconds": first_cpu, "bytes": size}


def run_child(instance: ab.Instance, mode: str, params: dict[str, Any], timeout: float = 7200) -> dict[str, Any]:
    done = subprocess.run([sys.executable, SELF, "--child", mode, "--params", json.dumps(params)], env=instance.env,
                          capture_output=True, text=True, timeout=timeout, cwd=instance.data_dir)
    if done.returncode != 0:
        raise SystemExit(f"child {mode} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    if mode == "profile":
        print(done.stdout.rsplit("@@JSON@@", 1)[0], flush=True)
    return json.loads(done.stdout.rsplit("@@JSON@@", 1)[-1].strip())  # type: ignore[no-any-return]


# --- Measuring a download -------------------------------------------------------------------------------------------


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def http_workers(instance: ab.Instance) -> list[int]:
    assert instance.server is not None
    return [p for p in ab._descendants(instance.server.pid) if p != instance.server.pid]


class RssSampler(threading.Thread):
    """The resident memory of every HTTP worker process, sampled every 0.1 s while a download runs."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.peak: dict[int, int] = {p: _status_kb(p, "VmRSS") for p in pids}
        self.done = threading.Event()
        self.start()

    def run(self) -> None:
        while not self.done.wait(0.1):
            for p in self.pids:
                self.peak[p] = max(self.peak[p], _status_kb(p, "VmRSS"))

    def stop(self) -> dict[int, int]:
        self.done.set()
        self.join()
        return self.peak


def download(instance: ab.Instance, cookie: str, batch_id: str, expected_rows: int) -> dict[str, Any]:
    pids = http_workers(instance)
    before = {p: _status_kb(p, "VmRSS") for p in pids}
    cpu_before = ab.pids_cpu_seconds(pids)
    server_cpu_before = ab.process_tree_cpu_seconds(instance.server.pid)  # type: ignore[union-attr]
    backends = ab.BackendSampler(instance.pg_name) if instance.pg_name else None
    sampler = RssSampler(pids)
    conn = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=600)
    started = time.perf_counter()
    conn.request("GET", f"/requester/batches/{batch_id}/results/download", headers={"Cookie": cookie})
    response = conn.getresponse()
    if response.status != 200:
        raise SystemExit(f"download answered {response.status}: {response.read()[:2000]!r}")
    first = response.read1(65536)
    first_byte = time.perf_counter() - started
    header_line = first.split(b"\r\n", 1)[0]
    lines = first.count(b"\n")
    size = len(first)
    tail = first[-2000:]
    while True:
        chunk = response.read1(262144)
        if not chunk:
            break
        size += len(chunk)
        lines += chunk.count(b"\n")
        tail = (tail + chunk)[-2000:]
    total = time.perf_counter() - started
    conn.close()
    peaks = sampler.stop()
    backend_cpu = backends.stop() if backends else float("nan")
    cpu_after = ab.pids_cpu_seconds(pids)
    served_by = max(pids, key=lambda p: cpu_after.get(p, 0) - cpu_before.get(p, 0))
    rows = lines - 1  # the bench's answers have no line breaks inside fields
    return {
        "rows": rows, "expected_rows": expected_rows, "bytes": size, "seconds": total,
        "first_byte_seconds": first_byte, "rows_per_s": rows / total,
        "stream_rows_per_s": rows / max(total - first_byte, 1e-9),
        "header_ok": header_line.startswith(b'"HITId","HITTypeId","Title"') and header_line.endswith(b'"Approve","Reject"'),
        "last_line_ok": tail.endswith(b'"",""\r\n'),
        "serving_pid": served_by, "rss_before_mb": before[served_by] / 1024, "rss_peak_mb": peaks[served_by] / 1024,
        "vmhwm_mb": _status_kb(served_by, "VmHWM") / 1024,
        "server_cpu_s": ab.process_tree_cpu_seconds(instance.server.pid) - server_cpu_before,  # type: ignore[union-attr]
        "serving_cpu_s": cpu_after.get(served_by, 0) - cpu_before.get(served_by, 0),
        "db_cpu_s": backend_cpu,
    }


def page_latency(instance: ab.Instance, cookie: str, batch_id: str, times: int = 3) -> float:
    """Median seconds to load the results page (its first page, the counts and the table) of a batch."""
    found = []
    for _ in range(times):
        conn = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=600)
        started = time.perf_counter()
        conn.request("GET", f"/requester/batches/{batch_id}/results", headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        found.append(time.perf_counter() - started)
        conn.close()
        if response.status != 200:
            raise SystemExit(f"results page answered {response.status}")
    return sorted(found)[len(found) // 2]


def launch(instance: ab.Instance, workers: int, threads: int) -> None:
    instance.port = ab.free_port()
    server_log = open(instance.data_dir / "server.log", "w")  # noqa: SIM115 (closed with the process)
    instance.server = subprocess.Popen(
        [ab.KEMPELEN, "serve", "--host", "127.0.0.1", "--port", str(instance.port), "--no-jobs",
         "--workers", str(workers), "--threads", str(threads)],
        env=instance.env, stdout=server_log, stderr=subprocess.STDOUT, cwd=instance.data_dir, start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if instance.server.poll() is not None:
            raise SystemExit(f"kempelen serve exited with {instance.server.returncode}:\n{ab.server_log_text(instance)}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=2)
            conn.request("GET", "/requester/login")
            conn.getresponse().read()
            conn.close()
            log(f"server answering on {instance.url} (pid {instance.server.pid}, {workers} workers x {threads} "
                "threads, no job runner)")
            time.sleep(1)  # let every worker finish booting before measuring their memory
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("kempelen serve did not answer within 90 s")


def reuse(path: str) -> tuple[ab.Instance, dict[str, Any]]:
    """An instance filled by an earlier run with --keep (its data dir), and what that fill made."""
    data_dir = Path(path)
    fill = json.loads((data_dir / "fill.json").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEMPELEN_")}
    env.update(KEMPELEN_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="kempelen.settings",
               KEMPELEN_LOG_LEVEL="WARNING")
    instance = ab.Instance(database=fill["database"], data_dir=data_dir, env=env, pg_name=fill.get("pg_name"))
    if instance.pg_name:
        env["KEMPELEN_DATABASE_URL"] = f"{ab.PG_BASE_URL}/{instance.pg_name}"
    log(f"reusing {data_dir}" + (f" and database {instance.pg_name}" if instance.pg_name else ""))
    return instance, fill


def run(args: argparse.Namespace) -> int:
    if args.reuse:
        instance, fill = reuse(args.reuse)
        args.database = instance.database
    else:
        instance = ab.prepare(args.database)
    failures: list[str] = []
    out: dict[str, Any] = {"database": args.database, "cpus": os.cpu_count(), "args": vars(args)}
    try:
        if not args.reuse:
            log(ab.kempelen(instance, "create-requester", "bench", "--name", "Benchmark requester").splitlines()[0])
            log(f"filling: {args.rows:,} submitted assignments ({args.per_hit} per HIT) and a batch of {args.small:,}")
            fill = run_child(instance, "fill", {"seed": 1, "rows": args.rows, "small": args.small,
                                                "per_hit": args.per_hit, "workers": args.workers, "chunk": 5000})
            fill.update(database=args.database, pg_name=instance.pg_name)
            (instance.data_dir / "fill.json").write_text(json.dumps(fill))
        out["fill"] = fill
        log(f"fill: {fill['timings']['total']:.0f} s (large batch {fill['timings']['large batch']:.0f} s: "
            + ", ".join(f"{k} {v:.0f} s" for k, v in fill["large"]["seconds"].items())
            + f"; ANALYZE {fill['timings']['analyze']:.0f} s); database {fill['size']['database_mb']:.0f} MB")
        cookie = run_child(instance, "session", {})["cookie"]
        launch(instance, args.http_workers, args.http_threads)
        results = {}
        for name in ("small", "large"):
            batch = fill[name]
            log(f"downloading the {name} batch ({batch['assignments']:,} rows)")
            results[name] = r = download(instance, cookie, batch["batch"], batch["assignments"])
            log(f"  {r['rows']:,} rows, {r['bytes'] / 1e6:.1f} MB in {r['seconds']:.1f} s "
                f"(first byte after {r['first_byte_seconds']:.1f} s): {r['rows_per_s']:,.0f} rows/s; "
                f"serving process RSS {r['rss_before_mb']:.0f} MB before, peak {r['rss_peak_mb']:.0f} MB")
            if r["rows"] != batch["assignments"]:
                failures.append(f"{name}: {r['rows']} rows downloaded, {batch['assignments']} submitted")
            if not (r["header_ok"] and r["last_line_ok"]):
                failures.append(f"{name}: the file does not start with MTurk's header or end with a whole row")
        out["downloads"] = results
        out["page_seconds"] = page_latency(instance, cookie, fill["large"]["batch"])
        ab.stop_server(instance)
        faults = [line for line in ab.server_log_text(instance).splitlines()
                  if "Traceback" in line or " ERROR " in line or "[CRITICAL]" in line]
        if faults:
            failures.append(f"{len(faults)} error lines in the server log, e.g. {faults[0][:200]}")

        large, small = results["large"], results["small"]
        width = 86
        print()
        print("=" * width)
        print(f"Kempelen results-CSV benchmark on {args.database}: {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f}")
        print("=" * width)
        print(f"Fill: {fill['timings']['total']:.0f} s; database {fill['size']['database_mb']:.0f} MB; large batch "
              f"{fill['large']['hits']:,} HITs, {fill['large']['assignments']:,} assignments {fill['large']['by_status']}")
        print(f"{'download':<10}{'rows':>11}{'MB':>8}{'1st byte s':>11}{'total s':>9}{'rows/s':>9}{'stream r/s':>11}"
              f"{'RSS MB':>8}{'peak MB':>8}{'CPU s':>7}{'µs/row':>7}{'db CPU s':>9}")
        for name, r in results.items():
            db = "-" if r["db_cpu_s"] != r["db_cpu_s"] else f"{r['db_cpu_s']:.1f}"
            print(f"{name:<10}{r['rows']:>11,}{r['bytes'] / 1e6:>8.0f}{r['first_byte_seconds']:>11.1f}"
                  f"{r['seconds']:>9.1f}{r['rows_per_s']:>9,.0f}{r['stream_rows_per_s']:>11,.0f}"
                  f"{r['rss_before_mb']:>8.0f}{r['rss_peak_mb']:>8.0f}{r['serving_cpu_s']:>7.1f}"
                  f"{r['serving_cpu_s'] / max(r['rows'], 1) * 1e6:>7.0f}{db:>9}")
        growth = large["rss_peak_mb"] - small["rss_peak_mb"]
        print(f"Peak memory of the serving process: {small['rss_peak_mb']:.0f} MB for {small['rows']:,} rows, "
              f"{large['rss_peak_mb']:.0f} MB for {large['rows']:,} rows (difference {growth:+.0f} MB).")
        print(f"Results page of the large batch: {out['page_seconds'] * 1000:.0f} ms (median of 3).")
        verdict = "met" if large["rows_per_s"] >= TARGET_ROWS_PER_S else "MISSED"
        print(f"Target {TARGET_ROWS_PER_S:,} rows/s: {verdict} ({large['rows_per_s']:,.0f} rows/s end to end).")
        print("=" * width, flush=True)
        if args.profile:
            log(f"profile: {args.profile:,} rows in-process under cProfile")
            out["profile"] = run_child(instance, "profile", {"batch": fill["large"]["batch"], "rows": args.profile})
            p = out["profile"]
            log(f"in-process, no HTTP: {p['rows']:,} rows in {p['seconds']:.1f} s ({p['cpu_seconds']:.1f} s CPU; "
                f"first pass over the whole batch {p['first_pass_seconds']:.1f} s, {p['first_pass_cpu_seconds']:.1f} s CPU), "
                f"{p['rows'] / p['seconds']:,.0f} rows/s")
        out["failures"] = failures
        for f in failures:
            print(f"!! {f}")
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=2, default=str))
        return 1 if failures else 0
    finally:
        if args.reuse:
            ab.stop_server(instance)
        elif args.keep and instance.pg_name:
            ab.stop_server(instance)
            log(f"kept {instance.data_dir} and database {instance.pg_name} (drop it yourself)")
        else:
            ab.teardown(instance, args.keep)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000, help="submitted assignments in the large batch")
    parser.add_argument("--small", type=int, default=20_000, help="submitted assignments in the small batch")
    parser.add_argument("--per-hit", type=int, default=2, help="assignments per HIT (row)")
    parser.add_argument("--workers", type=int, default=1000, help="workers who did the work")
    parser.add_argument("--http-workers", type=int, default=2, help="kempelen serve --workers")
    parser.add_argument("--http-threads", type=int, default=4, help="kempelen serve --threads")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="then profile N rows in-process")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir (and the PostgreSQL database)")
    parser.add_argument("--reuse", metavar="DIR", help="download again from the data dir of a run made with --keep")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        handler = {"fill": child_fill, "session": child_session, "profile": child_profile}[args.child]
        result = handler(json.loads(args.params))
        print("@@JSON@@" + json.dumps(result, default=str), flush=True)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # clean up (server, database) when stopped
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
