"""End-to-end benchmark of the worker site: a real `kempelen serve`, 10,000 HIT groups and 200,000 HITs, and
50 simulated workers doing the worker cycle over HTTP with their own sessions.

    .venv/bin/python benchmarks/worker_bench.py --database sqlite|postgresql [--seconds 30] [--workers 50]

Setup fills a fresh database with requesters, HIT groups, HITs and their escrow (bulk inserts, timed
separately). Phase 1 measures the pages a worker browses (the HIT-group list: first page, a search, sort by
reward, page 5; a group page): latency p50/p99 and the server's CPU per request. Phase 2 runs the worker cycle
with --workers concurrent workers for a fixed time: 2a accept → task page → externalSubmit (the speed
target), 2b the whole browser path (list → group page → accept → task page → task frame → externalSubmit →
submitted page). Afterwards the database is checked read-only: no HIT over-filled, no worker twice on one
HIT, counters match the assignments, ledger and escrow invariants hold. --profile N then serves N cycles
in-process (Django's test client) under cProfile. See benchmarks/README.md and docs/performance.md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import html
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api_bench as ab  # the server, /proc and PostgreSQL helpers are shared)

TARGET_CYCLES_PER_S = 100.0
PASSWORD = "bench-worker-password-7"
SELF = str(Path(__file__).resolve())


def log(message: str) -> None:
    print(f"[worker-bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- Benchmark data ---------------------------------------------------------------------------------------

REQUESTERS = [("acme", "Acme Data Labs", 4), ("uni", "University Psychology Lab", 2), ("shop", "ShopReview Inc.", 3),
              ("maps", "OpenMaps Volunteers", 1), ("audio", "Audioscribe", 2), ("bench", "Benchmark requester", 1)]
VERBS = ["Transcribe", "Label", "Rate", "Categorize", "Tag", "Summarize", "Translate", "Verify", "Find", "Describe",
         "Annotate", "Compare", "Check", "Review", "Moderate", "Match"]
OBJECTS = ["receipts", "product photos", "street signs", "tweets", "audio clips", "short sentences",
           "news headlines", "handwritten notes", "bird images", "business addresses", "search results",
           "restaurant reviews", "medical abstracts", "satellite tiles", "video thumbnails", "survey answers",
           "invoices", "song lyrics", "job postings", "chat transcripts"]
QUALIFIERS = ["", "", "", "quickly", "in English", "in Spanish", "(easy)", "(5 minutes)", "for a study",
              "with bounding boxes", "for a research project", "(qualified workers)"]
KEYWORDS = ["image", "text", "audio", "video", "survey", "research", "transcription", "categorization", "labeling",
            "sentiment", "data collection", "easy", "quick", "writing", "english", "spanish", "shopping", "maps",
            "receipts", "moderation", "psychology", "opinion", "classification", "verification", "ocr"]
REWARDS = [1, 2, 3, 5, 5, 5, 8, 10, 10, 12, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 300, 500]
MAX_ASSIGNMENTS = [1, 1, 1, 2, 3, 3, 3, 5, 5, 9, 10, 20]
SENTENCES = ["The soup was lovely.", "The delivery came two days late.", "I would not buy this again.",
             "Friendly staff and a clean room.", "The battery lasts all day.", "Terrible customer service.",
             "It does what it says.", "The park is beautiful in spring.", "Too expensive for what it is.",
             "The update broke my settings."]
SEARCH_COMMON = "receipts"       # in about 1 of 20 titles, plus keywords
SEARCH_NONE = "xylophone"        # in no group: the worst case, every open HIT is looked at

QUESTION = """<?xml version="1.0" encoding="UTF-8"?>
<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
  <HTMLContent><![CDATA[<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head><body>
  <form name="mturk_form" method="post" id="mturk_form" action="https://www.mturk.com/mturk/externalSubmit">
  <input type="hidden" value="" name="assignmentId" id="assignmentId"/>
  <h1>{title}</h1><p>Item {item}: is this sentence positive? <q>{sentence}</q></p>
  <label><input type="radio" name="sentiment" value="positive"/> positive</label>
  <label><input type="radio" name="sentiment" value="negative"/> negative</label>
  <label>Comment <input name="comment" type="text"/></label>
  <input type="submit" id="submitButton"/></form>
  <script src="https://s3.amazonaws.com/mturk-public/externalHIT_v1.js"></script><script>turkSetAssignmentID();</script>
  </body></html>]]></HTMLContent>
  <FrameHeight>450</FrameHeight>
</HTMLQuestion>"""


def _requirements(rng: random.Random, skill_a: str, skill_b: str) -> list[dict]:
    """A realistic spread of QualificationRequirements (validated by create_hit_type's rules)."""
    from kempelen.qualifications import system

    roll = rng.random()
    reqs: list[dict] = []
    if roll < 0.65:
        return reqs
    if roll < 0.77:
        reqs.append({"QualificationTypeId": system.LOCALE, "Comparator": "In",
                     "LocaleValues": [{"Country": "US"}, {"Country": "CA"}, {"Country": "GB"}]})
    elif roll < 0.85:
        # Computed from the worker's history (one aggregate per requirement check); the simulated workers
        # never abandon, so they keep meeting it however much they do.
        reqs.append({"QualificationTypeId": system.PERCENT_ABANDONED, "Comparator": "LessThanOrEqualTo",
                     "IntegerValues": [5]})
    elif roll < 0.90:
        reqs.append({"QualificationTypeId": skill_a, "Comparator": "Exists"})
    elif roll < 0.94:
        # Hidden from workers who lack it (they do: nobody holds skill B).
        reqs.append({"QualificationTypeId": skill_b, "Comparator": "GreaterThanOrEqualTo", "IntegerValues": [50],
                     "ActionsGuarded": "DiscoverPreviewAndAccept"})
    elif roll < 0.97:
        reqs.append({"QualificationTypeId": system.ADULT, "Comparator": "EqualTo", "IntegerValues": [1],
                     "ActionsGuarded": "PreviewAndAccept"})
    else:
        # Shown with "you do not meet"; the bench's workers filter with "only what I qualify for".
        reqs.append({"QualificationTypeId": system.NUMBER_HITS_APPROVED, "Comparator": "GreaterThanOrEqualTo",
                     "IntegerValues": [1000]})
    if rng.random() < 0.3:
        reqs.append({"QualificationTypeId": system.LOCALE, "Comparator": "EqualTo", "LocaleValues": [{"Country": "US"}]})
    return reqs


def child_fill(params: dict[str, Any]) -> dict[str, Any]:
    """Fill the database: requesters, qualification types, workers, HIT types, HITs and their escrow.

    HIT types, HITs and the escrow movements are bulk-inserted (create_hit costs ~3 ms each; 200,000 of them
    would take 10 minutes). Each HIT gets the escrow movement create_hit books (one ledger transaction with
    two entries) and the requester's cached balances move by the total, so the ledger and escrow invariants
    hold exactly as after real CreateHIT calls. Not written: the audit events and outbox of those calls.
    """
    import datetime as dt

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.db.models import F

    from kempelen.accounts import actions as accounts
    from kempelen.accounts.models import Requester
    from kempelen.core import clock, ids
    from kempelen.core.actors import Actor
    from kempelen.core.money import reward_fee
    from kempelen.ledger import actions as ledger
    from kempelen.ledger.models import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction
    from kempelen.marketplace.actions.hits import _fingerprint
    from kempelen.marketplace.models import HIT, HITType
    from kempelen.qualifications.models import Qualification, QualificationType
    from kempelen.qualifications.requirements import uses_masters, validate_requirements

    rng = random.Random(params["seed"])
    n_groups, n_hits = params["groups"], params["hits"]
    operator = Actor.operator("worker-bench")
    timings: dict[str, float] = {}
    started = time.perf_counter()

    # Requesters (the CLI already made "bench"), two qualification types of the first requester.
    requesters: list[Requester] = []
    weights: list[int] = []
    for username, name, weight in REQUESTERS:
        found = Requester.objects.filter(user__username=username).first()
        requesters.append(found or accounts.create_requester(actor=operator, username=username, display_name=name))
        weights.append(weight)
    now = clock.now()
    skill_a = QualificationType.objects.create(
        id=ids.entity_id(), requester=requesters[0], environment="live", name="Acme receipts skill",
        description="Passed Acme's receipt transcription test.", created_at=now)
    skill_b = QualificationType.objects.create(
        id=ids.entity_id(), requester=requesters[0], environment="live", name="Acme expert labeller",
        description="Acme's best labellers (score out of 100).", created_at=now)

    # Workers: cycle workers w000…, page readers p0, p1. One PBKDF2 hash shared by all (benchmark data):
    # hashing 50 passwords one by one costs about half a second each on this machine.
    t = time.perf_counter()
    User = get_user_model()
    hashed = make_password(PASSWORD)
    usernames = [f"w{i:03d}" for i in range(params["workers"])] + ["p0", "p1"]
    workers = []
    for i, username in enumerate(usernames):
        workers.append(accounts.create_worker(
            actor=operator, username=username, email=f"{username}@bench.invalid", password=None,
            display_name=f"Bench worker {username}", country="US", subdivision="CA", is_adult=True,
        ))
        if i % 2 == 0:  # half of them hold skill A
            Qualification.objects.create(qualification_type=skill_a, worker=workers[-1], environment="live",
                                         integer_value=1, grant_time=now)
    User.objects.filter(username__in=usernames).update(password=hashed)
    timings["workers"] = time.perf_counter() - t

    # HIT types: varied titles, keywords, rewards and requirements, created over the last 14 days.
    t = time.perf_counter()
    types: list[HITType] = []
    for g in range(n_groups):
        requester = rng.choices(requesters, weights)[0]
        verb, obj, qual = rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(QUALIFIERS)
        title = f"{verb} {obj} {qual}".strip() + f" (batch {g})"
        description = (f"{verb} {obj}: read the short instructions, then answer one question per item. "
                       f"Batch {g} of {requester.display_name}.")
        keywords = ", ".join(rng.sample(KEYWORDS, rng.randint(2, 5)))
        reward = rng.choice(REWARDS)
        duration = rng.choice([300, 600, 900, 1800, 3600])
        delay = 3 * 86400
        requirements = validate_requirements(_requirements(rng, skill_a.pk, skill_b.pk), "live")
        types.append(HITType(
            id=ids.entity_id(), group_id=ids.entity_id(), requester=requester, environment="live", title=title,
            description=description, keywords=keywords, reward_cents=reward, assignment_duration=duration,
            auto_approval_delay=delay, qualification_requirements=requirements,
            fingerprint=_fingerprint(title=title, description=description, keywords=keywords, reward=reward,
                                     duration=duration, delay=delay, requirements=requirements),
            created_at=now - dt.timedelta(seconds=rng.uniform(3600, 14 * 86400)),
        ))
    with transaction.atomic():
        HITType.objects.bulk_create(types, batch_size=500)
    timings["hit_types"] = time.perf_counter() - t

    # HITs per group: at least one, the rest spread with a heavy tail (a few groups with thousands).
    raw = [rng.paretovariate(1.2) for _ in range(n_groups)]
    scale = (n_hits - n_groups) / sum(raw)
    counts = [1 + int(w * scale) for w in raw]
    for _ in range(n_hits - sum(counts)):
        counts[rng.randrange(n_groups)] += 1
    per_group_max = {ht.pk: rng.choice(MAX_ASSIGNMENTS) for ht in types}

    # Funds: what every HIT's escrow needs, plus 10,000.00 to spare, deposited as add-funds would.
    need: dict[int, int] = defaultdict(int)
    unit_of: dict[str, int] = {}
    for ht, count in zip(types, counts, strict=True):
        m = per_group_max[ht.pk]
        unit = ht.reward_cents + reward_fee(ht.reward_cents, m, masters=uses_masters(ht.qualification_requirements))
        unit_of[ht.pk] = unit
        need[ht.requester_id] += count * m * unit
    for requester in requesters:
        ledger.deposit(requester=requester, environment="live", cents=need[requester.pk] + 1_000_000,
                       key=f"deposit:bench-fill:{requester.pk}", actor=operator, memo="Benchmark fill")
    accounts_of = {r.pk: (ledger.account_for(AccountKind.REQUESTER_AVAILABLE, "live", requester=r),
                          ledger.account_for(AccountKind.REQUESTER_ESCROW, "live", requester=r)) for r in requesters}

    # HITs and their escrow, in transactions of about 10,000 HITs.
    t = time.perf_counter()
    t_ledger = 0.0
    lifetime_now = clock.now()
    batch: list[tuple[HITType, int]] = []
    for_batch = 0

    def flush(batch: list[tuple[HITType, int]]) -> float:
        hits: list[HIT] = []
        moved: dict[int, int] = defaultdict(int)
        for ht, count in batch:
            m, unit = per_group_max[ht.pk], unit_of[ht.pk]
            base = ht.created_at
            for i in range(count):
                created = base + dt.timedelta(seconds=i)
                expiration = lifetime_now + dt.timedelta(days=rng.randint(7, 30), seconds=rng.randint(0, 86400))
                hits.append(HIT(
                    id=ids.entity_id(), hit_type_id=ht.pk, requester_id=ht.requester_id, environment="live",
                    question=QUESTION.format(title=html.escape(ht.title), item=i + 1,
                                             sentence=SENTENCES[(i + len(ht.title)) % len(SENTENCES)]),
                    max_assignments=m, available=m, created_at=created, expiration=expiration,
                    unit_cost_cents=unit, escrow_cents=m * unit, next_due_at=expiration,
                    last_activity_at=created, requester_annotation=f"batch-{ht.pk[:6]}-{i}",
                ))
                moved[ht.requester_id] += m * unit
        with transaction.atomic():
            HIT.objects.bulk_create(hits, batch_size=1000)
            tl = time.perf_counter()
            txns = [LedgerTransaction(
                idempotency_key=f"reserve:{h.pk}:create:{ids.entity_id()}", kind="escrow_reserve", environment="live",
                created_at=h.created_at, memo=f"Escrow for HIT {h.pk} (create)", actor=f"requester:{h.requester_id}",
                requester_id=h.requester_id, hit_id=h.pk) for h in hits]
            LedgerTransaction.objects.bulk_create(txns, batch_size=1000)
            entries = []
            for h, txn in zip(hits, txns, strict=True):
                available, escrow = accounts_of[h.requester_id]
                entries.append(LedgerEntry(transaction_id=txn.pk, account_id=available.pk, amount_cents=-h.escrow_cents))
                entries.append(LedgerEntry(transaction_id=txn.pk, account_id=escrow.pk, amount_cents=h.escrow_cents))
            LedgerEntry.objects.bulk_create(entries, batch_size=2000)
            for requester_id, cents in moved.items():
                available, escrow = accounts_of[requester_id]
                LedgerAccount.objects.filter(pk=available.pk).update(balance_cents=F("balance_cents") - cents)
                LedgerAccount.objects.filter(pk=escrow.pk).update(balance_cents=F("balance_cents") + cents)
            return time.perf_counter() - tl

    for ht, count in zip(types, counts, strict=True):
        batch.append((ht, count))
        for_batch += count
        if for_batch >= 10_000:
            t_ledger += flush(batch)
            batch, for_batch = [], 0
    if batch:
        t_ledger += flush(batch)
    timings["hits_and_escrow"] = time.perf_counter() - t
    timings["of_which_ledger"] = t_ledger

    t = time.perf_counter()
    with connection.cursor() as cursor:  # what PostgreSQL's autovacuum does soon anyway; see --no-analyze
        if params["analyze"]:
            cursor.execute("ANALYZE")
    timings["analyze"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started

    # Groups for the group-page phase: a reader (p0, no skill A) may preview them; large and small ones.
    previewable = [ht for ht, count in zip(types, counts, strict=True)
                   if not any(r["QualificationTypeId"] in (skill_a.pk, skill_b.pk) for r in ht.qualification_requirements)
                   and not any(r.get("ActionsGuarded") == "PreviewAndAccept" for r in ht.qualification_requirements)]
    sample = [ht.group_id for ht in rng.sample(previewable, min(200, len(previewable)))]
    # The newest groups without requirements: what the first pages of the list show everybody. Phase 2a's
    # workers start from them (and the list's first page), so that they seldom need the list in the window.
    hot = [ht.group_id for ht in sorted(types, key=lambda ht: ht.created_at, reverse=True)
           if not ht.qualification_requirements][:params.get("hot", 100)]
    size = {}
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute("PRAGMA page_size")
            size["sqlite_mb"] = pages * cursor.fetchone()[0] / 1e6
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            size["postgresql_mb"] = cursor.fetchone()[0] / 1e6
    return {
        "timings": timings, "groups": len(types), "hits": sum(counts), "slots": sum(
            per_group_max[ht.pk] * c for ht, c in zip(types, counts, strict=True)),
        "largest_group": max(counts), "groups_with_requirements": sum(1 for ht in types if ht.qualification_requirements),
        "usernames": usernames, "group_sample": sample, "hot_groups": hot, "size": size,
    }


def child_sessions(params: dict[str, Any]) -> dict[str, Any]:
    """Sessions for workers made the way django.contrib.auth.login makes them (when /worker/login is not there)."""
    from importlib import import_module

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model

    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    out = {}
    for user in get_user_model().objects.filter(username__in=params["usernames"]):
        session = store_class()
        session[SESSION_KEY] = user._meta.pk.value_to_string(user)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        out[user.username] = session.session_key
    return {"sessions": out, "cookie": settings.SESSION_COOKIE_NAME}


def child_verify(params: dict[str, Any]) -> dict[str, Any]:
    import django

    django.setup()
    from django.db.models import Count, F, Q

    from kempelen.ledger.queries import problems
    from kempelen.marketplace.invariants import escrow_problems
    from kempelen.marketplace.models import HIT, HOLDING_STATUSES, Assignment

    t = time.perf_counter()
    overfilled = list(
        HIT.objects.annotate(holding=Count("assignments", filter=Q(assignments__status__in=HOLDING_STATUSES)))
        .filter(holding__gt=F("max_assignments")).values_list("id", "holding", "max_assignments")[:20]
    )
    twice = list(
        Assignment.objects.filter(status__in=HOLDING_STATUSES).values("hit_id", "worker_id")
        .annotate(n=Count("id")).filter(n__gt=1).values_list("hit_id", "worker_id", "n")[:20]
    )
    # The slot counters of every HIT worked on match its assignments.
    worked_on = HIT.objects.filter(pk__in=Assignment.objects.values("hit_id"))
    touched = (worked_on
               .annotate(accepted=Count("assignments", filter=Q(assignments__status="Accepted")),
                         sub=Count("assignments", filter=Q(assignments__status="Submitted")),
                         done=Count("assignments", filter=Q(assignments__status__in=("Approved", "Rejected"))))
               .values_list("id", "pending", "accepted", "submitted", "sub", "completed", "done"))
    counters = [list(r) for r in touched if (r[1], r[3], r[5]) != (r[2], r[4], r[6])][:20]
    by_status = dict(Assignment.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    result = {
        "hits": HIT.objects.count(),
        "assignments_by_status": by_status,
        "hits_worked_on": worked_on.count(),
        "overfilled_hits": [list(r) for r in overfilled],
        "worker_twice_on_hit": [list(r) for r in twice],
        "counter_mismatches": counters,
        "ledger_problems": problems(),
        "escrow_problems": escrow_problems(),
    }
    result["seconds"] = time.perf_counter() - t
    return result


def run_child(instance: ab.Instance, mode: str, params: dict[str, Any], timeout: float = 1800) -> dict[str, Any]:
    done = subprocess.run([sys.executable, SELF, "--child", mode, "--params", json.dumps(params)], env=instance.env,
                          capture_output=True, text=True, timeout=timeout, cwd=instance.data_dir)
    if done.returncode != 0:
        raise SystemExit(f"child {mode} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    if mode in ("profile", "sizes"):
        print(done.stdout.rsplit("@@JSON@@", 1)[0], flush=True)
    return json.loads(done.stdout.rsplit("@@JSON@@", 1)[-1].strip())  # type: ignore[no-any-return]


# --- A browser: one keep-alive connection and a cookie jar ---------------------------------------------------


@dataclass
class Reply:
    status: int
    body: str
    location: str
    seconds: float


class Browser:
    def __init__(self, port: int, timeout: float = 60) -> None:
        self.port = port
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] = {}      # as sent back (coded)
        self.values: dict[str, str] = {}       # decoded, for reading the messages cookie
        self.last_used = 0.0

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None or time.monotonic() - self.last_used > 3.0:  # gunicorn keeps idle connections 5 s
            if self.conn is not None:
                self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        return self.conn

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Reply:
        headers = {"Accept": "text/html", "User-Agent": "kempelen-worker-bench"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        for attempt in (0, 1):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server had closed: a GET is sent again on a new connection; a POST
                # is reported, never sent twice.
                self.conn = None
                if attempt or method != "GET":
                    raise
        elapsed = time.perf_counter() - started
        self.last_used = time.monotonic()
        for header in response.msg.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                    self.values.pop(name, None)
                else:
                    self.cookies[name] = morsel.coded_value
                    self.values[name] = morsel.value
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
            self.conn = None
        return Reply(response.status, data.decode("utf-8", "replace"), response.getheader("Location", ""), elapsed)

    def messages(self) -> str:
        """The text of Django's messages cookie (signed, not encrypted), for telling refusals apart."""
        raw = self.values.get("messages", "")
        if not raw:
            return ""
        payload = raw.split(":", 1)[0]  # value:timestamp:signature
        compressed = payload.startswith(".")
        payload = payload.lstrip(".")
        try:
            data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            return (zlib.decompress(data) if compressed else data).decode("utf-8", "replace")
        except (ValueError, zlib.error):
            return raw

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


_GROUP_LINK = re.compile(r'href="/worker/projects/([A-Z0-9]+)/tasks"')
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_IFRAME = re.compile(r'<iframe class="task"[^>]*\ssrc="([^"]+)"')


def login(browser: Browser, username: str) -> str:
    """Sign in through /worker/login like a browser. Returns "" on success, or why it could not."""
    page = browser.request("GET", "/worker/login")
    if page.status != 200:
        return f"GET /worker/login answered {page.status}"
    token = _CSRF.search(page.body)
    if token is None:
        return "no CSRF token on the login page"
    done = browser.request("POST", "/worker/login", {"csrfmiddlewaretoken": token.group(1), "username": username,
                                                      "password": PASSWORD})
    if done.status in (301, 302, 303) and "sessionid" in browser.cookies:
        return ""
    return f"POST /worker/login answered {done.status}"


# --- Statistics -------------------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    samples: dict[tuple[str, str], str] = field(default_factory=dict)
    refusals: Counter[str] = field(default_factory=Counter)
    cycles: int = 0
    cycle_seconds: list[float] = field(default_factory=list)

    def error(self, step: str, kind: str, sample: str = "") -> None:
        self.errors[(step, kind)] += 1
        self.samples.setdefault((step, kind), sample[:300])

    def merge(self, other: Stats) -> None:
        for step, values in other.latencies.items():
            self.latencies[step] += values
        self.errors.update(other.errors)
        for key, sample in other.samples.items():
            self.samples.setdefault(key, sample)
        self.refusals.update(other.refusals)
        self.cycles += other.cycles
        self.cycle_seconds += other.cycle_seconds


def _body_error(reply: Reply) -> str:
    low = reply.body.lower()
    if "database is locked" in low or "database table is locked" in low:
        return "database is locked"
    if "could not serialize" in low or "deadlock" in low:
        return "serialization failure / deadlock"
    return ""


class CycleFailed(Exception):
    pass


def timed(stats: Stats, browser: Browser, step: str, method: str, path: str, form: dict[str, str] | None = None,
          expect: tuple[int, ...] = (200,)) -> Reply:
    try:
        reply = browser.request(method, path, form)
    except (OSError, http.client.HTTPException) as error:
        stats.error(step, type(error).__name__, str(error))
        browser.conn = None
        raise CycleFailed from error
    stats.latencies[step].append(reply.seconds)
    if reply.status not in expect:
        kind = f"HTTP {reply.status}"
        extra = _body_error(reply)
        if reply.status >= 500:
            kind = f"5xx ({reply.status})" + (f" {extra}" if extra else "")
        text = re.sub(r"<[^>]+>|\s+", " ", reply.body)[:200]
        stats.error(step, kind, f"{path}: {text}")
        raise CycleFailed
    return reply


# --- Phase 1: the pages a worker browses --------------------------------------------------------------------


def _page_loop(b: Browser, *, stats: Stats, name: str, path_of: Any, counter: Any, lock: threading.Lock,
               give_up: float) -> None:
    while time.monotonic() < give_up:
        with lock:
            n = next(counter, None)
        if n is None:
            return
        with contextlib.suppress(CycleFailed):
            reply = timed(stats, b, name, "GET", path_of(n))
            if name.startswith("list") and "HIT groups" not in reply.body and "No HITs match" not in reply.body:
                stats.error(name, "page without a list")


def phase_pages(instance: ab.Instance, cookies: list[dict[str, str]], group_sample: list[str], requests: int,
                threads: int, limit_s: float) -> dict[str, dict[str, float]]:
    assert instance.server is not None
    pid = instance.server.pid
    kinds: list[tuple[str, Any]] = [
        ("list: first page", lambda n: "/worker/"),
        (f"list: search '{SEARCH_COMMON}'", lambda n: f"/worker/?q={SEARCH_COMMON}"),
        ("list: search, no match", lambda n: f"/worker/?q={SEARCH_NONE}"),
        ("list: sort by reward", lambda n: "/worker/?sort=reward"),
        ("list: page 5", lambda n: "/worker/?page=5"),
        ("list: qualified only", lambda n: "/worker/?qualified=1"),
        ("group page", lambda n: f"/worker/projects/{group_sample[n % len(group_sample)]}/tasks"),
    ]
    browsers = []
    for i in range(threads):
        b = Browser(instance.port)
        b.cookies = dict(cookies[i % len(cookies)])
        browsers.append(b)
    results: dict[str, dict[str, float]] = {}
    for name, path_of in kinds:
        stats = Stats()
        for b in browsers:  # warm up: every process, its caches and connections
            for n in range(3):
                with contextlib.suppress(CycleFailed):
                    timed(Stats(), b, name, "GET", path_of(n + 1000))
        time.sleep(0.5)
        loop = functools.partial(_page_loop, stats=stats, name=name, path_of=path_of, counter=iter(range(requests)),
                                 lock=threading.Lock(), give_up=time.monotonic() + limit_s)
        db = ab.BackendSampler(instance.pg_name) if instance.pg_name else None
        cpu_before, client_before, wall_before = ab.process_tree_cpu_seconds(pid), time.process_time(), time.monotonic()
        machine_before, load_before = ab.machine_cpu_seconds(), os.getloadavg()[0]
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(loop, browsers))
        wall = time.monotonic() - wall_before
        cpu = ab.process_tree_cpu_seconds(pid) - cpu_before
        machine_after = ab.machine_cpu_seconds()
        db_s = db.stop() if db else float("nan")
        lat = stats.latencies[name]
        done = len(lat) + sum(stats.errors.values())
        results[name] = {
            "requests": done, "errors": sum(stats.errors.values()), "wall_s": wall, "per_s": done / wall,
            "p50_ms": 1000 * ab.percentile(lat, 50), "p99_ms": 1000 * ab.percentile(lat, 99),
            "server_cpu_ms": 1000 * cpu / max(1, done), "db_cpu_ms": 1000 * db_s / max(1, done),
            "client_cpu_ms": 1000 * (time.process_time() - client_before) / max(1, done),
            "machine_busy": (machine_after[0] - machine_before[0]) / max(1e-9, machine_after[1] - machine_before[1]),
            "machine_cpu_ms": 1000 * (machine_after[0] - machine_before[0]) / max(1, done),
            "load_before": load_before,
        }
        if stats.errors:
            results[name]["error_kinds"] = {f"{k[0]} {k[1]}": v for k, v in stats.errors.items()}  # type: ignore[assignment]
            results[name]["error_sample"] = next(iter(stats.samples.values()))  # type: ignore[assignment]
        r = results[name]
        log(f"  {name:<28} {done:>4} req  p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  "
            f"server {r['server_cpu_ms']:6.1f} ms CPU/req" + (f"  db {r['db_cpu_ms']:.1f} ms" if db else "")
            + f"  machine {r['machine_cpu_ms']:.1f} ms (load {load_before:.1f})"
            + (f"  {r['errors']} errors" if r["errors"] else ""))
    for b in browsers:
        b.close()
    return results


# --- Phase 2: the worker cycle ------------------------------------------------------------------------------

NO_SLOT = ("no more HITs in this group", "no assignment left", "no more HITs available")


@dataclass
class WorkerState:
    username: str
    browser: Browser
    csrf: str = ""
    page: int = 1
    candidates: list[str] = field(default_factory=list)
    exhausted: set[str] = field(default_factory=set)
    hot: list[str] = field(default_factory=list)


def refill(state: WorkerState, stats: Stats, rng: random.Random, step: str = "list (refill)") -> None:
    """Read a page of groups the worker qualifies for; move on a page when all of them are used up."""
    for _ in range(30):
        reply = timed(stats, state.browser, step, "GET", f"/worker/?qualified=1&page={state.page}")
        found = [g for g in dict.fromkeys(_GROUP_LINK.findall(reply.body)) if g not in state.exhausted]
        if found:
            rng.shuffle(found)
            state.candidates = found
            return
        if 'rel="next"' not in reply.body:
            state.page = 1
            state.exhausted.clear()  # start over: slots may have been returned… (not in this benchmark)
        else:
            state.page += 1
    raise CycleFailed


def accept(state: WorkerState, stats: Stats, group: str) -> str | None:
    """POST accept. The assignment id, or None when the group has no slot left for this worker."""
    reply = timed(stats, state.browser, "accept", "POST", f"/worker/projects/{group}/tasks/accept",
                  {"csrfmiddlewaretoken": state.csrf, "auto": "0"}, expect=(302,))
    match = re.search(r"/worker/tasks/([A-Z0-9]+)$", reply.location)
    if match:
        return match.group(1)
    text = state.browser.messages()
    state.browser.cookies.pop("messages", None)  # a browser would show it on the next page; nobody reads it here
    if any(s.lower() in text.lower() for s in NO_SLOT):
        stats.refusals["no slot left"] += 1
        return None
    message = re.sub(r"\\u[0-9a-f]{4}|[\[\]\"]", " ", text)
    stats.refusals["other: " + message[:120]] += 1
    stats.error("accept", "refused (not 'no slot left')", f"{reply.location} {message}")
    return None


def do_cycle(state: WorkerState, stats: Stats, rng: random.Random, browser_path: bool) -> bool:
    """One cycle. True when an assignment was submitted."""
    b = state.browser
    started = time.perf_counter()
    if browser_path:
        # What the list shows now; stay with the group while it has work, else take another one.
        current = state.candidates[0] if state.candidates else None
        refill(state, stats, rng, step="list")
        if current in state.candidates:
            state.candidates.remove(current)
            state.candidates.insert(0, current)
        group = state.candidates[0]
        page = timed(stats, b, "group page", "GET", f"/worker/projects/{group}/tasks", expect=(200, 404))
        if page.status == 404:
            if not any(s.lower() in page.body.lower() for s in NO_SLOT):
                stats.error("group page", "HTTP 404", re.sub(r"<[^>]+>|\s+", " ", page.body)[:300])
                raise CycleFailed
            stats.refusals["no slot left (group page, taken since the list)"] += 1
            state.exhausted.add(group)
            state.candidates.pop(0)
            return False
        token = _CSRF.search(page.body)
        if token:
            state.csrf = token.group(1)
    else:
        if not state.candidates:
            refill(state, stats, rng)
        group = state.candidates[0]
    assignment_id = accept(state, stats, group)
    if assignment_id is None:
        state.exhausted.add(group)
        state.candidates.pop(0)
        return False
    task = timed(stats, b, "task page", "GET", f"/worker/tasks/{assignment_id}")
    frame = _IFRAME.search(task.body)
    if frame is None:
        stats.error("task page", "no task frame", task.body[:200])
        raise CycleFailed
    src = html.unescape(frame.group(1))
    params = {k: v[0] for k, v in parse_qs(urlsplit(src).query).items()}
    if params.get("assignmentId") != assignment_id or "turkSubmitTo" not in params:
        stats.error("task page", "frame parameters wrong", src)
        raise CycleFailed
    if browser_path:
        parts = urlsplit(src)
        content = timed(stats, b, "task frame", "GET", f"{parts.path}?{parts.query}")
        if "mturk_form" not in content.body:
            stats.error("task frame", "no task form in the frame", content.body[:200])
    submit_to = urlsplit(params["turkSubmitTo"]).path.rstrip("/") + "/mturk/externalSubmit"
    done = timed(stats, b, "externalSubmit", "POST", submit_to,
                 {"assignmentId": assignment_id, "sentiment": rng.choice(["positive", "negative"]),
                  "comment": "benchmark answer"})
    if 'data-ok="1"' not in done.body:
        stats.error("externalSubmit", "not submitted", re.sub(r"<[^>]+>|\s+", " ", done.body)[:200])
        raise CycleFailed
    if browser_path:
        timed(stats, b, "submitted page", "GET", f"/worker/tasks/{assignment_id}/submitted")
    stats.cycles += 1
    stats.cycle_seconds.append(time.perf_counter() - started)
    return True


def prepare_worker(state: WorkerState, stats: Stats, rng: random.Random) -> None:
    refill(state, stats, rng, step="setup")
    hot = [g for g in state.hot if g not in state.candidates]
    rng.shuffle(hot)
    state.candidates += hot
    page = timed(stats, state.browser, "setup", "GET", f"/worker/projects/{state.candidates[0]}/tasks")
    token = _CSRF.search(page.body)
    if token is None:
        stats.error("setup", "no CSRF token on the group page", page.body[:200])
        raise CycleFailed
    state.csrf = token.group(1)


def phase_cycles(instance: ab.Instance, states: list[WorkerState], seconds: float, browser_path: bool,
                 label: str) -> dict[str, Any]:
    assert instance.server is not None
    pid = instance.server.pid
    log(f"phase {label}: {len(states)} workers for {seconds:.0f} s: "
        + ("list → group page → accept → task page → task frame → externalSubmit → submitted page"
           if browser_path else "accept → task page → externalSubmit"))
    per_worker = [Stats() for _ in states]
    rngs = [random.Random(f"{label}-{i}") for i in range(len(states))]
    barrier = threading.Barrier(len(states) + 1)
    window: dict[str, float] = {}

    def run(i: int) -> None:
        state, stats, rng = states[i], per_worker[i], rngs[i]
        with contextlib.suppress(CycleFailed):
            if not state.csrf:
                prepare_worker(state, stats, rng)
        barrier.wait()
        while time.monotonic() < window["deadline"]:
            try:
                do_cycle(state, stats, rng, browser_path)
            except CycleFailed:
                state.candidates = state.candidates[1:]
                time.sleep(0.05)
            except Exception as error:  # a bug in the benchmark: report it, keep the others going
                stats.error("client", type(error).__name__, repr(error))
                time.sleep(0.05)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(states))]
    for t in threads:
        t.start()
    db: ab.BackendSampler | None = None
    window["deadline"] = time.monotonic() + 3600  # set properly once everybody is ready
    try:
        barrier.wait(timeout=600)
    except threading.BrokenBarrierError:
        log("!! workers did not get ready within 600 s")
    db = ab.BackendSampler(instance.pg_name) if instance.pg_name else None
    load_before = os.getloadavg()[0]
    machine_before = ab.machine_cpu_seconds()
    cpu_before, client_before = ab.process_tree_cpu_seconds(pid), time.process_time()
    started = time.monotonic()
    window["deadline"] = started + seconds
    for t in threads:
        t.join(timeout=seconds + 120)
    elapsed = time.monotonic() - started
    server_cpu = ab.process_tree_cpu_seconds(pid) - cpu_before
    client_cpu = time.process_time() - client_before
    machine_after = ab.machine_cpu_seconds()
    db_cpu = db.stop() if db else float("nan")
    stats = Stats()
    for s in per_worker:
        stats.merge(s)
    requests = sum(len(v) for k, v in stats.latencies.items() if k != "setup")
    machine = machine_after[0] - machine_before[0]
    return {
        "label": label, "browser_path": browser_path, "workers": len(states), "seconds": elapsed, "stats": stats,
        "cycles_per_s": stats.cycles / elapsed, "requests": requests,
        "cpu": {"server": server_cpu, "client": client_cpu, "db": db_cpu, "machine": machine,
                "utilisation": machine / max(1e-9, machine_after[1] - machine_before[1]), "load_before": load_before},
        "threads_alive": sum(t.is_alive() for t in threads),
    }


def print_cycles(r: dict[str, Any]) -> list[str]:
    stats: Stats = r["stats"]
    width = 86
    print("-" * width)
    verdict = "met" if r["cycles_per_s"] >= TARGET_CYCLES_PER_S else "MISSED"
    print(f"Phase {r['label']}: {r['workers']} workers, {r['seconds']:.1f} s: {stats.cycles} cycles = "
          f"{r['cycles_per_s']:.1f} cycles/s" + ("" if r["browser_path"] else f" (target ≥ {TARGET_CYCLES_PER_S:g}: {verdict})"))
    print(f"{'step':<20}{'requests':>9}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for step in ("setup", "list", "list (refill)", "group page", "accept", "task page", "task frame",
                 "externalSubmit", "submitted page"):
        lat = stats.latencies.get(step, [])
        errs = sum(n for (s, _), n in stats.errors.items() if s == step)
        if lat or errs:
            per_s = "" if step == "setup" else f"{len(lat) / r['seconds']:.1f}"
            print(f"{step:<20}{len(lat):>9}{per_s:>8}{1000 * ab.percentile(lat, 50):>9.1f}"
                  f"{1000 * ab.percentile(lat, 99):>9.1f}{errs:>8}")
    cyc = stats.cycle_seconds
    print(f"{'whole cycle':<20}{len(cyc):>9}{len(cyc) / r['seconds']:>8.1f}{1000 * ab.percentile(cyc, 50):>9.1f}"
          f"{1000 * ab.percentile(cyc, 99):>9.1f}")
    refusals = ", ".join(f"{k}: {v}" for k, v in stats.refusals.most_common()) or "none"
    print(f"accept refused: {refusals}")
    cpu = r["cpu"]
    n = max(1, stats.cycles)
    other = cpu["machine"] - cpu["server"] - cpu["client"] - (0 if cpu["db"] != cpu["db"] else cpu["db"])
    print(f"CPU: machine {100 * cpu['utilisation']:.0f}% busy (load {cpu['load_before']:.1f} before); per cycle: "
          f"server {1000 * cpu['server'] / n:.1f} ms, "
          + ("" if cpu["db"] != cpu["db"] else f"PostgreSQL {1000 * cpu['db'] / n:.1f} ms, ")
          + f"clients {1000 * cpu['client'] / n:.1f} ms, other {1000 * other / n:.1f} ms "
          f"({r['requests']} requests, server {1000 * cpu['server'] / max(1, r['requests']):.1f} ms CPU per request)")
    failures = []
    if stats.errors:
        print("errors:")
        for (step, kind), count in stats.errors.most_common():
            print(f"  !! {step} {kind}: {count}x  e.g. {stats.samples[(step, kind)]!r}")
        failures += [f"{count}x {kind} on {step} ({r['label']})" for (step, kind), count in stats.errors.items()]
    if r["threads_alive"]:
        failures.append(f"{r['threads_alive']} worker threads still running after phase {r['label']}")
    return failures


# --- The run ------------------------------------------------------------------------------------------------


def launch(instance: ab.Instance, http_workers: int, http_threads: int) -> None:
    instance.port = ab.free_port()
    server_log = open(instance.data_dir / "server.log", "w")  # noqa: SIM115 (closed with the process)
    instance.server = subprocess.Popen(
        [ab.KEMPELEN, "serve", "--host", "127.0.0.1", "--port", str(instance.port), "--no-jobs",
         "--workers", str(http_workers), "--threads", str(http_threads)],
        env=instance.env, stdout=server_log, stderr=subprocess.STDOUT, cwd=instance.data_dir, start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if instance.server.poll() is not None:
            raise SystemExit(f"kempelen serve exited with {instance.server.returncode}:\n{ab.server_log_text(instance)}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=2)
            conn.request("GET", "/worker/login")
            conn.getresponse().read()
            conn.close()
            log(f"server answering on {instance.url} (pid {instance.server.pid}, {http_workers} workers x "
                f"{http_threads} threads, no job runner)")
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("kempelen serve did not answer within 90 s")


def sign_in(instance: ab.Instance, usernames: list[str]) -> tuple[list[dict[str, str]], str]:
    """Cookies per worker, and how they were obtained."""
    probe = Browser(instance.port)
    why = login(probe, usernames[0])
    probe.close()
    if not why:
        jars = []
        with ThreadPoolExecutor(4) as pool:  # PBKDF2 on the server: about 0.5 s of CPU per login
            def one(username: str) -> dict[str, str]:
                b = Browser(instance.port)
                problem = login(b, username)
                b.close()
                if problem:
                    raise SystemExit(f"login of {username} failed: {problem}")
                return dict(b.cookies)
            jars = list(pool.map(one, usernames))
        return jars, "signed in through POST /worker/login"
    made = run_child(instance, "sessions", {"usernames": usernames})
    cookie = made["cookie"]
    return ([{cookie: made["sessions"][u]} for u in usernames],
            f"/worker/login not usable ({why}): sessions created directly (django.contrib.sessions + SESSION_KEY)")


def run(args: argparse.Namespace) -> int:
    instance = ab.prepare(args.database)
    failures: list[str] = []
    out: dict[str, Any] = {"database": args.database, "cpus": os.cpu_count(), "args": vars(args)}
    try:
        t = time.monotonic()
        log("migrated; " + ab.kempelen(instance, "create-requester", "bench", "--name", "Benchmark requester").splitlines()[0])
        migrate_s = time.monotonic() - t
        log(f"filling: {args.groups} HIT groups, {args.hits} HITs, {args.workers} + 2 workers")
        fill = run_child(instance, "fill", {"seed": 1, "groups": args.groups, "hits": args.hits,
                                            "workers": args.workers, "analyze": not args.no_analyze})
        out["fill"] = {k: v for k, v in fill.items() if k not in ("usernames", "group_sample", "hot_groups")}
        tm = fill["timings"]
        log(f"fill: {fill['groups']} groups ({fill['groups_with_requirements']} with requirements), {fill['hits']} HITs "
            f"({fill['slots']} slots, largest group {fill['largest_group']}) in {tm['total']:.1f} s: workers "
            f"{tm['workers']:.1f} s, HIT types {tm['hit_types']:.1f} s, HITs + escrow {tm['hits_and_escrow']:.1f} s "
            f"(ledger {tm['of_which_ledger']:.1f} s), ANALYZE {tm['analyze']:.1f} s; migrate {migrate_s:.1f} s; "
            f"size {fill['size']}")
        if args.fill_only:
            log(f"--fill-only: data dir {instance.data_dir}" + (f", database {instance.pg_name}" if instance.pg_name else "")
                + f"; environment: KEMPELEN_DATA_DIR={instance.data_dir}"
                + (f" KEMPELEN_DATABASE_URL={instance.env['KEMPELEN_DATABASE_URL']}" if instance.pg_name else ""))
            return 0
        launch(instance, args.http_workers, args.http_threads)
        usernames = fill["usernames"]
        cookies, how = sign_in(instance, usernames)
        out["sign_in"] = how
        log(f"workers: {how}")
        out["pages"] = {}
        if args.page_requests:
            log(f"phase 1: pages, {args.page_requests} requests each, {args.page_threads} client threads")
            out["pages"] = phase_pages(instance, cookies[-2:], fill["group_sample"], args.page_requests,
                                       args.page_threads, args.page_limit)
        states = []
        for i in range(args.workers):
            b = Browser(instance.port)
            b.cookies = dict(cookies[i])
            states.append(WorkerState(usernames[i], b, hot=fill["hot_groups"]))
        a = phase_cycles(instance, states, args.seconds, browser_path=False, label="2a")
        for s in states:  # 2b starts from the list again, as a browser would
            s.candidates, s.page, s.hot = [], 1, []
        b2 = phase_cycles(instance, states, args.browser_seconds, browser_path=True, label="2b") \
            if args.browser_seconds > 0 else None
        for s in states:
            s.browser.close()
        ab.stop_server(instance)
        log("verifying: over-filled HITs, a worker twice on a HIT, counters, problems(), escrow_problems()")
        checks = run_child(instance, "verify", {})
        server_log = ab.server_log_text(instance)
        faults = [line for line in server_log.splitlines()
                  if "Traceback" in line or "database is locked" in line or "OperationalError" in line
                  or " ERROR " in line or "[CRITICAL]" in line]
        locked_in_log = server_log.count("database is locked")

        width = 86
        print()
        print("=" * width)
        print(f"Kempelen worker-site benchmark on {args.database}: {os.cpu_count()} CPUs, "
              f"{fill['groups']} HIT groups, {fill['hits']} HITs")
        print("=" * width)
        print(f"Fill: {tm['total']:.1f} s (workers {tm['workers']:.1f}, HIT types {tm['hit_types']:.1f}, "
              f"HITs + escrow {tm['hits_and_escrow']:.1f} of which ledger {tm['of_which_ledger']:.1f}, "
              f"ANALYZE {tm['analyze']:.1f}); workers {how}")
        print("-" * width)
        print("Phase 1: pages (latency from the client; server = gunicorn CPU per request from /proc)")
        print(f"{'page':<30}{'req':>5}{'req/s':>7}{'p50 ms':>9}{'p99 ms':>9}{'server ms':>10}{'db ms':>8}"
              f"{'machine':>8}{'errors':>7}")
        for name, r in out["pages"].items():
            db = "-" if r["db_cpu_ms"] != r["db_cpu_ms"] else f"{r['db_cpu_ms']:.1f}"
            print(f"{name:<30}{r['requests']:>5}{r['per_s']:>7.1f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}"
                  f"{r['server_cpu_ms']:>10.1f}{db:>8}{r['machine_cpu_ms']:>8.1f}{r['errors']:>7}")
            if r["errors"]:
                failures.append(f"{r['errors']} errors on {name}: {r.get('error_kinds')} {r.get('error_sample')}")
        failures += print_cycles(a)
        if b2:
            failures += print_cycles(b2)
        print("-" * width)
        print(f"Verification (read-only, {checks['seconds']:.1f} s)")
        print(f"  assignments by status {checks['assignments_by_status']}, HITs worked on {checks['hits_worked_on']}")
        submitted = checks["assignments_by_status"].get("Submitted", 0)
        client_cycles = a["stats"].cycles + (b2["stats"].cycles if b2 else 0)
        print(f"  submitted in the database {submitted}, cycles counted by the clients {client_cycles}")
        print(f"  over-filled HITs: {len(checks['overfilled_hits'])} {checks['overfilled_hits'] or ''}")
        print(f"  a worker twice on one HIT: {len(checks['worker_twice_on_hit'])} {checks['worker_twice_on_hit'] or ''}")
        print(f"  counters that disagree with the assignments: {len(checks['counter_mismatches'])} "
              f"{checks['counter_mismatches'] or ''}")
        print(f"  ledger problems(): {checks['ledger_problems'] or 'none'}")
        print(f"  escrow_problems(): {checks['escrow_problems'][:5] or 'none'}")
        print(f"  server log: {len(faults)} error lines, 'database is locked' {locked_in_log}x")
        for key, what in (("overfilled_hits", "over-filled HITs"), ("worker_twice_on_hit", "workers twice on a HIT"),
                          ("counter_mismatches", "HIT counters off"), ("ledger_problems", "ledger problems"),
                          ("escrow_problems", "escrow problems")):
            if checks[key]:
                failures.append(f"{len(checks[key])} {what}")
        if submitted != client_cycles:
            failures.append(f"{submitted} submitted in the database but {client_cycles} cycles counted")
        if faults:
            failures.append(f"{len(faults)} error lines in the server log, e.g. {faults[0][:200]}")
        print("=" * width)
        if failures:
            print(f"!! FAILURES on {args.database}:")
            for f in failures:
                print(f"!!   {f}")
        else:
            print(f"No failures on {args.database}: no 5xx, no 'database is locked', no accept refused except for "
                  "'no slot left', invariants hold.")
        print("=" * width, flush=True)
        out["phase_2a"] = summary(a)
        if b2:
            out["phase_2b"] = summary(b2)
        out["checks"] = checks
        out["failures"] = failures
        if args.profile:
            log(f"profile: {args.profile} cycles in-process (Django test client) under cProfile")
            out["profile"] = run_child(instance, "profile", {"cycles": args.profile, "save": args.save_profile or ""})
            out["sizes"] = run_child(instance, "sizes", {"n": 300})
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=2, default=str))
        return 1 if failures else 0
    finally:
        if args.keep and instance.pg_name:
            ab.stop_server(instance)
            log(f"kept {instance.data_dir} and database {instance.pg_name} (drop it yourself)")
        else:
            ab.teardown(instance, args.keep)


def summary(r: dict[str, Any]) -> dict[str, Any]:
    stats: Stats = r["stats"]
    return {
        "seconds": r["seconds"], "cycles": stats.cycles, "cycles_per_s": r["cycles_per_s"], "requests": r["requests"],
        "steps": {k: {"n": len(v), "p50_ms": 1000 * ab.percentile(v, 50), "p99_ms": 1000 * ab.percentile(v, 99)}
                  for k, v in stats.latencies.items()},
        "cycle_p50_ms": 1000 * ab.percentile(stats.cycle_seconds, 50),
        "cycle_p99_ms": 1000 * ab.percentile(stats.cycle_seconds, 99),
        "errors": {f"{s} {k}": n for (s, k), n in stats.errors.items()}, "refusals": dict(stats.refusals),
        "cpu": r["cpu"],
    }


# --- In-process profile of the cycle --------------------------------------------------------------------------

BUCKETS = [  # (label, file fragment, function) measured as cumulative time; they nest, so they do not add up
    ("session load (SessionMiddleware → db.load)", "sessions/backends/db.py", "load"),
    ("session save", "sessions/backends/db.py", "save"),
    ("auth: request.user (get_user)", "contrib/auth/__init__.py", "get_user"),
    ("CSRF check", "middleware/csrf.py", "process_view"),
    ("messages: storing (update)", "messages/storage/base.py", "update"),
    ("template rendering (render_to_string)", "template/loader.py", "render_to_string"),
    ("ORM: SQL compilation (as_sql)", "models/sql/compiler.py", "as_sql"),
    ("database: cursor.execute", "backends/utils.py", "_execute"),
    ("commit", "backends/base/base.py", "commit"),
    ("signing (dumps/loads)", "core/signing.py", "dumps"),
    ("signing loads", "core/signing.py", "loads"),
    ("accept_assignment", "marketplace/actions/work.py", "accept_assignment"),
    ("  check_may (requirements, blocks)", "marketplace/actions/work.py", "check_may"),
    ("  _candidate_hits", "marketplace/actions/work.py", "_candidate_hits"),
    ("  _accept_one", "marketplace/actions/work.py", "_accept_one"),
    ("  lock_hit", "marketplace/actions/_lifecycle.py", "lock_hit"),
    ("  settle_first", "marketplace/actions/_lifecycle.py", "settle_first"),
    ("  ensure_worker_account", "ledger/actions.py", "ensure_worker_account"),
    ("  audit.record", "core/audit.py", "record"),
    ("  emit (notifications)", "notifications/actions.py", "emit"),
    ("submit_assignment", "marketplace/actions/work.py", "submit_assignment"),
    ("  _workers_assignment", "marketplace/actions/work.py", "_workers_assignment"),
    ("answers_from_form_post", "questions/answers.py", "answers_from_form_post"),
    ("Model.from_db (rows → instances)", "db/models/base.py", "from_db"),
    ("_own_assignment", "worker_site/views_work.py", "_own_assignment"),
    ("settle_if_due", "marketplace/actions/_lifecycle.py", "settle_if_due"),
    ("refresh_from_db", "db/models/base.py", "refresh_from_db"),
    ("parse_question", "questions/formats.py", "parse_question"),
    ("_frame (task frame URL)", "worker_site/views_work.py", "_frame"),
    ("discoverable_groups", "marketplace/queries.py", "discoverable_groups"),
    ("  unmet_requirements", "qualifications/queries.py", "unmet_requirements"),
    ("group_views", "worker_site/queries_work.py", "group_views"),
    ("  requester_records", "worker_site/queries_work.py", "requester_records"),
    ("  requirement_views", "worker_site/queries_work.py", "requirement_views"),
    ("hit_for_preview", "marketplace/queries.py", "hit_for_preview"),
    ("_worker_for (externalSubmit)", "worker_site/views_submit.py", "_worker_for"),
]


def child_profile(params: dict[str, Any]) -> dict[str, Any]:
    """Serve cycles in-process through Django's test client (all middleware, CSRF enforced, no gunicorn): first
    ``cycles`` cycles measured (thread CPU, statements), then as many again under cProfile."""
    import cProfile
    import pstats

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    user = get_user_model().objects.get(username="p1")
    client = Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True)
    client.force_login(user)
    cycles = params["cycles"]
    profiles: dict[str, cProfile.Profile] = defaultdict(cProfile.Profile)
    cpu: dict[str, float] = defaultdict(float)
    calls: Counter[str] = Counter()
    profiled_calls: Counter[str] = Counter()
    queries: Counter[str] = Counter()
    state: dict[str, Any] = {"n": 0, "profiling": False, "sql": None, "csrf": ""}

    def counting(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        state["n"] += 1
        if state["sql"] is not None:
            state["sql"].append(" ".join(sql.split())[:150])
        return execute(sql, params, many, context)

    def step(name: str, method: str, path: str, data: dict[str, str] | None = None,
             expect: tuple[int, ...] = (200,)) -> Any:
        before_q = state["n"]
        if state["sql"] is not None:
            state["sql"].append(f"-- {name}")
        if state["profiling"]:
            profiles[name].enable()
            response = client.post(path, data) if method == "POST" else client.get(path)
            profiles[name].disable()
            profiled_calls[name] += 1
        else:
            t = time.thread_time()
            response = client.post(path, data) if method == "POST" else client.get(path)
            cpu[name] += time.thread_time() - t
            calls[name] += 1
            queries[name] += state["n"] - before_q
        if response.status_code not in expect:
            raise RuntimeError(f"{name}: {path} answered {response.status_code}")
        return response

    page = 1
    candidates: list[str] = []
    exhausted: set[str] = set()

    def run_cycles(n: int) -> None:
        nonlocal page, candidates
        done = 0
        while done < n:
            if not candidates:
                body = step("list (qualified only)", "GET", f"/worker/?qualified=1&page={page}").content.decode()
                candidates = [g for g in dict.fromkeys(_GROUP_LINK.findall(body)) if g not in exhausted]
                if not candidates:
                    page += 1
                    continue
            group = candidates[0]
            preview = step("group page", "GET", f"/worker/projects/{group}/tasks", expect=(200, 404))
            if preview.status_code == 404:
                exhausted.add(candidates.pop(0))  # this worker took its last slots
                continue
            state["csrf"] = _CSRF.search(preview.content.decode()).group(1)  # type: ignore[union-attr]
            accepted = step("accept", "POST", f"/worker/projects/{group}/tasks/accept",
                            {"csrfmiddlewaretoken": state["csrf"], "auto": "0"}, expect=(302,))
            match = re.search(r"/worker/tasks/([A-Z0-9]+)$", accepted["Location"])
            if not match:
                exhausted.add(candidates.pop(0))
                continue
            assignment_id = match.group(1)
            task = step("task page", "GET", f"/worker/tasks/{assignment_id}").content.decode()
            src = html.unescape(_IFRAME.search(task).group(1))  # type: ignore[union-attr]
            parts = urlsplit(src)
            step("task frame", "GET", f"{parts.path}?{parts.query}")
            submit_to = urlsplit(parse_qs(parts.query)["turkSubmitTo"][0]).path + "/mturk/externalSubmit"
            step("externalSubmit", "POST", submit_to, {"assignmentId": assignment_id, "sentiment": "positive",
                                                        "comment": "benchmark answer"})
            step("submitted page", "GET", f"/worker/tasks/{assignment_id}/submitted")
            done += 1
            if state["sql"] is not None and done == 1:
                print("\nStatements of one cycle (after a warm-up):")
                print("\n".join(f"  {line}" for line in state["sql"]))
                state["sql"] = None

    list_variants = ("/worker/", f"/worker/?q={SEARCH_COMMON}", "/worker/?sort=reward", "/worker/?page=5")
    with connection.execute_wrapper(counting):
        # Warm up (URLconf, templates, per-process caches), then one cycle with its statements printed.
        for variant in list_variants:
            client.get(variant)
        run_cycles(3)
        cpu.clear()
        calls.clear()
        queries.clear()
        state["sql"] = []
        run_cycles(1)
        for variant in list_variants:
            for _ in range(5):
                step(f"list {variant}", "GET", variant)
        run_cycles(cycles)
        state["profiling"] = True
        for variant in list_variants[:1]:
            for _ in range(5):
                step(f"list {variant}", "GET", variant)
        run_cycles(cycles)

    report: dict[str, Any] = {"steps": {}}
    print(f"\nIn-process ({connection.vendor}): {cycles} cycles through Django's test client (all middleware, CSRF "
          "checked, no gunicorn), CPU = thread time per request without the profiler")
    print(f"{'step':<34}{'calls':>6}{'CPU ms/call':>12}{'queries/call':>13}")
    cycle_steps = ("accept", "task page", "externalSubmit")
    for name in calls:
        report["steps"][name] = {"calls": calls[name], "cpu_ms": 1000 * cpu[name] / calls[name],
                                 "queries": queries[name] / calls[name]}
        print(f"{name:<34}{calls[name]:>6}{1000 * cpu[name] / calls[name]:>12.2f}{queries[name] / calls[name]:>13.1f}")
    target = sum(report["steps"][s]["cpu_ms"] for s in cycle_steps)
    print(f"target cycle (accept + task page + externalSubmit): {target:.1f} ms of CPU in Django "
          f"→ at most {2000 / target:.0f} cycles/s on 2 cores before gunicorn, the clients and the database")
    report["target_cycle_cpu_ms"] = target
    save = params.get("save")
    for name in ("accept", "task page", "externalSubmit", "group page", "list /worker/", "submitted page",
                 "task frame"):
        if name not in profiles or name not in report["steps"]:
            continue
        stats = pstats.Stats(profiles[name])
        n = profiled_calls[name]
        if save:
            Path(save).mkdir(parents=True, exist_ok=True)
            stats.dump_stats(str(Path(save) / f"{re.sub(r'[^a-z0-9]+', '_', name)}.prof"))
        raw = stats.stats  # type: ignore[attr-defined]
        total = sum(tt for (_, _, _), (_, _, tt, _, _) in raw.items())
        rows = []
        for label, fragment, func in BUCKETS:
            cum = sum(ct for (file, _, fn), (_, _, _, ct, _) in raw.items() if fn == func and fragment in file)
            if cum > 0.02 * total:
                rows.append((label, cum))
        print(f"\n  {name}: {1000 * total / n:.2f} ms/call under cProfile; cumulative shares (nested, do not add up)")
        for label, cum in rows:
            print(f"    {label:<48}{1000 * cum / n:>8.2f} ms {100 * cum / total:>5.0f}%")
        report["steps"][name]["buckets"] = {label: 1000 * cum / n for label, cum in rows}
        own = sorted(((ct, fn, file, line) for (file, line, fn), (_, _, _, ct, _) in raw.items()
                      if "/kempelen/" in file and fn not in ("wrapper", "_wrapper_view", "inner", "__call__")),
                     reverse=True)[:8]
        print("    kempelen functions by cumulative time:")
        for ct, fn, file, line in own:
            print(f"      {1000 * ct / n:7.2f} ms  {file.split('/src/')[-1]}:{line} {fn}")
    return report


def child_sizes(params: dict[str, Any]) -> dict[str, Any]:
    """CPU of the cycle's reads as written today next to cheaper spellings (sizes the suggested fixes)."""
    from importlib import import_module

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.db.models import Count

    from kempelen.accounts.models import Worker
    from kempelen.core import clock, lookups
    from kempelen.marketplace.actions.work import _candidate_hits
    from kempelen.marketplace.models import HIT, HOLDING_STATUSES, Assignment, HITType
    from kempelen.marketplace.queries import hit_for_preview

    n = params.get("n", 300)
    user = get_user_model().objects.get(username="w000")
    worker = Worker.objects.get(user=user)
    assignment = Assignment.objects.filter(worker=worker).order_by("-accept_time").first()
    if assignment is None:
        return {"error": "no assignment of w000 to measure with"}
    small = HITType.objects.get(pk=assignment.hit.hit_type_id)
    largest_id = (HIT.objects.values("hit_type_id").annotate(n=Count("id")).order_by("-n")
                  .values_list("hit_type_id", flat=True).first())
    largest = HITType.objects.get(pk=largest_id)
    store = import_module(settings.SESSION_ENGINE).SessionStore
    session = store()
    session["x"] = 1
    session.create()
    now = clock.now()
    sql_candidates = (
        "SELECT h.id FROM marketplace_hit h WHERE h.hit_type_id = %s AND h.expiration > %s AND h.available > 0 "
        "AND h.disposed_at IS NULL AND h.id NOT IN (SELECT a.hit_id FROM marketplace_assignment a WHERE "
        "a.worker_id = %s AND a.status IN ('Accepted', 'Submitted', 'Approved', 'Rejected') AND a.hit_id IN "
        "(SELECT id FROM marketplace_hit WHERE hit_type_id = %s)) ORDER BY h.created_at, h.id LIMIT 5")

    def raw_candidates(hit_type: HITType) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(sql_candidates, [hit_type.pk, now, worker.pk, hit_type.pk])
            return [r[0] for r in cursor.fetchall()]

    def save_session() -> None:
        session["x"] += 1
        session.save()

    def task_reads_today() -> None:
        a = Assignment.objects.select_related("hit__hit_type", "hit__requester", "worker").filter(
            pk=assignment.pk, worker=worker).first()
        a.refresh_from_db()  # type: ignore[union-attr]
        _ = (a.hit.hit_type.title, a.worker.worker_id)  # type: ignore[union-attr]

    def task_reads_once() -> None:
        a = Assignment.objects.select_related("hit__hit_type", "hit__requester", "worker").filter(
            pk=assignment.pk, worker=worker).first()
        _ = (a.hit.hit_type.title, a.worker.worker_id)  # type: ignore[union-attr]

    def submit_reads_today() -> None:
        Assignment.objects.select_related("worker").filter(pk=assignment.pk).first()
        Assignment.objects.filter(pk=assignment.pk, worker=worker).only("id", "hit_id").first()

    variants: list[tuple[str, Any]] = [
        ("session save (accept writes it every time)", save_session),
        ("auth today: user, then request.user.worker", lambda: get_user_model().objects.get(pk=user.pk).worker),  # type: ignore[attr-defined]
        ("auth: user with select_related('worker')",
         lambda: get_user_model().objects.select_related("worker").get(pk=user.pk).worker),  # type: ignore[attr-defined]
        ("task page reads today (incl. refresh_from_db)", task_reads_today),
        ("task page reads without refresh_from_db", task_reads_once),
        ("externalSubmit: assignment read twice before the lock", submit_reads_today),
        ("HIT type by group id, ORM .first()",
         lambda: HITType.objects.filter(group_id=small.group_id, environment="live").first()),
        ("HIT type by group id, lookups.one", lambda: lookups.one(HITType, "group_id = %s AND environment = %s",
                                                                   [small.group_id, "live"])),
        ("_candidate_hits, ORM (a small group)", lambda: _candidate_hits(worker, small, now, exclude=set())),
        ("_candidate_hits, raw SQL (a small group)", lambda: raw_candidates(small)),
        (f"_candidate_hits, ORM (largest group, {HIT.objects.filter(hit_type=largest).count()} HITs)",
         lambda: _candidate_hits(worker, largest, now, exclude=set())),
        ("_candidate_hits, raw SQL (largest group)", lambda: raw_candidates(largest)),
        ("hit_for_preview (a small group)", lambda: hit_for_preview(worker, "live", small.group_id)),
        ("hit_for_preview (largest group)", lambda: hit_for_preview(worker, "live", largest.group_id)),
        ("worker's live assignments on the group (the NOT IN)", lambda: list(Assignment.objects.filter(
            worker=worker, hit__hit_type=small, status__in=HOLDING_STATUSES).values_list("hit_id", flat=True))),
    ]
    out = {}
    print(f"\nCPU per call in this process ({connection.vendor}; PostgreSQL's own CPU not included), {n} calls each:")
    for label, fn in variants:
        for _ in range(5):
            with transaction.atomic():
                fn()
        t = time.thread_time()
        w = time.perf_counter()
        for _ in range(n):
            with transaction.atomic():
                fn()
        cpu = 1000 * (time.thread_time() - t) / n
        wall = 1000 * (time.perf_counter() - w) / n
        out[label] = {"cpu_ms": cpu, "wall_ms": wall}
        print(f"  {label:<62}{cpu:>7.2f} ms CPU {wall:>7.2f} ms wall")
    session.delete()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--groups", type=int, default=10_000, help="HIT groups (HIT types)")
    parser.add_argument("--hits", type=int, default=200_000, help="HITs")
    parser.add_argument("--workers", type=int, default=50, help="concurrent simulated workers in phase 2")
    parser.add_argument("--seconds", type=float, default=30, help="length of phase 2a (the target cycle)")
    parser.add_argument("--browser-seconds", type=float, default=20, help="length of phase 2b (0: skip)")
    parser.add_argument("--page-requests", type=int, default=100, help="requests per page kind in phase 1 (0: skip)")
    parser.add_argument("--page-threads", type=int, default=2, help="client threads in phase 1")
    parser.add_argument("--page-limit", type=float, default=15, help="seconds at most per page kind in phase 1")
    parser.add_argument("--http-workers", type=int, default=2, help="kempelen serve --workers")
    parser.add_argument("--http-threads", type=int, default=8, help="kempelen serve --threads")
    parser.add_argument("--no-analyze", action="store_true", help="skip ANALYZE after the fill")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="then profile N cycles in-process")
    parser.add_argument("--save-profile", metavar="DIR", help="write the profile's .prof files here")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir (and the PostgreSQL database)")
    parser.add_argument("--fill-only", action="store_true", help="set up and fill, then stop (with --keep: to experiment)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        handler = {"fill": child_fill, "sessions": child_sessions, "verify": child_verify,
                   "profile": child_profile, "sizes": child_sizes}[args.child]
        result = handler(json.loads(args.params))
        print("@@JSON@@" + json.dumps(result, default=str), flush=True)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # clean up (server, database) when stopped
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
