"""What a handler knows about the call it serves: who is calling, in which environment."""

from __future__ import annotations

from dataclasses import dataclass

from kempelen.accounts.models import Requester
from kempelen.core.actors import Actor


@dataclass(frozen=True)
class Call:
    requester: Requester
    environment: str  # "live" | "sandbox"
    access_key_id: str
    request_id: str
    # How the client reached this server ("http://host:port"), for links handed back (GetFileUploadURL).
    base_url: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor("requester", f"{self.requester.customer_id}/{self.access_key_id}")
