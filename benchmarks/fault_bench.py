"""Fault scenario on PostgreSQL: two app nodes and two job runners under load; one node and one runner are killed
with SIGKILL and restarted while requesters and workers keep going; then everything that must never happen is
checked.

    .venv/bin/python benchmarks/fault_bench.py [--seconds 60] [--workers 200] [--clients 4] [--postgres URL]

A fresh database on the PostgreSQL server (`kempelen_fault_<pid>`, dropped at the end) and a temp directory per
process. `kempelen serve --no-jobs` runs twice (nodes A and B, different ports) and `kempelen worker` twice
(runners A and B), every process with a data directory of its own and the same instance secret. Requesters call
both nodes through boto3 (CreateHITWithHITType with a UniqueRequestToken, ListAssignmentsForHIT, Approve/Reject);
simulated workers, signed in through /worker/login, accept from a group, return some and submit the rest through
/mturk/externalSubmit, each request going to either node like a load balancer would send it. Every HIT type has a
Webhook notification specification for every event type, pointing at a receiver in this script.

At fixed fractions of the run node B's process group (gunicorn master and workers) and then runner A are killed
with SIGKILL and started again. Afterwards: submissions that got a success response are stored exactly once, no
HIT ever had more slots in use than MaxAssignments (a replay of the audit log), the ledger balances, every approved
assignment is paid once, escrow equals what open slots can still cost, every notification event arrived at least
once with a valid signature and none arrived that was not queued. Exit status 1 on any violation. See
benchmarks/README.md and docs/reliability.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api_bench as ab
import fault_checks as fc
import worker_bench as wb
from fault_checks import Record

SELF = str(Path(__file__).resolve())
# (process, killed at, started again at): fractions of --seconds.
SCHEDULE = (("node B", 0.25, 0.40), ("runner A", 0.50, 0.65))
EVENT_TYPES = ["AssignmentAccepted", "AssignmentAbandoned", "AssignmentReturned", "AssignmentSubmitted",
               "AssignmentRejected", "AssignmentApproved", "HITCreated", "HITExpired", "HITReviewable",
               "HITExtended", "HITDisposed"]
_LOST = (http.client.HTTPException, ConnectionResetError, BrokenPipeError, TimeoutError)


def log(message: str) -> None:
    print(f"[fault-bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- Processes: the nodes and the runners ------------------------------------------------------------------


@dataclass
class Process:
    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    port: int = 0
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as out:
            out.write(f"\n=== started {time.strftime('%H:%M:%S')} ===\n".encode())
            out.flush()
            self.popen = subprocess.Popen([ab.KEMPELEN, *self.args], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                          cwd=self.env["KEMPELEN_DATA_DIR"], start_new_session=True)

    def wait_ready(self, timeout: float = 90) -> None:
        """A node answers HTTP; a runner only has to be alive."""
        assert self.popen is not None
        deadline = time.monotonic() + timeout
        while self.port:
            if self.popen.poll() is not None:
                raise SystemExit(f"{self.name} exited with {self.popen.returncode}:\n{self.log_tail()}")
            try:
                # A refused connection fails at once; a node that is up but busy may take seconds to answer.
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request("GET", "/worker/login")
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{self.name} did not answer within {timeout:.0f} s:\n{self.log_tail()}") from None
                time.sleep(0.2)

    def kill(self) -> int:
        """SIGKILL the process and everything it started (its own session): a node's gunicorn master and workers
        die at once, mid-request, as when a machine is lost. Returns how many processes were killed."""
        assert self.popen is not None
        members = len(ab._descendants(self.popen.pid))
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)
        return members

    def terminate(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM (gunicorn finishes its requests, a runner its pass), then SIGKILL after 25 s."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.terminate()
        try:
            self.popen.wait(timeout=25)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def logged_errors(self) -> list[str]:
        """The first line of every error the process logged (text or JSON log lines, gunicorn's own)."""
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if '"level": "ERROR"' in line or '"level": "CRITICAL"' in line:
                record = json.loads(line)
                raised = [x for x in str(record.get("exception", "")).splitlines()
                          if re.match(r"(\w+\.)*\w*(Error|Exception|Detected): ", x)]
                found.append(f"{record.get('message', '')}: {raised[-1] if raised else ''}")
            elif re.search(r" (ERROR|CRITICAL) |\[(ERROR|CRITICAL)\]|^\S*(Error|Exception): ", line):
                found.append(line[:300])
        return found

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


def hmac_key(secret: str) -> bytes:
    """The key a receiver verifies a requester's webhooks with (docs/notifications.md)."""
    import hashlib
    import hmac

    return hmac.new(secret.encode(), b"kempelen-webhook", hashlib.sha256).digest()


def run_kempelen(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([ab.KEMPELEN, *args], env=env, capture_output=True, text=True, timeout=300,
                          cwd=env["KEMPELEN_DATA_DIR"])
    if done.returncode != 0:
        raise SystemExit(f"kempelen {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def run_child(env: dict[str, str], work: Path, mode: str, params: dict[str, Any]) -> dict[str, Any]:
    out = work / f"child-{mode}.json"
    done = subprocess.run([sys.executable, SELF, "--child", mode, "--params", json.dumps(params), "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=1800, cwd=env["KEMPELEN_DATA_DIR"])
    if done.returncode != 0:
        raise SystemExit(f"child {mode} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def pg_admin(server: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(sql)


# --- The webhook receiver ------------------------------------------------------------------------------------


class Receiver(ThreadingHTTPServer):
    """Takes every POST, answers 200, and keeps the headers and the body."""

    daemon_threads = True

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        threading.Thread(target=self.serve_forever, daemon=True, name="webhook-receiver").start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/events"


class _ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        server: Receiver = self.server  # type: ignore[assignment]
        with server.lock:
            server.received.append((dict(self.headers.items()), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


# --- What the clients saw --------------------------------------------------------------------------------------


@dataclass
class Shared:
    args: argparse.Namespace
    nodes: list[Process]
    started: float = 0.0
    deadline: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    down_until: dict[int, float] = field(default_factory=dict)  # node index → monotonic time
    created_slots: int = 0
    taken_slots: int = 0
    records: list[list[Record]] = field(default_factory=list)
    # assignment id → (nonce, outcome) of its submission as the worker saw it
    submissions: dict[str, tuple[str, str]] = field(default_factory=dict)
    accepted: dict[str, str] = field(default_factory=dict)  # assignment id → worker
    hits: dict[str, str] = field(default_factory=dict)      # HIT id → UniqueRequestToken
    samples: dict[str, str] = field(default_factory=dict)

    def now(self) -> float:
        return time.monotonic() - self.started

    def pick(self, rng: random.Random) -> int:
        """A node, as a load balancer picks one: either, unless one refused connections a moment ago."""
        up = [i for i in range(len(self.nodes)) if self.down_until.get(i, 0) <= time.monotonic()]
        return rng.choice(up or list(range(len(self.nodes))))

    def open_slots(self) -> int:
        return self.created_slots - self.taken_slots


class Worker:
    """One simulated worker: a browser per node sharing one cookie jar (the session works on either node)."""

    def __init__(self, shared: Shared, index: int, username: str) -> None:
        self.shared, self.username = shared, username
        self.rng = random.Random(f"worker-{index}")
        self.browsers = [wb.Browser(node.port, timeout=60) for node in shared.nodes]
        for b in self.browsers[1:]:
            b.cookies, b.values = self.browsers[0].cookies, self.browsers[0].values
        self.csrf = ""
        self.records: list[Record] = []
        self.resting: dict[str, float] = {}  # group → until when it is left alone (it had nothing for us)

    def request(self, op: str, method: str, path: str, form: dict[str, str] | None = None,
                node: int | None = None) -> wb.Reply | None:
        """Send to a node; a refused connection (nothing was sent) goes to the other node. None when the connection
        was lost after sending: the outcome is unknown."""
        node = self.shared.pick(self.rng) if node is None else node
        for attempt in (0, 1):
            b = self.browsers[node]
            t, started = self.shared.now(), time.perf_counter()
            try:
                reply = b.request(method, path, form)
            except ConnectionRefusedError:
                self.records.append(Record(t, op, time.perf_counter() - started, "failed over", "AB"[node]))
                self.shared.down_until[node] = time.monotonic() + 1.0
                b.conn = None
                node = (node + 1) % len(self.browsers)
                if attempt:
                    return None
                continue
            except (*_LOST, OSError) as error:
                b.conn = None
                self.records.append(Record(t, op, time.perf_counter() - started, f"lost: {type(error).__name__}",
                                           "AB"[node]))
                return None
            outcome = "ok"
            if reply.status >= 500:
                outcome = f"error: HTTP {reply.status}"
                self.shared.samples.setdefault(outcome, f"{method} {path}: {reply.body[:300]}")
            self.records.append(Record(t, op, reply.seconds, outcome, "AB"[node]))
            return reply
        return None

    def sign_in(self, groups: list[str]) -> None:
        b = self.browsers[self.shared.pick(self.rng)]
        why = wb.login(b, self.username)
        if why:
            raise SystemExit(f"sign-in of {self.username} failed: {why}")
        page = self.request("setup", "GET", f"/worker/projects/{groups[0]}/tasks")
        token = wb._CSRF.search(page.body if page else "")
        if token is None:
            raise SystemExit(f"{self.username}: no form on the group page")
        self.csrf = token.group(1)

    def message(self) -> str:
        text = self.browsers[0].messages()
        self.browsers[0].cookies.pop("messages", None)
        self.browsers[0].values.pop("messages", None)
        return text

    def cycle(self, groups: list[str]) -> None:
        """Accept from a group; then return it, leave it to be abandoned, or submit it (on a node picked again)."""
        args, now = self.shared.args, time.monotonic()
        choices = [g for g in groups if self.resting.get(g, 0) <= now] or groups
        group = self.rng.choice(choices)
        reply = self.request("accept", "POST", f"/worker/projects/{group}/tasks/accept",
                             {"csrfmiddlewaretoken": self.csrf, "auto": "0"})
        if reply is None or reply.status >= 500:
            return
        if reply.status != 302:
            self.records[-1].outcome = f"error: accept answered {reply.status}"
            self.shared.samples.setdefault(self.records[-1].outcome, re.sub(r"<[^>]+>|\s+", " ", reply.body)[:300])
            return
        found = re.search(r"/worker/tasks/([A-Z0-9]+)$", reply.location)
        if found is None:
            why = self.message()
            if not any(s.lower() in why.lower() for s in wb.NO_SLOT):
                self.records[-1].outcome = "error: accept refused"
                self.shared.samples.setdefault("error: accept refused", why[:300])
            else:
                self.records[-1].outcome = "refused: no slot"
            self.resting[group] = now + 1.0
            return
        assignment_id = found.group(1)
        with self.shared.lock:
            self.shared.accepted[assignment_id] = self.username
            self.shared.taken_slots += 1
        self.think()
        roll = self.rng.random()
        if roll < args.abandon_rate:
            return  # never finished: the job runner abandons it at its deadline
        if roll < args.abandon_rate + args.return_rate:
            done = self.request("return", "POST", f"/worker/tasks/{assignment_id}/return",
                                {"csrfmiddlewaretoken": self.csrf})
            if done is not None and done.status == 302:
                text = self.message()
                if "You returned" in text:
                    with self.shared.lock:
                        self.shared.taken_slots -= 1
                else:
                    self.records[-1].outcome = "error: return refused"
                    self.shared.samples.setdefault("error: return refused", text[:300])
            return
        self.submit(assignment_id)

    def submit(self, assignment_id: str) -> None:
        """POST externalSubmit. A lost connection is retried once on the other node (the worker presses submit
        again): an answer that the assignment is no longer Accepted then means the first attempt was stored."""
        nonce = uuid.uuid4().hex
        form = {"assignmentId": assignment_id, "answer": nonce}
        node = self.shared.pick(self.rng)
        done = self.request("submit", "POST", "/mturk/externalSubmit", form, node=node)
        outcome = "unknown"
        if done is None:
            done = self.request("submit (again)", "POST", "/mturk/externalSubmit", form, node=(node + 1) % 2)
            already = done is not None and done.status == 409 and re.search(
                r"state (?:'|&#x27;|&#39;)(Submitted|Approved|Rejected)", done.body)
            if already:
                outcome = "stored by the lost attempt"
                self.records[-1].outcome = "refused: already submitted"
            elif done is not None and 'data-ok="1"' in done.body:
                outcome = "ok after a lost attempt"
        elif 'data-ok="1"' in done.body:
            outcome = "ok"
        if done is not None and outcome == "unknown" and done.status < 500:
            self.records[-1].outcome = f"error: submit answered {done.status}"
            self.shared.samples.setdefault(self.records[-1].outcome, re.sub(r"<[^>]+>|\s+", " ", done.body)[:300])
        with self.shared.lock:
            self.shared.submissions[assignment_id] = (nonce, outcome)

    def think(self) -> None:
        if self.shared.args.think > 0:
            time.sleep(self.rng.uniform(0, 2 * self.shared.args.think))

    def run(self, groups: list[str]) -> None:
        while time.monotonic() < self.shared.deadline:
            try:
                self.cycle(groups)
            except Exception as error:  # a bug in the benchmark: report it, keep the others going
                self.records.append(Record(self.shared.now(), "client", 0.0, f"error: {error!r}"[:200]))
                time.sleep(0.1)
            self.think()


@dataclass
class Requester:
    username: str
    access_key_id: str
    secret: str
    hit_types: list[str] = field(default_factory=list)   # [reviewed by the requester, approved automatically]
    to_review: deque[list[Any]] = field(default_factory=deque)  # [HIT id, assignments reviewed, MaxAssignments]
    lock: threading.Lock = field(default_factory=threading.Lock)


class RequesterClient:
    """One boto3 client per node for one requester; a call that cannot connect goes to the other node, and a
    call whose connection was lost is sent again there when that is safe (all of these are)."""

    def __init__(self, shared: Shared, requester: Requester, index: int) -> None:
        import boto3
        from botocore.config import Config

        self.shared, self.requester = shared, requester
        self.rng = random.Random(f"requester-{index}")
        self.node = index % len(shared.nodes)
        self.records: list[Record] = []
        session = boto3.session.Session()
        self.clients = [session.client(
            "mturk", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{node.port}",
            aws_access_key_id=requester.access_key_id, aws_secret_access_key=requester.secret,
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=60,
                          max_pool_connections=2),
        ) for node in shared.nodes]

    def call(self, op: str, method: str, **params: Any) -> tuple[dict[str, Any] | None, str]:
        """(response, "") or (None, error code or why)."""
        from botocore.exceptions import (
            ClientError,
            ConnectionClosedError,
            EndpointConnectionError,
            ReadTimeoutError,
        )

        for _attempt in (0, 1):
            t, started = self.shared.now(), time.perf_counter()
            try:
                response = getattr(self.clients[self.node], method)(**params)
            except ClientError as error:
                code = error.response.get("TurkErrorCode") or error.response.get("Error", {}).get("Code", "?")
                status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                outcome = f"error: {code}" if status >= 500 else f"refused: {code}"
                if status >= 500:
                    self.shared.samples.setdefault(outcome, str(error)[:300])
                self.records.append(Record(t, op, time.perf_counter() - started, outcome))
                return None, f"{code}: {error.response.get('Error', {}).get('Message', '')}"
            except EndpointConnectionError:
                self.records.append(Record(t, op, time.perf_counter() - started, "failed over", "AB"[self.node]))
                self.shared.down_until[self.node] = time.monotonic() + 1.0
                self.node = (self.node + 1) % len(self.clients)
                continue
            except (ConnectionClosedError, ReadTimeoutError, *_LOST) as error:
                self.records.append(Record(t, op, time.perf_counter() - started, f"lost: {type(error).__name__}",
                                           "AB"[self.node]))
                self.node = (self.node + 1) % len(self.clients)
                continue
            self.records.append(Record(t, op, time.perf_counter() - started, "ok"))
            if time.monotonic() > self.shared.down_until.get(1 - self.node, 0) and self.rng.random() < 0.05:
                self.node = self.shared.pick(self.rng)  # move between nodes now and then, as a balancer would
            return response, ""
        return None, "no node answered"

    def create_hit(self, hit_type: str) -> bool:
        """Publish one HIT; False when that failed."""
        token = uuid.uuid4().hex
        slots = self.rng.randint(1, 9)
        response, error = self.call("CreateHIT", "create_hit_with_hit_type", HITTypeId=hit_type, MaxAssignments=slots,
                                    LifetimeInSeconds=3600, Question=ab.HTML_QUESTION, UniqueRequestToken=token)
        hit_id = response["HIT"]["HITId"] if response else ""
        if not hit_id and "HitAlreadyExists" in error:  # a retry after a lost answer: the first attempt made it
            found = re.search(r'HIT with ID "([^"]+)"', error)
            hit_id = found.group(1) if found else ""
        if not hit_id:
            return False
        with self.shared.lock:
            self.shared.hits[hit_id] = token
            self.shared.created_slots += slots
        if hit_type == self.requester.hit_types[0]:
            with self.requester.lock:
                self.requester.to_review.append([hit_id, 0, slots])
        return True

    def review(self) -> bool:
        """Approve (or now and then reject) what was submitted to one HIT of the reviewed type."""
        with self.requester.lock:
            if not self.requester.to_review:
                return False
            entry = self.requester.to_review.popleft()
        listed, _ = self.call("ListAssignmentsForHIT", "list_assignments_for_hit", HITId=entry[0],
                              AssignmentStatuses=["Submitted"], MaxResults=10)
        for assignment in (listed or {}).get("Assignments", []):
            if self.rng.random() < self.shared.args.reject_rate:
                done, error = self.call("RejectAssignment", "reject_assignment",
                                        AssignmentId=assignment["AssignmentId"], RequesterFeedback="Not what was asked.")
            else:
                done, error = self.call("ApproveAssignment", "approve_assignment",
                                        AssignmentId=assignment["AssignmentId"], RequesterFeedback="Thanks")
            if done is not None or "InvalidAssignmentState" in error:  # this client's or the other client's review
                entry[1] += 1
        if entry[1] < entry[2]:
            with self.requester.lock:
                self.requester.to_review.append(entry)
        return bool(listed and listed.get("Assignments"))

    def run(self, low_water: int) -> None:
        """Publish a HIT (more while fewer than ``low_water`` slots are open), review one, and again."""
        while time.monotonic() < self.shared.deadline:
            try:
                self.create_hit(self.rng.choice(self.requester.hit_types))
                while self.shared.open_slots() < low_water and time.monotonic() < self.shared.deadline:
                    if not self.create_hit(self.rng.choice(self.requester.hit_types)):
                        break
                self.review()
            except Exception as error:  # a bug in the benchmark: report it, keep the others going
                self.records.append(Record(self.shared.now(), "client", 0.0, f"error: {error!r}"[:200]))
                time.sleep(0.1)


# --- The faults ----------------------------------------------------------------------------------------------


def inject_fault(shared: Shared, process: Process, kill_at: float, restart_at: float,
                 timeline: list[dict[str, Any]]) -> None:
    """Kill ``process`` at ``kill_at`` seconds into the run and start it again at ``restart_at``."""
    name = process.name
    _sleep_until(shared, kill_at)
    at = shared.now()
    killed = process.kill()
    _note(shared, timeline, f"SIGKILL {name} ({killed} process{'es' if killed > 1 else ''})", at)
    _sleep_until(shared, restart_at)
    process.start()
    _note(shared, timeline, f"{name} started again")
    process.wait_ready()
    if process.port:
        _note(shared, timeline, f"{name} answers again")


def _note(shared: Shared, timeline: list[dict[str, Any]], what: str, at: float | None = None) -> None:
    at = shared.now() if at is None else at
    timeline.append({"t": at, "what": what})
    log(f"t={at:.1f}s: {what}")


def _sleep_until(shared: Shared, t: float) -> None:
    while shared.now() < t:
        time.sleep(min(0.05, t - shared.now()))


# --- The run ---------------------------------------------------------------------------------------------------


def setup_requesters(shared: Shared, requesters: list[Requester], receiver: Receiver) -> None:
    common = {"Description": "Say whether a short sentence is positive or negative.", "Reward": "0.05",
              "AssignmentDurationInSeconds": 30, "Keywords": "fault, sentiment"}
    for r in requesters:
        client = RequesterClient(shared, r, 0)
        for title, delay in (("Reviewed by the requester", 86400), ("Approved automatically", 5)):
            made, error = client.call("CreateHITType", "create_hit_type", Title=f"{title} ({r.username})",
                                      AutoApprovalDelayInSeconds=delay, **common)
            if made is None:
                raise SystemExit(f"CreateHITType failed: {error}")
            r.hit_types.append(made["HITTypeId"])
            _done, error = client.call("UpdateNotificationSettings", "update_notification_settings",
                                       HITTypeId=made["HITTypeId"], Active=True, Notification={
                                           "Destination": f"{receiver.url}/{r.username}", "Transport": "Webhook",
                                           "Version": "2014-08-15", "EventTypes": EVENT_TYPES})
            if error:
                raise SystemExit(f"UpdateNotificationSettings failed: {error}")


def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="kempelen-fault-"))
    database = f"kempelen_fault_{os.getpid()}"
    server = args.postgres.rstrip("/")
    pg_admin(server, f'CREATE DATABASE "{database}"')
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEMPELEN_")}
    base.update(DJANGO_SETTINGS_MODULE="kempelen.settings", KEMPELEN_DATABASE_URL=f"{server}/{database}",
                KEMPELEN_SECRET_KEY=secrets.token_urlsafe(50), KEMPELEN_LOG_LEVEL="WARNING",
                KEMPELEN_WEBHOOK_ALLOW_HTTP="on", KEMPELEN_WEBHOOK_ALLOW_PRIVATE="on",
                KEMPELEN_NOTIFICATION_RETRY_SECONDS="2", KEMPELEN_JOB_POLL_SECONDS="0.5")

    def env_for(name: str) -> dict[str, str]:
        data = work / name
        data.mkdir(exist_ok=True)
        return dict(base, KEMPELEN_DATA_DIR=str(data), PROMETHEUS_MULTIPROC_DIR=str(data / "metrics"))

    log(f"database {database} on {server}, processes under {work}")
    processes: dict[str, Process] = {}
    receiver = Receiver()
    failed: dict[str, list[str]] = {}
    finished = False
    result: dict[str, Any] = {"seconds": args.seconds, "workers": args.workers, "clients": args.clients}
    try:
        setup_env = env_for("setup")
        run_kempelen(setup_env, "migrate")
        made = run_child(setup_env, work, "accounts", {"requesters": args.requesters, "workers": args.workers,
                                                       "password": wb.PASSWORD})
        requesters = [Requester(*r) for r in made["requesters"]]
        usernames = made["workers"]
        for name in ("node A", "node B"):
            processes[name] = Process(name, [], env_for(name.replace(" ", "-")), work / f"{name.replace(' ', '-')}.log",
                                      port=ab.free_port())
            processes[name].args = ["serve", "--host", "127.0.0.1", "--port", str(processes[name].port), "--no-jobs",
                                    "--workers", str(args.http_workers), "--threads", str(args.http_threads)]
        for name in ("runner A", "runner B"):
            processes[name] = Process(name, ["worker"], env_for(name.replace(" ", "-")),
                                      work / f"{name.replace(' ', '-')}.log")
        for p in processes.values():
            p.start()
        for p in processes.values():
            p.wait_ready()
        log(f"nodes on ports {processes['node A'].port} and {processes['node B'].port} "
            f"({args.http_workers} workers x {args.http_threads} threads each), two job runners")
        shared = Shared(args, [processes["node A"], processes["node B"]])
        shared.started = time.monotonic()
        shared.deadline = time.monotonic() + 3600
        setup_requesters(shared, requesters, receiver)
        groups = [t for r in requesters for t in r.hit_types]
        clients = [RequesterClient(shared, requesters[i % len(requesters)], i) for i in range(args.clients)]
        # Before the run, a quarter of a slot per worker and second: the workers take about one slot per eight
        # worker-seconds here, and work must not run dry while the nodes are slow to publish more.
        first = max(3 * args.workers, int(args.workers * args.seconds / 4))

        def publish(client: RequesterClient) -> None:
            failures = 0
            while shared.open_slots() < first:
                if not client.create_hit(client.rng.choice(client.requester.hit_types)):
                    failures += 1
                    if failures > 20:
                        raise SystemExit(f"CreateHITWithHITType keeps failing: {client.records[-1]}\n"
                                         f"{shared.samples}")

        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(publish, clients))
        log(f"{len(requesters)} requesters, {len(groups)} HIT types with Webhook notifications, {len(shared.hits)} "
            f"HITs ({shared.created_slots} slots); signing {len(usernames)} workers in through /worker/login")
        workers = [Worker(shared, i, u) for i, u in enumerate(usernames)]
        signing_started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda w: w.sign_in(groups), workers))
        log(f"signed in in {time.monotonic() - signing_started:.1f} s; the run: {args.seconds:.0f} s, "
            f"{args.clients} requester clients, {len(workers)} workers; kills: "
            + ", ".join(f"{n} at {k * args.seconds:.0f} s (again at {r * args.seconds:.0f} s)" for n, k, r in SCHEDULE))

        shared.records = [w.records for w in workers] + [c.records for c in clients]
        for w in workers:
            w.records.clear()
        for c in clients:
            c.records.clear()
        timeline: list[dict[str, Any]] = []
        shared.started = time.monotonic()
        shared.deadline = shared.started + args.seconds
        threads = [threading.Thread(target=w.run, args=(groups,), daemon=True) for w in workers]
        threads += [threading.Thread(target=c.run, args=(2 * args.workers,), daemon=True) for c in clients]
        faults = [threading.Thread(target=inject_fault, daemon=True, args=(
            shared, processes[name], kill * args.seconds, restart * args.seconds, timeline)) for name, kill, restart in SCHEDULE]
        for t in [*threads, *faults]:
            t.start()
        for t in faults:
            t.join(args.seconds + 120)
        for t in threads:
            t.join(timeout=max(1.0, shared.deadline + 90 - time.monotonic()))
        ended = shared.now()
        alive = sum(t.is_alive() for t in threads)
        if alive or any(t.is_alive() for t in faults):
            failed["threads still running"] = [f"{alive} client threads, {sum(t.is_alive() for t in faults)} fault threads"]
        log(f"load stopped at t={ended:.1f}s; waiting for the runners to deliver what is due")
        drain_started = time.monotonic()
        backlog = _wait_for_delivery(base["KEMPELEN_DATABASE_URL"], args.drain)
        result["drain"] = {"seconds": time.monotonic() - drain_started, **backlog}
        log(f"delivery backlog after {result['drain']['seconds']:.1f} s: {backlog}")
        for p in processes.values():
            p.terminate()
        for p in processes.values():
            p.stop()
        result["lapsed_claims"] = run_child(setup_env, work, "deliver", {})
        log(f"claims left by the killed runner, sent once their lease lapsed: {result['lapsed_claims']}")
        db = run_child(setup_env, work, "verify", {})
        failed.update(db["violations"])
        submission_problems, outcomes = fc.check_submissions(shared.submissions, shared.accepted, db)
        failed.update(submission_problems)
        signing_keys = {r.access_key_id: hmac_key(r.secret) for r in requesters}
        notification_problems, notification_figures = fc.check_notifications(receiver.received, db, signing_keys)
        failed.update(notification_problems)
        server_errors = Counter(r.outcome for per in shared.records for r in per if r.outcome.startswith("error"))
        if server_errors:
            failed["errors answered to clients"] = [f"{n}x {k}: {shared.samples.get(k, '')}"
                                                    for k, n in server_errors.items()]
        for name, p in processes.items():
            errors = p.logged_errors()
            if errors:
                failed[f"errors logged by {name}"] = errors

        timeline.sort(key=lambda e: e["t"])
        stats = fc.figures([r for per in shared.records for r in per], timeline, args.seconds)
        result.update(timeline=timeline, figures=stats, submissions=outcomes, notifications=notification_figures,
                      database={k: db[k] for k in ("hits", "slots", "statuses", "payments")},
                      violations=failed)
        print("=" * 100)
        print(f"Fault scenario: {args.seconds:.0f} s, {len(workers)} workers, {args.clients} requester clients, "
              f"two nodes and two runners on PostgreSQL (load average {os.getloadavg()[0]:.1f})")
        for event in timeline:
            print(f"  t={event['t']:5.1f}s  {event['what']}")
        print()
        fc.print_figures(stats)
        print(f"\nsubmissions as the workers saw them: {outcomes}")
        print(f"database: {db['hits']} HITs, {db['slots']} slots, assignments {dict(db['statuses'])}, "
              f"{db['payments']} payments")
        print(f"notifications: {notification_figures}; lapsed claims: {result['lapsed_claims']}")
        print("\nChecks:")
        for name in ("successful submissions stored exactly once", "no HIT over-filled (audit replay and rows)",
                     "ledger balances, each approval paid once, nothing negative, escrow = open slots",
                     "every notification event arrived at least once, none invented, signatures valid"):
            print(f"  {name}")
        if failed:
            print("\nVIOLATIONS:")
            for name, items in failed.items():
                print(f"  !! {name}: {len(items)}")
                for item in items[:5]:
                    print(f"       {item}")
        else:
            print("  all held")
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2, default=str))
        finished = True
        return 1 if failed else 0
    finally:
        for p in processes.values():
            with contextlib.suppress(Exception):
                p.stop()
        receiver.shutdown()
        if args.keep:
            log(f"kept {work} and database {database}")
        else:
            with contextlib.suppress(Exception):
                pg_admin(server, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            if failed or not finished:
                log(f"the processes' logs are kept in {work} (database {database} dropped)")
            else:
                shutil.rmtree(work, ignore_errors=True)


def _wait_for_delivery(url: str, limit: float) -> dict[str, Any]:
    """Wait until the runners have delivered every due event (twice in a row nothing due, a second apart). Events
    claimed by a runner that was killed are not due again until their claim's lease lapses (five minutes); they
    are counted apart and sent afterwards (child_deliver)."""
    import psycopg

    quiet = 0
    with psycopg.connect(url, autocommit=True) as conn:
        deadline = time.monotonic() + limit
        while True:
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE next_attempt_at <= now() + interval '60 seconds' OR attempts = 0), "
                "count(*) FILTER (WHERE next_attempt_at > now() + interval '60 seconds' AND attempts > 0) "
                "FROM notifications_outboxevent WHERE delivered_at IS NULL AND dead_at IS NULL").fetchone()
            assert row is not None
            quiet = quiet + 1 if row[0] == 0 else 0
            if quiet >= 2 or time.monotonic() > deadline:
                return {"due": row[0], "claimed": row[1]}
            time.sleep(1.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of the run")
    parser.add_argument("--workers", type=int, default=200, help="simulated workers")
    parser.add_argument("--clients", type=int, default=4, help="requester boto3 client threads")
    parser.add_argument("--requesters", type=int, default=2, help="requester accounts the clients share")
    parser.add_argument("--think", type=float, default=0.1, help="mean seconds a worker waits between steps")
    parser.add_argument("--return-rate", type=float, default=0.1, help="fraction of accepted HITs returned")
    parser.add_argument("--abandon-rate", type=float, default=0.03, help="fraction left to be abandoned")
    parser.add_argument("--reject-rate", type=float, default=0.1, help="fraction of reviews that reject")
    parser.add_argument("--http-workers", type=int, default=2, help="kempelen serve --workers, per node")
    parser.add_argument("--http-threads", type=int, default=8, help="kempelen serve --threads, per node")
    parser.add_argument("--drain", type=float, default=60, help="seconds at most to wait for deliveries afterwards")
    parser.add_argument("--postgres", default=os.environ.get("KEMPELEN_FAULT_POSTGRES", ab.PG_BASE_URL),
                        help="the PostgreSQL server (a database is created there and dropped)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory and the database")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        handler = {"accounts": fc.child_accounts, "deliver": fc.child_deliver, "verify": fc.child_verify}[args.child]
        Path(args.out).write_text(json.dumps(handler(json.loads(args.params)), default=str))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # clean up (processes, database) when stopped
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
