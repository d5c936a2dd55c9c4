"""Several nodes are one service: two `kempelen serve --no-jobs` processes and two `kempelen worker` job runners on
one PostgreSQL database, with workers whose sessions go through both nodes and a requester calling both.

Workers sign in through the worker site, accept from a group on one node and submit on the other; approvals come
from boto3 clients on both nodes racing for the same assignments, and from the runners (auto-approval). No HIT is
over-filled, nobody is paid twice, and each node reports the same state as the other.
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from botocore.exceptions import ClientError
from django.conf import settings
from django.db import connection

from kempelen.accounts import actions as accounts
from kempelen.accounts.models import Worker
from kempelen.core.models import AuditEvent
from kempelen.ledger.models import LedgerTransaction
from kempelen.marketplace.models import Assignment, AssignmentStatus
from tests.concurrency.kit import postgres_only
from tests.conftest import OPERATOR, client_for, make_requester
from tests.lifecycle.kit import earnings

pytestmark = [*postgres_only, pytest.mark.django_db(transaction=True)]

BIN = Path(sys.executable).parent
PASSWORD = "several-nodes-password-5"
WORKERS = 6
HITS_PER_TYPE = 6
SLOTS = 2  # MaxAssignments of every HIT
QUESTION = """<?xml version="1.0" encoding="UTF-8"?>
<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
  <HTMLContent><![CDATA[<!DOCTYPE html><html><body><form name="mturk_form" method="post" id="mturk_form"
  action="https://www.mturk.com/mturk/externalSubmit"><input type="hidden" value="" name="assignmentId"/>
  <input name="answer" type="text"/><input type="submit"/></form></body></html>]]></HTMLContent>
  <FrameHeight>300</FrameHeight>
</HTMLQuestion>"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database_url() -> str:
    """The suite's own PostgreSQL test database, which the nodes share with this test."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "postgres") + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    return f"postgresql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@dataclass
class Cluster:
    urls: list[str]
    logs: list[Path]

    def log_text(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.logs if p.exists())


@pytest.fixture
def cluster(transactional_db: None, tmp_path: Path) -> Iterator[Cluster]:
    """Two app nodes and two job runners, each a process of its own with its own data directory; they share the
    database and the instance secret, as nodes behind a load balancer do."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEMPELEN_")}
    base.update(KEMPELEN_DATABASE_URL=_database_url(), KEMPELEN_SECRET_KEY=settings.SECRET_KEY,
                KEMPELEN_LOG_LEVEL="WARNING", KEMPELEN_JOB_POLL_SECONDS="0.2", KEMPELEN_GROUP_LIST_MAX_AGE="0")
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []

    def start(name: str, *args: str) -> None:
        env = dict(base, KEMPELEN_DATA_DIR=str(tmp_path / name))
        log = tmp_path / f"{name}.log"
        logs.append(log)
        with open(log, "wb") as out:
            processes.append(subprocess.Popen([str(BIN / "kempelen"), *args], env=env, stdout=out,
                                              stderr=subprocess.STDOUT, start_new_session=True))

    ports = [_free_port(), _free_port()]
    try:
        for name, port in zip(("node-a", "node-b"), ports, strict=True):
            start(name, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-jobs", "--workers", "1",
                  "--threads", "4")
        start("runner-a", "worker")
        start("runner-b", "worker")
        cluster = Cluster([f"http://127.0.0.1:{port}" for port in ports], logs)
        deadline = time.monotonic() + 60
        for url in cluster.urls:
            while True:
                try:
                    urllib.request.urlopen(url + "/worker/login", timeout=2).read()
                    break
                except OSError:
                    dead = [p.args for p in processes if p.poll() is not None]
                    assert not dead, f"{dead} exited:\n{cluster.log_text()}"
                    assert time.monotonic() < deadline, f"{url} did not answer in 60 s:\n{cluster.log_text()}"
                    time.sleep(0.2)
        yield cluster
        dead = [p.args for p in processes if p.poll() is not None]
        assert not dead, f"{dead} exited during the test:\n{cluster.log_text()}"
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)  # each was started in a session of its own
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the test reads where a redirect goes instead of following it


@dataclass
class Reply:
    status: int
    location: str
    body: str


class Browser:
    """One worker's browser: a cookie jar shared by both nodes (cookies do not depend on the port), as a browser
    behind a load balancer would send the same cookies to whichever node serves the request."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _KeepRedirects)

    def request(self, url: str, form: dict[str, str] | None = None) -> Reply:
        data = urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(urllib.request.Request(url, data=data), timeout=30) as response:
                return Reply(response.status, "", response.read().decode())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.headers.get("Location", ""), error.read().decode(errors="replace"))

    def cookie(self, name: str) -> str:
        return next((c.value or "" for c in self.jar if c.name == name), "")

    def message(self) -> str:
        """The text of Django's messages cookie (signed, not encrypted): why an accept was refused."""
        payload = self.cookie("messages").strip('"').split(":", 1)[0]
        compressed = payload.startswith(".")
        raw = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload.lstrip(".")) % 4))
        return (zlib.decompress(raw) if compressed else raw).decode()


@dataclass
class Tally:
    accepted: list[tuple[str, str]] = field(default_factory=list)  # (assignment id, worker username)
    submitted: list[str] = field(default_factory=list)
    approved: list[str] = field(default_factory=list)
    refused_approvals: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _work(tally: Tally, urls: list[str], username: str, groups: list[str], offset: int) -> None:
    """Sign in on one node, then accept on alternating nodes and submit each assignment on the other node, until
    no group has a HIT left for this worker."""
    b = Browser()
    login = urls[offset % 2] + "/worker/login"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', b.request(login).body)
    assert token, "no CSRF token on the sign-in page"
    signed_in = b.request(login, {"csrfmiddlewaretoken": token.group(1), "username": username, "password": PASSWORD})
    if signed_in.status != 302:
        tally.problems.append(f"{username}: sign-in answered {signed_in.status}")
        return
    page = b.request(f"{urls[(offset + 1) % 2]}/worker/projects/{groups[0]}/tasks")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    if token is None:
        tally.problems.append(f"{username}: the group page ({page.status}) has no form")
        return
    open_groups = list(groups)
    n = offset
    while open_groups:
        group = open_groups[n % len(open_groups)]
        node, other = urls[n % 2], urls[(n + 1) % 2]
        n += 1
        reply = b.request(f"{node}/worker/projects/{group}/tasks/accept",
                          {"csrfmiddlewaretoken": token.group(1), "auto": "0"})
        found = re.search(r"/worker/tasks/([A-Z0-9]+)$", reply.location)
        if reply.status != 302:
            tally.problems.append(f"{username}: accept on {node} answered {reply.status}")
            return
        if found is None:
            why = b.message()
            if "no more HITs in this group" not in why:
                tally.problems.append(f"{username}: accept on {node} refused: {why}")
                return
            open_groups.remove(group)
            continue
        assignment_id = found.group(1)
        with tally.lock:
            tally.accepted.append((assignment_id, username))
        done = b.request(f"{other}/mturk/externalSubmit", {"assignmentId": assignment_id, "answer": username})
        if done.status != 200 or 'data-ok="1"' not in done.body:
            tally.problems.append(f"{username}: submitting {assignment_id} on {other} answered {done.status}")
            return
        with tally.lock:
            tally.submitted.append(assignment_id)


def _approve(tally: Tally, client: Any, hit_ids: list[str], stop: threading.Event) -> None:
    """Approve every submitted assignment of the HITs through one node; the other node's client races for the
    same assignments, so about half of the attempts are refused as already approved."""
    while not stop.is_set():
        for hit_id in hit_ids:
            listed = client.list_assignments_for_hit(HITId=hit_id, AssignmentStatuses=["Submitted"])["Assignments"]
            for assignment in listed:
                try:
                    client.approve_assignment(AssignmentId=assignment["AssignmentId"])
                except ClientError as error:
                    with tally.lock:
                        tally.refused_approvals[error.response.get("TurkErrorCode", "?")] += 1
                    continue
                with tally.lock:
                    tally.approved.append(assignment["AssignmentId"])
        stop.wait(0.1)


def _hit_view(client: Any, hit_id: str) -> dict[str, Any]:
    hit = client.get_hit(HITId=hit_id)["HIT"]
    assignments = client.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    return {"hit": hit, "assignments": sorted(assignments, key=lambda a: a["AssignmentId"])}


def test_two_nodes_and_two_runners_behave_as_one_service(cluster: Cluster) -> None:
    handle = make_requester(cluster.urls[0])
    clients = [client_for(url, handle.access_key_id, handle.secret) for url in cluster.urls]
    usernames = [f"node-worker-{i}" for i in range(WORKERS)]
    for username in usernames:
        accounts.create_worker(actor=OPERATOR, username=username, password=PASSWORD, country="US")
    common = {"Description": "Type one word.", "Reward": "0.25", "AssignmentDurationInSeconds": 600}
    # Approved by the requester through both nodes, and approved by the job runners three seconds after submission.
    reviewed = clients[0].create_hit_type(Title="Reviewed by the requester", AutoApprovalDelayInSeconds=86400,
                                          **common)["HITTypeId"]
    automatic = clients[1].create_hit_type(Title="Approved automatically", AutoApprovalDelayInSeconds=3,
                                           **common)["HITTypeId"]
    hits: dict[str, list[str]] = {reviewed: [], automatic: []}
    for n in range(HITS_PER_TYPE):
        for hit_type in hits:
            created = clients[n % 2].create_hit_with_hit_type(HITTypeId=hit_type, MaxAssignments=SLOTS,
                                                              LifetimeInSeconds=3600, Question=QUESTION)
            hits[hit_type].append(created["HIT"]["HITId"])

    tally = Tally()
    stop = threading.Event()
    approvers = [threading.Thread(target=_approve, args=(tally, c, hits[reviewed], stop)) for c in clients]
    workers = [threading.Thread(target=_work, args=(tally, cluster.urls, u, [reviewed, automatic], i))
               for i, u in enumerate(usernames)]
    for t in approvers + workers:
        t.start()
    for t in workers:
        t.join(60)
    every = 2 * HITS_PER_TYPE * SLOTS
    deadline = time.monotonic() + 30
    paid = LedgerTransaction.objects.filter(kind="assignment_payment")
    while paid.count() < every and time.monotonic() < deadline and not tally.problems:
        time.sleep(0.2)
    stop.set()
    for t in approvers:
        t.join(30)
    assert not any(t.is_alive() for t in workers + approvers), "a client thread did not finish"
    assert not tally.problems, "\n".join(tally.problems)

    # Every slot was taken exactly once, each by a different worker, and every taken slot was submitted.
    assignments = list(Assignment.objects.select_related("hit").filter(hit__hit_type_id__in=list(hits)))
    assert len(tally.accepted) == len(assignments) == every
    assert {a for a, _ in tally.accepted} == {a.pk for a in assignments} == set(tally.submitted)
    per_hit = Counter(a.hit_id for a in assignments)
    assert set(per_hit.values()) == {SLOTS}
    assert len({(a.hit_id, a.worker_id) for a in assignments}) == every

    # Each assignment was approved and paid once: the requester's by exactly one of the two racing clients, the
    # others automatically. After a HIT's last submission nothing but a job runner touches it, so at least the
    # last approval of each of those HITs is a runner's (earlier ones may fall due while a worker's action holds
    # the HIT, which then settles them itself).
    assert {a.status for a in assignments} == {AssignmentStatus.APPROVED}
    assert sorted(tally.approved) == sorted(a.pk for a in assignments if a.hit.hit_type_id == reviewed)
    assert set(tally.refused_approvals) <= {"AWS.MechanicalTurk.InvalidAssignmentState"}
    assert Counter(paid.values_list("assignment_id", flat=True)) == {a.pk: 1 for a in assignments}
    automatic_ids = {a.pk for a in assignments if a.hit.hit_type_id == automatic}
    approvals = list(AuditEvent.objects.filter(action="approve_assignment", target_id__in=automatic_ids))
    assert sorted(e.target_id for e in approvals) == sorted(automatic_ids)
    assert all(e.data["automatic"] and e.actor in ("system:job-runner", "system:timers") for e in approvals)
    last = {e.data["hit_id"]: e for e in sorted(approvals, key=lambda e: e.pk)}
    assert {e.actor for e in last.values()} == {"system:job-runner"}
    by_worker = Counter(username for _, username in tally.accepted)
    for worker in Worker.objects.filter(user__username__in=usernames):
        assert earnings(worker) == 25 * by_worker[worker.user.username]

    # Both nodes report the same HITs and assignments.
    for hit_id in hits[reviewed] + hits[automatic]:
        a, b = (_hit_view(c, hit_id) for c in clients)
        assert json.dumps(a, default=str, sort_keys=True) == json.dumps(b, default=str, sort_keys=True)
        assert a["hit"]["NumberOfAssignmentsCompleted"] == SLOTS
        assert [x["AssignmentStatus"] for x in a["assignments"]] == ["Approved"] * SLOTS
    balances = [c.get_account_balance()["AvailableBalance"] for c in clients]
    assert balances[0] == balances[1] == f"{(100_000 - every * 30) / 100:.2f}"
