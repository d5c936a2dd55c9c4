"""Who performed an action: a requester (through an API key or the site), a worker, an operator or the system."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    kind: str  # "requester" | "worker" | "operator" | "system"
    ident: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.ident}"

    @classmethod
    def system(cls, name: str = "kempelen") -> Actor:
        return cls("system", name)

    @classmethod
    def for_requester(cls, requester: object, via: str = "") -> Actor:
        ident = getattr(requester, "customer_id", str(requester))
        return cls("requester", f"{ident}{'/' + via if via else ''}")

    @classmethod
    def for_worker(cls, worker: object) -> Actor:
        return cls("worker", getattr(worker, "worker_id", str(worker)))

    @classmethod
    def operator(cls, username: str) -> Actor:
        return cls("operator", username)
