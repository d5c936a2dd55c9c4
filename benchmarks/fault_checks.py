"""What the fault scenario (fault_bench.py) reads and checks: the child processes that work inside Django against
the scenario's database (accounts, claims a killed runner left, the read-only verification), the comparison of what
the clients saw with what the database holds and what the webhook receiver got, and the figures per window."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import api_bench as ab

# Audit actions and the notification event each one must have queued.
AUDITED_EVENTS = {"accept_assignment": "AssignmentAccepted", "submit_assignment": "AssignmentSubmitted",
                  "approve_assignment": "AssignmentApproved", "reject_assignment": "AssignmentRejected",
                  "return_assignment": "AssignmentReturned", "abandon_assignment": "AssignmentAbandoned",
                  "create_hit": "HITCreated", "expire_hit": "HITExpired"}

# --- What the clients saw --------------------------------------------------------------------------------------


@dataclass
class Record:
    t: float          # seconds since the run started, when the request was sent
    op: str
    seconds: float
    outcome: str      # "ok", "refused: …" (an answer the scenario expects), "lost: …", "failed over", "error: …"
    node: str = ""


# --- Children: work inside Django against the benchmark's database -------------------------------------------


def child_accounts(params: dict[str, Any]) -> dict[str, Any]:
    """Requesters with an access key and live funds, and workers, through the actions (what `kempelen
    create-requester`, `add-funds` and `create-worker` do, in one process). The workers share one PBKDF2 hash:
    hashing 200 passwords would take a minute of CPU and tells nothing about the scenario."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from kempelen.accounts import actions as accounts
    from kempelen.core.actors import Actor
    from kempelen.ledger import actions as ledger

    operator = Actor.operator("fault-bench")
    requesters = []
    for i in range(params["requesters"]):
        requester = accounts.create_requester(actor=operator, username=f"fault-r{i}", display_name=f"Requester {i}")
        issued = accounts.issue_credential(actor=operator, requester=requester)
        ledger.deposit(requester=requester, environment="live", cents=100_000_000, key=f"fault-deposit-{i}",
                       actor=operator)
        requesters.append([f"fault-r{i}", issued.access_key_id, issued.secret_access_key])
    names = [f"fault-worker-{i}" for i in range(params["workers"])]
    first = accounts.create_worker(actor=operator, username=names[0], password=params["password"], country="US")
    for name in names[1:]:
        accounts.create_worker(actor=operator, username=name, country="US")
    get_user_model().objects.filter(username__in=names[1:]).update(password=first.user.password)
    return {"requesters": requesters, "workers": names}


def child_deliver(params: dict[str, Any]) -> dict[str, Any]:
    """What another runner does once a dead runner's claims have lapsed: business time is moved past the claim's
    lease, then every due message is sent (again, under its EventDocId)."""
    import datetime as dt

    import django

    django.setup()
    from kempelen.core import clock
    from kempelen.notifications import delivery
    from kempelen.notifications.models import OutboxEvent

    pending = OutboxEvent.objects.filter(delivered_at__isnull=True, dead_at__isnull=True)
    leased = pending.filter(next_attempt_at__gt=clock.now() + dt.timedelta(seconds=60), attempts__gt=0)
    found = {"pending": pending.count(), "leased": leased.count(),
             "leased_messages": len(set(leased.values_list("message_id", flat=True)))}
    clock.advance(delivery._lease_seconds() + 1)
    delivered = 0
    for _ in range(1000):
        n = delivery.deliver_due()
        delivered += n
        if not n:
            break
    found.update(delivered=delivered, still_pending=pending.count())
    return found


def child_verify(params: dict[str, Any]) -> dict[str, Any]:
    """Read what the database holds (read-only) and check what needs only the database."""
    import django

    django.setup()
    from django.db.models import Count, Sum

    from kempelen.core.models import AuditEvent, IdempotencyToken
    from kempelen.ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction
    from kempelen.ledger.queries import problems
    from kempelen.marketplace.invariants import escrow_problems
    from kempelen.marketplace.models import HIT, HOLDING_STATUSES, Assignment
    from kempelen.notifications.models import OutboxEvent

    violations: dict[str, list[str]] = defaultdict(list)
    audit = list(AuditEvent.objects.filter(action__in=[*AUDITED_EVENTS, "create_additional_assignments"])
                 .order_by("pk").values_list("action", "target_id", "data"))
    # No HIT ever had more slots in use than MaxAssignments: replay accepts, returns and abandonments per HIT in
    # audit order (each is written under the HIT's row lock, so the order per HIT is the order of the changes).
    in_use: Counter[str] = Counter()
    most: Counter[str] = Counter()
    maximum: dict[str, int] = {}
    for action, target, data in audit:
        if action == "create_hit":
            maximum[target] = int(data["max_assignments"])
        elif action == "create_additional_assignments":
            maximum[target] = maximum.get(target, 0) + int(data["count"])
        elif action == "accept_assignment":
            in_use[data["hit_id"]] += 1
            most[data["hit_id"]] = max(most[data["hit_id"]], in_use[data["hit_id"]])
            if in_use[data["hit_id"]] > maximum.get(data["hit_id"], 0):
                violations["over-filled HITs (audit replay)"].append(
                    f"HIT {data['hit_id']}: {in_use[data['hit_id']]} slots in use after accepting {target}, "
                    f"MaxAssignments {maximum.get(data['hit_id'])}")
        elif action in ("return_assignment", "abandon_assignment"):
            in_use[data["hit_id"]] -= 1
    hits = {pk: m for pk, m in HIT.objects.values_list("pk", "max_assignments")}
    rows = Counter(Assignment.objects.filter(status__in=HOLDING_STATUSES).values_list("hit_id", flat=True))
    for hit_id in rows.keys() | {h for h, n in in_use.items() if n}:
        n = rows[hit_id]
        if n > hits[hit_id]:
            violations["over-filled HITs (rows)"].append(f"HIT {hit_id}: {n} assignments in use, max {hits[hit_id]}")
        if n != in_use[hit_id]:
            violations["audit log and rows disagree"].append(f"HIT {hit_id}: {n} in use, audit says {in_use[hit_id]}")
    twice = (Assignment.objects.filter(status__in=HOLDING_STATUSES).values("hit_id", "worker_id")
             .annotate(n=Count("pk")).filter(n__gt=1))
    violations["a worker twice on one HIT"] += [f"HIT {r['hit_id']}, worker {r['worker_id']}" for r in twice]

    # Money: balanced, every approved assignment paid once and nothing else paid, nothing negative, escrow right.
    violations["ledger"] += problems()
    violations["escrow"] += escrow_problems()
    paid = Counter(LedgerTransaction.objects.filter(kind="assignment_payment").values_list("assignment_id", flat=True))
    approvals = Counter(t for a, t, _ in audit if a == "approve_assignment")
    assignments = list(Assignment.objects.values_list("pk", "hit_id", "worker__user__username", "status", "answer"))
    for pk, _hit, _who, status, _answer in assignments:
        want = 1 if status == "Approved" else 0
        if paid[pk] != want or approvals[pk] != want:
            violations["payments"].append(f"assignment {pk} ({status}): {paid[pk]} payments, {approvals[pk]} approvals")
    sums = dict(LedgerEntry.objects.values("account_id").annotate(total=Sum("amount_cents"))
                .values_list("account_id", "total"))
    negative = [f"{a.key}: {sums.get(a.pk, 0)}" for a in LedgerAccount.objects.exclude(kind="external")
                if (sums.get(a.pk, 0) or 0) < 0]
    violations["negative balances"] += negative

    submits = Counter(t for a, t, _ in audit if a == "submit_assignment")
    answer_of = {}
    for pk, _hit, _who, _status, answer in assignments:
        found = re.search(r"<QuestionIdentifier>answer</QuestionIdentifier>\s*<FreeText>([0-9a-f]{32})</FreeText>",
                          answer or "")
        answer_of[pk] = found.group(1) if found else ""
    tokens = Counter(IdempotencyToken.objects.filter(scope="hit").values_list("token", flat=True))
    created = Counter(t for a, t, _ in audit if a == "create_hit")
    if len(created) != sum(created.values()) or sum(created.values()) != len(hits):
        violations["HITs"].append(f"{sum(created.values())} create_hit audit rows for {len(hits)} HITs")
    if sum(tokens.values()) != len(hits):
        violations["HITs"].append(f"{len(hits)} HITs for {sum(tokens.values())} UniqueRequestTokens")

    expected: Counter[tuple[str, str, str]] = Counter()
    for action, target, data in audit:
        if action in ("create_hit", "expire_hit"):
            expected[(AUDITED_EVENTS[action], target, "")] += 1
        elif action in AUDITED_EVENTS:
            expected[(AUDITED_EVENTS[action], data["hit_id"], target)] += 1
    events = list(OutboxEvent.objects.filter(test=False).values_list(
        "pk", "event_type", "hit_id", "assignment_id", "event_timestamp", "message_id", "delivered_at", "dead_at",
        "attempts"))
    queued = Counter((e[1], e[2], e[3]) for e in events if e[1] in AUDITED_EVENTS.values())
    for key in expected.keys() | queued.keys():
        if expected[key] != queued[key]:
            violations["events queued vs audit log"].append(f"{key}: audit {expected[key]}, outbox {queued[key]}")
    return {
        "violations": {k: v for k, v in violations.items() if v},
        "assignments": [[pk, hit, who, status, answer_of[pk], submits[pk]] for pk, hit, who, status, _ in assignments],
        "hits": len(hits), "most_in_use": sum(most.values()), "slots": sum(hits.values()),
        "events": [[pk, typ, hit, asg, ts.strftime("%Y-%m-%dT%H:%M:%SZ"), mid, delivered is not None, dead is not None,
                    attempts] for pk, typ, hit, asg, ts, mid, delivered, dead, attempts in events],
        "statuses": Counter(a[3] for a in assignments),
        "payments": sum(paid.values()),
    }


# --- Checking what the clients saw against the database -----------------------------------------------------


def check_submissions(submissions: dict[str, tuple[str, str]], accepted: dict[str, str], db: dict[str, Any]) -> tuple[
        dict[str, list[str]], dict[str, int]]:
    """``submissions``: assignment id → (the answer's nonce, the outcome the worker saw); ``accepted``: assignment
    id → the worker whose accept returned it."""
    violations: dict[str, list[str]] = defaultdict(list)
    stored = {row[0]: row for row in db["assignments"]}
    outcomes: Counter[str] = Counter()
    for assignment_id, (nonce, outcome) in submissions.items():
        row = stored.get(assignment_id)
        is_stored = row is not None and row[5] > 0
        success = outcome in ("ok", "ok after a lost attempt", "stored by the lost attempt")
        if success and (row is None or not is_stored or row[4] != nonce):
            violations["successful submissions not stored"].append(f"{assignment_id}: {row}")
        outcomes[f"{outcome} ({'stored' if is_stored else 'not stored'})" if outcome == "unknown" else outcome] += 1
    for pk, _hit, who, _status, nonce, submits in db["assignments"]:
        if submits > 1:
            violations["submissions stored more than once"].append(f"{pk}: {submits} submit_assignment rows")
        if submits and submissions.get(pk, ("",))[0] != nonce:
            violations["stored submissions nobody sent"].append(f"{pk} by {who}: answer {nonce!r}")
    for assignment_id, who in accepted.items():
        if assignment_id not in stored or stored[assignment_id][2] != who:
            violations["accepted assignments missing"].append(f"{assignment_id} ({who})")
    return violations, dict(outcomes)


def check_notifications(received: list[tuple[dict[str, str], bytes]], db: dict[str, Any], keys: dict[str, bytes]
                        ) -> tuple[dict[str, list[str]], dict[str, int]]:
    """``received``: the headers and body of every webhook POST; ``keys``: each access key's signing key."""
    violations: dict[str, list[str]] = defaultdict(list)
    arrived: Counter[tuple[str, ...]] = Counter()
    documents: set[str] = set()
    repeats = 0
    for headers, body in received:
        key = keys.get(headers.get("X-Kempelen-Access-Key-Id", ""))
        stamp = headers.get("X-Kempelen-Timestamp", "")
        expected = "v1=" + hmac.new(key or b"", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        if key is None or not hmac.compare_digest(expected, headers.get("X-Kempelen-Signature", "")):
            violations["webhook messages with a bad signature"].append(body[:200].decode(errors="replace"))
            continue
        document = json.loads(body)
        doc_id = document["EventDocId"]
        if doc_id in documents:
            repeats += 1
        documents.add(doc_id)
        for e in document["Events"]:
            arrived[(doc_id, e["EventType"], e.get("HITId", ""), e.get("AssignmentId", ""), e["EventTimestamp"])] += 1
    queued = {(mid, typ, hit, asg, ts): (delivered, dead) for _pk, typ, hit, asg, ts, mid, delivered, dead, _a
              in db["events"]}
    for key, (delivered, dead) in queued.items():
        if not arrived.get(key):
            violations["events that never arrived"].append(f"{key} (delivered_at {'set' if delivered else 'empty'}, "
                                                            f"{'dead' if dead else 'not dead'})")
        elif not delivered:
            violations["events arrived but not marked delivered"].append(str(key))
    for key in arrived.keys() - queued.keys():
        violations["events that arrived but were never queued"].append(str(key))
    figures = {"queued": len(queued), "messages": len(received), "distinct messages": len(documents),
               "messages received again (same EventDocId)": repeats,
               "events received more than once": sum(1 for n in arrived.values() if n > 1)}
    return violations, figures


# --- Figures: throughput and latency before, during and after the kills --------------------------------------


def windows(timeline: list[dict[str, Any]], seconds: float) -> list[tuple[str, float, float]]:
    first_kill = min((e["t"] for e in timeline if e["what"].startswith("SIGKILL")), default=seconds)
    recovered = min(seconds, max((e["t"] for e in timeline if "again" in e["what"]), default=seconds))
    return [("before", 0.0, first_kill), ("during", first_kill, recovered), ("after", recovered, seconds)]


def figures(records: list[Record], timeline: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    records = [r for r in records if r.op != "setup"]
    out: dict[str, Any] = {}
    for name, start, end in windows(timeline, seconds):
        inside = [r for r in records if start <= r.t + r.seconds < end]  # by when the answer (or failure) came
        length = max(1e-9, end - start)
        ops: dict[str, Any] = {}
        for op in ("accept", "submit", "return", "CreateHIT", "ListAssignmentsForHIT", "ApproveAssignment",
                   "RejectAssignment"):
            ok = [r.seconds for r in inside if r.op == op and not r.outcome.startswith(("lost", "failed", "error"))]
            ops[op] = {"n": len(ok), "per_s": len(ok) / length, "p50_ms": 1000 * ab.percentile(ok, 50),
                       "p99_ms": 1000 * ab.percentile(ok, 99)}
        submitted = sum(1 for r in inside if r.op.startswith("submit") and r.outcome == "ok")
        out[name] = {
            "from": start, "to": end, "ops": ops, "submissions_per_s": submitted / length,
            "requests_per_s": sum(1 for r in inside if r.outcome == "ok") / length,
            "failures": dict(Counter(f"{r.outcome} ({r.node or '?'})" for r in inside
                                     if r.outcome.startswith(("lost", "failed", "error")))),
        }
    buckets = max(1.0, seconds / 12)
    out["timeline"] = []
    for b in range(int(seconds / buckets + 0.5)):
        inside = [r for r in records if b * buckets <= r.t + r.seconds < (b + 1) * buckets]
        out["timeline"].append({
            "from": b * buckets,
            "submissions_per_s": sum(1 for r in inside if r.op.startswith("submit") and r.outcome == "ok") / buckets,
            "failures": sum(1 for r in inside if r.outcome.startswith(("lost", "failed", "error"))),
        })
    return out


def print_figures(f: dict[str, Any]) -> None:
    print(f"{'window':<8}{'seconds':>12}{'submits/s':>11}{'requests/s':>12}   failures")
    for name in ("before", "during", "after"):
        w = f[name]
        failures = ", ".join(f"{k}: {v}" for k, v in sorted(w["failures"].items())) or "none"
        print(f"{name:<8}{w['from']:>5.1f}-{w['to']:<6.1f}{w['submissions_per_s']:>11.1f}{w['requests_per_s']:>12.1f}"
              f"   {failures}")
    print(f"\n{'operation':<24}" + "".join(f"{n + ' p50/p99 ms':>26}" for n in ("before", "during", "after")))
    for op in f["before"]["ops"]:
        cells = []
        for name in ("before", "during", "after"):
            o = f[name]["ops"][op]
            cells.append(f"{o['per_s']:>6.1f}/s {o['p50_ms']:>7.0f} {o['p99_ms']:>7.0f}" if o["n"] else f"{'-':>24}")
        print(f"{op:<24}" + "".join(f"{c:>26}" for c in cells))
    print("\nsubmissions per second over the run: "
          + " ".join(f"{b['from']:.0f}s:{b['submissions_per_s']:.0f}" for b in f["timeline"]))
    print("requests lost, failed over or failed:  "
          + " ".join(f"{b['from']:.0f}s:{b['failures']}" for b in f["timeline"]))


