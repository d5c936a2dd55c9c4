"""Capabilities for posting one assignment's answers without the worker's session.

Task pages run in a sandboxed frame with an opaque origin, so the worker's session cookie does not travel
with their form posts (and must not be readable there). ``turkSubmitTo`` therefore carries a signed token
bound to one assignment: ``<base>/submit/<token>``, to which templates append ``/mturk/externalSubmit``
exactly as they did on MTurk. The token lets its holder do one thing: submit that assignment, once, before
its deadline.
"""

from __future__ import annotations

from django.core import signing

_SALT = "kempelen.externalSubmit"


def make(assignment_id: str) -> str:
    return signing.dumps(assignment_id, salt=_SALT, compress=False)


def read(token: str) -> str | None:
    try:
        return str(signing.loads(token, salt=_SALT))
    except signing.BadSignature:
        return None


def turk_submit_to(base_url: str, assignment_id: str) -> str:
    return f"{base_url.rstrip('/')}/submit/{make(assignment_id)}"
