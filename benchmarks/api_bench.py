"""End-to-end benchmark of the MTurk Requester API: a real `kempelen serve`, real boto3 clients, a simulated crowd.

    .venv/bin/python benchmarks/api_bench.py --database sqlite|postgresql [--seconds 20] [--clients 8] [--workers 10]

Phase A runs a requester mix (CreateHITWithHITType, GetHIT, ListHITs, ListAssignmentsForHIT, ApproveAssignment)
from --clients threads while `kempelen simulate` accepts and submits from a separate process. Phase B measures the
server's CPU time per GetHIT and per CreateHITWithHITType on the quiet server. Afterwards the database is checked
read-only: no HIT over-filled, ledger and escrow invariants hold. See benchmarks/README.md and docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
KEMPELEN = str(VENV_BIN / "kempelen") if (VENV_BIN / "kempelen").exists() else shutil.which("kempelen") or "kempelen"
PG_BASE_URL = "postgresql://postgres@127.0.0.1:5432"

PHASE_B_LIMIT_SECONDS = 120  # per operation; fewer calls than asked are reported as a failure
CPU_TARGET_MS = {"GetHIT": 2.0, "CreateHITWithHITType": 5.0}
MIX_OPERATIONS = ("CreateHITWithHITType", "GetHIT", "ListHITs", "ListAssignmentsForHIT", "ApproveAssignment")

HTML_QUESTION = """<?xml version="1.0" encoding="UTF-8"?>
<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
  <HTMLContent><![CDATA[<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
  <form name="mturk_form" method="post" id="mturk_form" action="https://www.mturk.com/mturk/externalSubmit">
  <input type="hidden" value="" name="assignmentId" id="assignmentId"/>
  <p>Is this sentence positive? <q>The soup was lovely.</q></p>
  <label><input type="radio" name="sentiment" value="positive"/> positive</label>
  <label><input type="radio" name="sentiment" value="negative"/> negative</label>
  <input name="comment" type="text"/>
  <input type="submit" id="submitButton"/></form>
  <script src="https://s3.amazonaws.com/mturk-public/externalHIT_v1.js"></script><script>turkSetAssignmentID();</script>
  </body></html>]]></HTMLContent>
  <FrameHeight>450</FrameHeight>
</HTMLQuestion>"""

HIT_TYPE = dict(
    Title="Rate the sentiment of a sentence (benchmark)",
    Description="Say whether a short sentence is positive or negative.",
    Reward="0.05",
    AssignmentDurationInSeconds=600,
    AutoApprovalDelayInSeconds=86400,
    Keywords="benchmark, sentiment",
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- Server CPU from /proc ----------------------------------------------------------------------------------

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                todo += [int(c) for c in children.read_text().split()]
    return found


def process_tree_cpu_seconds(pid: int) -> float:
    """utime+stime of ``pid`` and every live descendant (gunicorn master and its workers)."""
    ticks = 0
    for p in _descendants(pid):
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return ticks / _CLK_TCK


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine over all cores, from the first line of /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, _steal = values
    return (user + nice + system + irq + softirq) / _CLK_TCK, sum(values) / _CLK_TCK


def pids_cpu_seconds(pids: list[int]) -> dict[int, float]:
    found = {}
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        found[p] = (int(fields[11]) + int(fields[12])) / _CLK_TCK
    return found


class BackendSampler(threading.Thread):
    """CPU of the PostgreSQL backends serving one database, sampled every 0.2 s while a step runs.

    Backends come and go (CONN_MAX_AGE recycles them), so each is read while it lives: one present at the
    start counts from its first reading, one that starts later counts in full (its connection set-up is a
    real cost of the step), one that exits loses at most its last 0.2 s.
    """

    def __init__(self, database: str) -> None:
        super().__init__(daemon=True)
        import psycopg

        self.conn = psycopg.connect(f"{PG_BASE_URL}/{database}", autocommit=True)
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.done = threading.Event()
        self._sample(initial=True)
        self.start()

    def _sample(self, initial: bool = False) -> None:
        pids = [r[0] for r in self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
        for pid, seconds in pids_cpu_seconds(pids).items():
            self.first.setdefault(pid, seconds if initial else 0.0)
            self.last[pid] = seconds

    def run(self) -> None:
        while not self.done.wait(0.2):
            self._sample()

    def stop(self) -> float:
        self.done.set()
        self.join()
        self._sample()
        self.conn.close()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


# --- The server and the database ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Instance:
    database: str
    data_dir: Path
    env: dict[str, str]
    pg_name: str | None = None
    server: subprocess.Popen | None = None
    port: int = 0
    access_key_id: str = ""
    secret: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_BASE_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def prepare(database: str) -> Instance:
    data_dir = Path(tempfile.mkdtemp(prefix=f"kempelen-bench-{database}-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEMPELEN_")}
    env.update(KEMPELEN_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="kempelen.settings",
               KEMPELEN_LOG_LEVEL="WARNING")
    instance = Instance(database=database, data_dir=data_dir, env=env)
    if database == "postgresql":
        instance.pg_name = f"kempelen_bench_{os.getpid()}"
        _pg_admin(f'CREATE DATABASE "{instance.pg_name}"')
        env["KEMPELEN_DATABASE_URL"] = f"{PG_BASE_URL}/{instance.pg_name}"
    log(f"{database}: data dir {data_dir}" + (f", database {instance.pg_name}" if instance.pg_name else ""))
    return instance


def kempelen(instance: Instance, *args: str, timeout: float = 120) -> str:
    done = subprocess.run([KEMPELEN, *args], env=instance.env, capture_output=True, text=True, timeout=timeout,
                          cwd=instance.data_dir)
    if done.returncode != 0:
        raise SystemExit(f"kempelen {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def start_server(instance: Instance, http_workers: int, http_threads: int) -> None:
    out = kempelen(instance, "create-requester", "bench", "--name", "Benchmark requester")
    instance.access_key_id = re.search(r"^AWS_ACCESS_KEY_ID=(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    instance.secret = re.search(r"^AWS_SECRET_ACCESS_KEY=(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    log("funds: " + kempelen(instance, "add-funds", "bench", "1000000").strip())
    instance.port = free_port()
    server_log = open(instance.data_dir / "server.log", "w")  # noqa: SIM115 (closed with the process)
    instance.server = subprocess.Popen(
        [KEMPELEN, "serve", "--host", "127.0.0.1", "--port", str(instance.port), "--no-jobs",
         "--workers", str(http_workers), "--threads", str(http_threads)],
        env=instance.env, stdout=server_log, stderr=subprocess.STDOUT, cwd=instance.data_dir,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if instance.server.poll() is not None:
            raise SystemExit(f"kempelen serve exited with {instance.server.returncode}:\n{server_log_text(instance)}")
        try:
            with urllib.request.urlopen(instance.url + "/", timeout=2) as response:
                if response.status == 200:
                    log(f"server answering on {instance.url} (pid {instance.server.pid}, "
                        f"{http_workers} workers x {http_threads} threads, no job runner)")
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("kempelen serve did not answer within 60 s")


def server_log_text(instance: Instance) -> str:
    try:
        return (instance.data_dir / "server.log").read_text(errors="replace")
    except FileNotFoundError:
        return ""


def stop_server(instance: Instance) -> None:
    server = instance.server
    if server is None or server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)  # gunicorn: graceful shutdown of the master and its workers
    try:
        server.wait(timeout=25)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)  # the session started for this server only
        server.wait(timeout=10)


def teardown(instance: Instance, keep: bool) -> None:
    stop_server(instance)
    if instance.pg_name:
        try:
            _pg_admin(f'DROP DATABASE IF EXISTS "{instance.pg_name}" WITH (FORCE)')
            log(f"dropped database {instance.pg_name}")
        except Exception as error:  # report, but let the run's own result stand
            log(f"could not drop {instance.pg_name}: {error}")
    if keep:
        log(f"kept {instance.data_dir}")
    else:
        shutil.rmtree(instance.data_dir, ignore_errors=True)


# --- Clients ------------------------------------------------------------------------------------------------


def make_client(instance: Instance, pool: int = 4) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    return session.client(
        "mturk", region_name="us-east-1", endpoint_url=instance.url,
        aws_access_key_id=instance.access_key_id, aws_secret_access_key=instance.secret,
        config=Config(max_pool_connections=pool, retries={"mode": "standard", "max_attempts": 3},
                      connect_timeout=10, read_timeout=60),
    )


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    samples: dict[tuple[str, str], str] = field(default_factory=dict)
    retries: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, operation: str, fn: Any, **params: Any) -> Any:
        from botocore.exceptions import ClientError

        started = time.perf_counter()
        try:
            response = fn(**params)
        except ClientError as error:
            elapsed = time.perf_counter() - started
            code = error.response.get("Error", {}).get("Code", "?")
            message = str(error.response.get("Error", {}).get("Message", ""))
            attempts = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
            self._error(operation, code, message, elapsed, attempts)
            return None
        except Exception as error:  # connection refused/reset, timeouts
            self._error(operation, type(error).__name__, str(error), time.perf_counter() - started, 0)
            return None
        elapsed = time.perf_counter() - started
        attempts = response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        with self.lock:
            self.latencies[operation].append(elapsed)
            if attempts:
                self.retries[operation] += attempts
        return response

    def _error(self, operation: str, code: str, message: str, elapsed: float, attempts: int) -> None:
        if "database is locked" in message.lower():
            code = f"{code} (database is locked)"
        with self.lock:
            self.errors[(operation, code)] += 1
            self.samples.setdefault((operation, code), message[:300])
            if attempts:
                self.retries[operation] += attempts


def requester_loop(instance: Instance, stats: Stats, deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    client = make_client(instance)
    created = stats.call("CreateHITType", client.create_hit_type, **HIT_TYPE)
    if created is None:
        return
    hit_type_id = created["HITTypeId"]
    mine: list[str] = []
    while time.monotonic() < deadline:
        response = stats.call(
            "CreateHITWithHITType", client.create_hit_with_hit_type, HITTypeId=hit_type_id, MaxAssignments=3,
            LifetimeInSeconds=3600, Question=HTML_QUESTION, RequesterAnnotation=f"bench-{seed}-{len(mine)}",
        )
        if response is not None:
            mine.append(response["HIT"]["HITId"])
        if not mine:
            continue
        stats.call("GetHIT", client.get_hit, HITId=rng.choice(mine))
        stats.call("ListHITs", client.list_hits, MaxResults=50)
        # The simulated crowd works oldest HITs first; look at an older HIT half the time.
        target = rng.choice(mine[: max(1, len(mine) // 2)]) if rng.random() < 0.5 else rng.choice(mine)
        listed = stats.call("ListAssignmentsForHIT", client.list_assignments_for_hit, HITId=target,
                            AssignmentStatuses=["Submitted"], MaxResults=10)
        for assignment in (listed or {}).get("Assignments", []):
            if time.monotonic() >= deadline:
                break
            stats.call("ApproveAssignment", client.approve_assignment, AssignmentId=assignment["AssignmentId"],
                       RequesterFeedback="Thanks")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def phase_a(instance: Instance, seconds: float, clients: int, workers: int) -> dict[str, Any]:
    log(f"phase A: {clients} boto3 clients + `kempelen simulate --workers {workers}` for {seconds:.0f} s")
    simulator = subprocess.Popen(
        [KEMPELEN, "simulate", "--environment", "live", "--workers", str(workers), "--duration", str(seconds),
         "--seed", "1"],
        env=instance.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=instance.data_dir,
    )
    stats = Stats()
    assert instance.server is not None
    server_before, client_before = process_tree_cpu_seconds(instance.server.pid), time.process_time()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine_before, load_before = machine_cpu_seconds(), os.getloadavg()[0]
    started = time.monotonic()
    deadline = started + seconds
    threads = [threading.Thread(target=requester_loop, args=(instance, stats, deadline, i), daemon=True)
               for i in range(clients)]
    for t in threads:
        t.start()
    join_deadline = deadline + 90  # a call already under way may take botocore's read timeout
    for t in threads:
        t.join(timeout=max(0.0, join_deadline - time.monotonic()))
    elapsed = time.monotonic() - started
    try:
        sim_out, _ = simulator.communicate(timeout=max(0.0, deadline - time.monotonic()) + 60)
    except subprocess.TimeoutExpired:
        simulator.kill()
        sim_out, _ = simulator.communicate()
        sim_out += "\n(simulator killed: it overran its duration by 60 s)"
    match = re.search(r"submitted (\d+) assignment", sim_out)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # only the simulator was reaped during the phase
    machine_after = machine_cpu_seconds()
    cpu = {
        "machine": machine_after[0] - machine_before[0],
        "utilisation": (machine_after[0] - machine_before[0]) / max(1e-9, machine_after[1] - machine_before[1]),
        "loadavg_before": load_before,
        "server": process_tree_cpu_seconds(instance.server.pid) - server_before,
        "simulator": children.ru_utime + children.ru_stime - children_before.ru_utime - children_before.ru_stime,
        "clients": time.process_time() - client_before,
    }
    return {
        "cpu": cpu,
        "seconds": elapsed, "stats": stats, "simulator_output": sim_out.strip(),
        "simulator_rc": simulator.returncode, "submitted": int(match.group(1)) if match else None,
        "client_threads_alive": sum(t.is_alive() for t in threads),
    }


def phase_b(instance: Instance, calls: int, threads: int) -> dict[str, dict[str, float]]:
    log(f"phase B: server CPU for {calls} GetHIT and {calls} CreateHITWithHITType calls ({threads} threads)")
    clients = [make_client(instance) for _ in range(threads)]
    hit_type_id = clients[0].create_hit_type(**HIT_TYPE)["HITTypeId"]
    hit_ids = [clients[0].create_hit_with_hit_type(
        HITTypeId=hit_type_id, MaxAssignments=3, LifetimeInSeconds=3600, Question=HTML_QUESTION
    )["HIT"]["HITId"] for _ in range(20)]
    assert instance.server is not None
    pid = instance.server.pid

    def run(operation: str, one: Any) -> dict[str, float]:
        stats = Stats()
        per_thread = [calls // threads + (1 if i < calls % threads else 0) for i in range(threads)]

        def worker(i: int) -> None:
            for n in range(per_thread[i]):
                if time.monotonic() > give_up:
                    return
                one(stats, clients[i], n)

        with ThreadPoolExecutor(threads) as pool:  # warm every worker process and thread first
            list(pool.map(lambda i: [one(Stats(), clients[i], n) for n in range(10)], range(threads)))
        time.sleep(1.5)  # let the previous step's keep-alive connections and workers settle
        idle_before = process_tree_cpu_seconds(pid)
        time.sleep(1.0)
        idle_per_second = process_tree_cpu_seconds(pid) - idle_before
        db = BackendSampler(instance.pg_name) if instance.pg_name else None
        machine_before, load_before = machine_cpu_seconds(), os.getloadavg()[0]
        cpu_before, client_before, wall_before = process_tree_cpu_seconds(pid), time.process_time(), time.monotonic()
        give_up = wall_before + PHASE_B_LIMIT_SECONDS
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(worker, range(threads)))
        wall = time.monotonic() - wall_before
        cpu = process_tree_cpu_seconds(pid) - cpu_before
        client_cpu = time.process_time() - client_before
        machine_after = machine_cpu_seconds()
        machine = machine_after[0] - machine_before[0]
        utilisation = machine / max(1e-9, machine_after[1] - machine_before[1])
        db_seconds = db.stop() if db else 0.0
        ok = sum(len(v) for v in stats.latencies.values())
        failed = sum(stats.errors.values())
        if failed:
            log(f"phase B {operation}: {failed} errors: {dict(stats.errors)}")
        all_latencies = [x for v in stats.latencies.values() for x in v]
        return {
            "calls": ok + failed, "asked": calls, "ok": ok, "errors": failed, "wall_s": wall, "calls_per_s": (ok + failed) / wall,
            "server_cpu_s": cpu, "server_cpu_ms_per_call": 1000 * cpu / max(1, ok + failed),
            "idle_server_cpu_ms_per_s": 1000 * idle_per_second,
            "client_cpu_ms_per_call": 1000 * client_cpu / max(1, ok + failed),
            "db_cpu_ms_per_call": 1000 * db_seconds / max(1, ok + failed) if db else float("nan"),
            "machine_cpu_ms_per_call": 1000 * machine / max(1, ok + failed),
            "cpu_utilisation": utilisation,
            "loadavg_before": load_before,
            "p50_ms": 1000 * percentile(all_latencies, 50), "p99_ms": 1000 * percentile(all_latencies, 99),
            "target_ms": CPU_TARGET_MS[operation],
        }

    results = {
        "GetHIT": run("GetHIT", lambda s, c, n: s.call("GetHIT", c.get_hit, HITId=hit_ids[n % len(hit_ids)])),
        "CreateHITWithHITType": run("CreateHITWithHITType", lambda s, c, n: s.call(
            "CreateHITWithHITType", c.create_hit_with_hit_type, HITTypeId=hit_type_id, MaxAssignments=3,
            LifetimeInSeconds=3600, Question=HTML_QUESTION)),
    }
    return results


# --- Verification (read-only; runs in a child process with the instance's environment) ----------------------


def verify_in_this_process() -> dict[str, Any]:
    import django

    django.setup()
    from django.db.models import Count, F, Q

    from kempelen.ledger.queries import problems
    from kempelen.marketplace.invariants import escrow_problems
    from kempelen.marketplace.models import HIT, HOLDING_STATUSES, Assignment

    overfilled = list(
        HIT.objects.annotate(holding=Count("assignments", filter=Q(assignments__status__in=HOLDING_STATUSES)))
        .filter(holding__gt=F("max_assignments")).values_list("id", "holding", "max_assignments")[:20]
    )
    by_status = dict(Assignment.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {
        "hits": HIT.objects.count(),
        "assignments_by_status": by_status,
        "overfilled_hits": [list(row) for row in overfilled],
        "ledger_problems": problems(),
        "escrow_problems": escrow_problems(),
    }


def verify(instance: Instance) -> dict[str, Any]:
    log("verifying: over-filled HITs, kempelen.ledger.queries.problems(), marketplace.invariants.escrow_problems()")
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--verify-only"], env=instance.env, capture_output=True,
                          text=True, timeout=120, cwd=instance.data_dir)
    if done.returncode != 0:
        return {"error": f"verification failed to run ({done.returncode}): {done.stderr[-2000:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# --- Report -------------------------------------------------------------------------------------------------


def report(database: str, a: dict[str, Any], b: dict[str, dict[str, float]], checks: dict[str, Any],
           server_faults: list[str]) -> bool:
    """Print the tables; True when nothing failed (errors of the kind that must never happen, broken invariants)."""
    stats: Stats = a["stats"]
    seconds = a["seconds"]
    width = 78
    print()
    print("=" * width)
    print(f"Kempelen API benchmark on {database}: {os.cpu_count()} CPUs, phase A {seconds:.1f} s")
    print("=" * width)
    print(f"{'operation':<24}{'ok':>8}{'ops/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'retries':>9}")
    total_ok = total_err = 0
    for op in ("CreateHITType", *MIX_OPERATIONS):
        lat = stats.latencies.get(op, [])
        errs = sum(n for (o, _), n in stats.errors.items() if o == op)
        total_ok += len(lat)
        total_err += errs
        print(f"{op:<24}{len(lat):>8}{len(lat) / seconds:>9.1f}{1000 * percentile(lat, 50):>9.1f}"
              f"{1000 * percentile(lat, 99):>9.1f}{errs:>8}{stats.retries.get(op, 0):>9}")
    every = [x for v in stats.latencies.values() for x in v]
    print(f"{'all':<24}{total_ok:>8}{total_ok / seconds:>9.1f}{1000 * percentile(every, 50):>9.1f}"
          f"{1000 * percentile(every, 99):>9.1f}{total_err:>8}{sum(stats.retries.values()):>9}")
    print(f"simulator: {a['submitted']} submissions ({(a['submitted'] or 0) / seconds:.1f}/s), exit {a['simulator_rc']}")
    for line in a["simulator_output"].splitlines()[1:]:
        print(f"  {line.strip()}")
    cpu = a["cpu"]
    other = cpu["machine"] - cpu["server"] - cpu["simulator"] - cpu["clients"]
    print(f"CPU during phase A: machine {100 * cpu['utilisation']:.0f}% busy (load {cpu['loadavg_before']:.1f} "
          f"before); server {cpu['server']:.1f} s ({1000 * cpu['server'] / max(1, total_ok):.1f} ms per "
          f"API call), simulator {cpu['simulator']:.1f} s, boto3 clients {cpu['clients']:.1f} s, "
          f"database and everything else {other:.1f} s")
    failures: list[str] = []
    if stats.errors:
        print("errors by code:")
        for (op, code), n in stats.errors.most_common():
            loud = "ServiceFault" in code or "locked" in code or "Internal" in code or code.startswith("5")
            print(f"  {'!!' if loud else '  '} {op} {code}: {n}x  e.g. {stats.samples[(op, code)]!r}")
            if loud:
                failures.append(f"{n}x {code} on {op}")
    if sum(stats.retries.values()):
        failures.append(f"{sum(stats.retries.values())} retried calls (botocore retries 5xx/throttling silently)")
    if a["client_threads_alive"]:
        failures.append(f"{a['client_threads_alive']} client threads still running after the phase")
    if a["simulator_rc"] != 0:
        failures.append(f"simulator exited with {a['simulator_rc']}: {a['simulator_output'][-500:]}")
    if server_faults:
        failures.append(f"{len(server_faults)} ServiceFault/traceback lines in the server log")
    print("-" * width)
    print("Phase B: server CPU per call (gunicorn master + workers, utime+stime from /proc)")
    print(f"{'operation':<21}{'calls':>6}{'calls/s':>8}{'p50 ms':>7}{'p99 ms':>7}{'server ms':>10}"
          f"{'target':>7}{'':>7}{'db ms':>6}{'client':>7}{'machine':>8}")
    for op, r in b.items():
        verdict = "ok" if r["server_cpu_ms_per_call"] <= r["target_ms"] else "MISSED"
        print(f"{op:<21}{r['calls']:>6}{r['calls_per_s']:>8.1f}{r['p50_ms']:>7.1f}{r['p99_ms']:>7.1f}"
              f"{r['server_cpu_ms_per_call']:>10.2f}{'≤' + format(r['target_ms'], 'g'):>7} {verdict:<6}"
              f"{'-' if r['db_cpu_ms_per_call'] != r['db_cpu_ms_per_call'] else format(r['db_cpu_ms_per_call'], '.2f'):>6}{r['client_cpu_ms_per_call']:>7.2f}{r['machine_cpu_ms_per_call']:>8.2f}")
        if r["errors"]:
            failures.append(f"{r['errors']} errors in phase B {op}")
        if r["calls"] < r["asked"]:
            failures.append(f"phase B {op} stopped after {r['calls']} of {r['asked']} calls ({PHASE_B_LIMIT_SECONDS} s)")
    idle = max(r["idle_server_cpu_ms_per_s"] for r in b.values())
    busy = ", ".join(f"{op} {100 * r['cpu_utilisation']:.0f}% (load {r['loadavg_before']:.1f} before)"
                     for op, r in b.items())
    print("server ms: CPU of the gunicorn master and workers per call (the target); db ms: PostgreSQL backends;")
    print("client: this process (boto3); machine: every process on the machine, so other load shows up there.")
    print(f"Machine busy during phase B: {busy}; idle server CPU {idle:.1f} ms/s.")
    if max(a["cpu"]["loadavg_before"], *(r["loadavg_before"] for r in b.values())) > (os.cpu_count() or 1):
        print("NOTE: the machine was busy with other work (load average above the core count): wall-clock")
        print("      figures (ops/s, p50/p99) are pessimistic; CPU ms per call is much less affected.")
    print("-" * width)
    print("Verification (read-only)")
    if "error" in checks:
        print(f"  !! {checks['error']}")
        failures.append("verification did not run")
    else:
        print(f"  HITs {checks['hits']}, assignments by status {checks['assignments_by_status']}")
        print(f"  over-filled HITs: {len(checks['overfilled_hits'])} {checks['overfilled_hits'] or ''}")
        print(f"  ledger problems(): {checks['ledger_problems'] or 'none'}")
        print(f"  escrow_problems(): {checks['escrow_problems'] or 'none'}")
        if checks["overfilled_hits"]:
            failures.append(f"{len(checks['overfilled_hits'])} over-filled HITs")
        if checks["ledger_problems"] or checks["escrow_problems"]:
            failures.append("ledger/escrow invariants broken")
    print("=" * width)
    if failures:
        print("!! FAILURES on " + database + ":")
        for f in failures:
            print(f"!!   {f}")
        for line in server_faults[:10]:
            print(f"!!   server: {line}")
    else:
        print(f"No failures on {database}: no ServiceFault, no 'database is locked', invariants hold.")
    print("=" * width, flush=True)
    return not failures


def run(args: argparse.Namespace) -> int:
    instance = prepare(args.database)
    try:
        start_server(instance, args.http_workers, args.http_threads)
        a = phase_a(instance, args.seconds, args.clients, args.workers)
        b = phase_b(instance, args.calls, args.threads)
        checks = verify(instance)
        server_faults = [line for line in server_log_text(instance).splitlines()
                         if "ServiceFault" in line or "Traceback" in line or "database is locked" in line]
        ok = report(args.database, a, b, checks, server_faults)
        if args.json:
            stats: Stats = a["stats"]
            Path(args.json).write_text(json.dumps({
                "database": args.database, "cpus": os.cpu_count(), "args": vars(args),
                "phase_a": {
                    "seconds": a["seconds"], "submitted": a["submitted"],
                    "operations": {op: {"ok": len(v), "ops_per_s": len(v) / a["seconds"],
                                        "p50_ms": 1000 * percentile(v, 50), "p99_ms": 1000 * percentile(v, 99)}
                                   for op, v in stats.latencies.items()},
                    "errors": {f"{op} {code}": n for (op, code), n in stats.errors.items()},
                },
                "phase_b": b, "checks": checks, "ok": ok,
            }, indent=2, default=str))
        return 0 if ok else 1
    finally:
        teardown(instance, args.keep)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=20, help="length of phase A")
    parser.add_argument("--clients", type=int, default=8, help="concurrent boto3 requester clients in phase A")
    parser.add_argument("--workers", type=int, default=10, help="simulated workers (kempelen simulate) in phase A")
    parser.add_argument("--calls", type=int, default=2000, help="calls of each operation in phase B")
    parser.add_argument("--threads", type=int, default=4, help="client threads in phase B")
    parser.add_argument("--http-workers", type=int, default=2, help="kempelen serve --workers")
    parser.add_argument("--http-threads", type=int, default=8, help="kempelen serve --threads")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir (server.log, SQLite db)")
    parser.add_argument("--verify-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.verify_only:
        print(json.dumps(verify_in_this_process(), default=str))
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
