"""Django's database sessions, read with a statement built once (every signed-in page loads its session)."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends import db
from django.utils import timezone

from . import lookups


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Any:
        key = self.session_key
        found = None
        if key:
            found = lookups.one(self.model, "session_key = %s AND expire_date > %s",
                                [key, lookups.db_datetime(timezone.now())])
        if found is None:
            self._session_key = None
        return found
