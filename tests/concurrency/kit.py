"""Running the same action from many threads at once, each with its own database connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection, connections

from kempelen.core.errors import KempelenError

postgres_only = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def race(
    n: int,
    work: Callable[[int], Any],
    *,
    expected: tuple[type[BaseException], ...] = (KempelenError,),
    timeout: float = 60,
) -> list[Outcome]:
    """Run ``work(0) … work(n-1)`` in n threads released together. Refusals (``expected`` errors) are
    outcomes; anything else (a deadlock, an integrity error, a crash) fails the test."""
    barrier = threading.Barrier(n)
    outcomes = [Outcome() for _ in range(n)]

    def run(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i].value = work(i)
        except BaseException as error:  # recorded, then judged below
            outcomes[i].error = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,), name=f"race-{i}") for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), f"{t.name} did not finish in {timeout}s"
    unexpected = [o.error for o in outcomes if o.error is not None and not isinstance(o.error, expected)]
    assert not unexpected, f"unexpected errors: {unexpected!r}"
    return outcomes


def refusals(outcomes: list[Outcome]) -> list[BaseException]:
    return [o.error for o in outcomes if o.error is not None]
