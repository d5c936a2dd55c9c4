"""``kempelen simulate``: synthetic workers who accept and submit open HITs, so a requester can test a
pipeline end to end without people (and so tests and benchmarks have a crowd).

Answers are drawn from the question itself: the form fields of an HTMLQuestion or layout, the
constraints of a QuestionForm, or a single field for an ExternalQuestion. A requester can instead give a
script defining ``answer(hit, question, worker)`` that returns a list of ``(field, value)`` pairs.
"""

from __future__ import annotations

import importlib.util
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import close_old_connections, connection

from kempelen.accounts import actions as accounts
from kempelen.accounts.models import Worker
from kempelen.core import clock
from kempelen.core.actors import Actor
from kempelen.core.errors import KempelenError
from kempelen.marketplace import actions
from kempelen.marketplace.models import HIT, HOLDING_STATUSES, Assignment
from kempelen.questions.answers import answers_from_form_post, answers_from_question_form
from kempelen.questions.formats import QuestionForm, parse_question
from kempelen.questions.simulation import synthetic_answers

AnswerScript = Callable[..., list[tuple[str, str]]]


@dataclass
class Report:
    environment: str
    workers: int
    submitted: int = 0
    returned: int = 0
    seconds: float = 0.0
    refusals: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        rate = self.submitted / self.seconds if self.seconds else 0.0
        lines = [
            f"Simulated {self.workers} worker(s) in the {self.environment} environment for {self.seconds:.1f}s:",
            f"  submitted {self.submitted} assignment(s) ({rate:.1f}/s), returned {self.returned}",
        ]
        lines += [f"  refused {n}x: {why}" for why, n in self.refusals.most_common(5)]
        return "\n".join(lines)


def synthetic_workers(count: int, environment: str) -> list[Worker]:
    """The simulation's workers (``simworker-N``), created on first use."""
    found = {w.user.username: w for w in Worker.objects.filter(synthetic=True).select_related("user")}
    workers = []
    for i in range(1, count + 1):
        name = f"simworker-{i}"
        worker = found.get(name) or accounts.create_worker(
            actor=Actor.system("simulate"), username=name, country="US", is_adult=True, synthetic=True
        )
        workers.append(worker)
    return workers


def load_script(path: str) -> AnswerScript:
    spec = importlib.util.spec_from_file_location("kempelen_simulation_script", Path(path))
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "answer"):
        raise SystemExit(f"{path} must define answer(hit, question, worker) -> list of (field, value)")
    return module.answer  # type: ignore[no-any-return]


def answer_xml(hit: HIT, worker: Worker, rng: random.Random, script: AnswerScript | None) -> str:
    question = parse_question(hit.question)
    if script is not None:
        return answers_from_form_post(script(hit=hit, question=question, worker=worker))
    if isinstance(question, QuestionForm):
        xml, _errors = answers_from_question_form(question, synthetic_answers(question, rng))
        return xml
    return answers_from_form_post(synthetic_answers(question, rng))


def open_hit_ids(worker: Worker, environment: str, rng: random.Random, limit: int = 50) -> list[str]:
    mine = Assignment.objects.filter(worker=worker, status__in=HOLDING_STATUSES).values("hit_id")
    ids = list(
        HIT.objects.filter(environment=environment, expiration__gt=clock.now(), available__gt=0,
                           disposed_at__isnull=True)
        .exclude(pk__in=mine)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    rng.shuffle(ids)
    return ids


def work_once(worker: Worker, environment: str, rng: random.Random, report: Report, lock: threading.Lock,
              script: AnswerScript | None, return_rate: float) -> bool:
    """Accept one open HIT and submit (or return) it. False when there was nothing this worker could take."""
    actor = Actor.for_worker(worker)
    for hit_id in open_hit_ids(worker, environment, rng):
        try:
            assignment = actions.accept_assignment(actor=actor, worker=worker, environment=environment, hit_id=hit_id)
        except KempelenError as error:
            with lock:
                report.refusals[error.code] += 1
            continue
        if return_rate and rng.random() < return_rate:
            actions.return_assignment(actor=actor, worker=worker, assignment_id=assignment.pk)
            with lock:
                report.returned += 1
            return True
        xml = answer_xml(assignment.hit, worker, rng, script)
        actions.submit_assignment(actor=actor, worker=worker, assignment_id=assignment.pk, answer_xml=xml)
        with lock:
            report.submitted += 1
        return True
    return False


def run_simulation(
    *,
    environment: str = "sandbox",
    workers: int = 5,
    duration: float | None = None,
    max_cycles: int | None = None,
    script: str | None = None,
    return_rate: float = 0.0,
    seed: int | None = None,
    idle_seconds: float = 2.0,
) -> Report:
    """Run ``workers`` synthetic workers until ``duration`` passes, ``max_cycles`` submissions are made, or
    (with neither) no open HIT is left for them for ``idle_seconds``."""
    crowd = synthetic_workers(workers, environment)
    answer_script = load_script(script) if script else None
    report = Report(environment=environment, workers=workers)
    lock = threading.Lock()
    stop = threading.Event()
    started = time.monotonic()

    # With a bounded connection pool (PostgreSQL), each cycle hands its connection back, so that more synthetic
    # workers than the pool's size can run.
    pooled = bool(connection.settings_dict.get("OPTIONS", {}).get("pool"))

    def loop(worker: Worker, rng: random.Random) -> None:
        idle_since: float | None = None
        try:
            while not stop.is_set():
                if duration is not None and time.monotonic() - started >= duration:
                    break
                if max_cycles is not None and report.submitted >= max_cycles:
                    break
                worked = work_once(worker, environment, rng, report, lock, answer_script, return_rate)
                if pooled:
                    connection.close()
                if worked:
                    idle_since = None
                    continue
                idle_since = idle_since or time.monotonic()
                if duration is None and time.monotonic() - idle_since >= idle_seconds:
                    break
                time.sleep(0.05)
        finally:
            close_old_connections()
            connection.close()

    master = random.Random(seed)
    threads = [threading.Thread(target=loop, args=(w, random.Random(master.random())), daemon=True) for w in crowd]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    except KeyboardInterrupt:
        stop.set()
        for t in threads:
            t.join()
    report.seconds = time.monotonic() - started
    return report
