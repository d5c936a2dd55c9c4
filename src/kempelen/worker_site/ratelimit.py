"""Throttles for sign-in and password-reset attempts, kept in Django's cache and timed by Kempelen's clock.

Sign-in: after ``LOGIN_MAX_FAILURES`` failed attempts (5) for one username within ``LOGIN_WINDOW_SECONDS``
(15 minutes), sign-in for that username pauses for ``LOGIN_LOCKOUT_SECONDS`` (15 minutes); after
``LOGIN_MAX_FAILURES_PER_ADDRESS`` failures (20) from one client address, that address pauses likewise. A paused
attempt is refused without checking the password, so guessing cannot continue, and does not extend the pause.
Any username string is counted, existing or not, so the throttle does not reveal which accounts exist. A
successful sign-in clears its username's count (not its address's: one good account must not reset a guesser's
budget); setting a new password through an emailed reset link lifts that username's pause.

Password-reset emails: at most ``PASSWORD_RESET_MAX_PER_EMAIL`` (3) per address and
``PASSWORD_RESET_MAX_PER_ADDRESS`` (10) per client address an hour, so the form cannot be used to flood a mailbox.

All limits are keys of ``settings.KEMPELEN`` with the defaults above.

Where the counts live: Django's cache. The default ``LocMemCache`` is per process, which is right for one node
with one HTTP worker process and approximately right for several (each process counts on its own, so the limits
multiply by the number of processes). With several processes or nodes, configure a shared cache
(``CACHES`` with Redis or Memcached, or Django's ``DatabaseCache`` on the shared database) so every node counts
against the same limits. Updates are read-modify-write; concurrent requests can each slip one attempt past the
limit, which bounds a burst by the client's concurrency but not a sustained attack.

Client address: ``REMOTE_ADDR``. Behind reverse proxies set ``KEMPELEN["TRUSTED_PROXY_COUNT"]`` to the number of
proxies in front of Kempelen; the address is then taken that many hops from the right of ``X-Forwarded-For``.
Without it, every client behind a proxy shares the proxy's address (and its budget).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from kempelen.core import clock


def _setting(name: str, default: int) -> int:
    return int(str(settings.KEMPELEN.get(name, default)))


@dataclass(frozen=True)
class Pause:
    """A throttle in force: who it applies to and when it lifts."""

    scope: str  # "username" | "address" | "email"
    until: dt.datetime

    @property
    def minutes_left(self) -> int:
        return max(1, math.ceil((self.until - clock.now()).total_seconds() / 60))

    @property
    def message(self) -> str:
        wait = f"{self.minutes_left} minute{'s' if self.minutes_left != 1 else ''}"
        at = f"{self.until:%H:%M} UTC"
        if self.scope == "username":
            return (f"Too many failed sign-in attempts for this username. Sign-in for it is paused for {wait} "
                    f"(until {at}). If you forgot your password, reset it by email.")
        if self.scope == "address":
            return (f"Too many failed sign-in attempts from your network. Sign-in from it is paused for {wait} "
                    f"(until {at}).")
        return f"Too many password-reset requests. Try again in {wait} (after {at})."


class Throttle:
    """Counts events per subject in a sliding window; at ``limit`` events the subject pauses for ``pause``."""

    def __init__(self, name: str, *, limit: str, limit_default: int, window: str, window_default: int,
                 pause: str, pause_default: int) -> None:
        self.name = name
        self._limit = (limit, limit_default)
        self._window = (window, window_default)
        self._pause = (pause, pause_default)

    @property
    def limit(self) -> int:
        return _setting(*self._limit)

    @property
    def window(self) -> int:
        return _setting(*self._window)

    @property
    def pause(self) -> int:
        return _setting(*self._pause)

    def _key(self, subject: str) -> str:
        return f"kempelen:throttle:{self.name}:{hashlib.sha256(subject.encode()).hexdigest()}"

    def _load(self, subject: str) -> tuple[list[float], float]:
        state = cache.get(self._key(subject)) or {}
        now = clock.now().timestamp()
        events = [t for t in state.get("events", []) if now - t < self.window]
        until = float(state.get("until", 0.0))
        if until and until <= now:
            events, until = [], 0.0  # a pause that has run out starts a fresh count
        return events, until

    def _store(self, subject: str, events: list[float], until: float) -> None:
        if not events and not until:
            cache.delete(self._key(subject))
            return
        # The cache's own expiry runs on the real clock, which never runs ahead of business time.
        cache.set(self._key(subject), {"events": events, "until": until}, timeout=self.window + self.pause)

    def paused_until(self, subject: str) -> dt.datetime | None:
        _events, until = self._load(subject)
        return clock.from_epoch(until) if until else None

    def remaining(self, subject: str) -> int:
        events, until = self._load(subject)
        return 0 if until else max(0, self.limit - len(events))

    def record(self, subject: str) -> dt.datetime | None:
        """Count one event; the pause it starts (or the one in force), if any."""
        events, until = self._load(subject)
        if until:
            return clock.from_epoch(until)
        now = clock.now().timestamp()
        events.append(now)
        if len(events) >= self.limit:
            until = now + self.pause
        self._store(subject, events, until)
        return clock.from_epoch(until) if until else None

    def clear(self, subject: str) -> None:
        cache.delete(self._key(subject))


login_by_username = Throttle(
    "login-username", limit="LOGIN_MAX_FAILURES", limit_default=5, window="LOGIN_WINDOW_SECONDS",
    window_default=15 * 60, pause="LOGIN_LOCKOUT_SECONDS", pause_default=15 * 60,
)
login_by_address = Throttle(
    "login-address", limit="LOGIN_MAX_FAILURES_PER_ADDRESS", limit_default=20, window="LOGIN_WINDOW_SECONDS",
    window_default=15 * 60, pause="LOGIN_LOCKOUT_SECONDS", pause_default=15 * 60,
)
reset_by_email = Throttle(
    "reset-email", limit="PASSWORD_RESET_MAX_PER_EMAIL", limit_default=3, window="PASSWORD_RESET_WINDOW_SECONDS",
    window_default=60 * 60, pause="PASSWORD_RESET_WINDOW_SECONDS", pause_default=60 * 60,
)
reset_by_address = Throttle(
    "reset-address", limit="PASSWORD_RESET_MAX_PER_ADDRESS", limit_default=10,
    window="PASSWORD_RESET_WINDOW_SECONDS", window_default=60 * 60, pause="PASSWORD_RESET_WINDOW_SECONDS",
    pause_default=60 * 60,
)


def client_address(request: HttpRequest) -> str:
    proxies = _setting("TRUSTED_PROXY_COUNT", 0)
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return str(request.META.get("REMOTE_ADDR", "") or "unknown")


def _username_subject(username: str) -> str:
    return username.strip().casefold()


# --- sign-in ----------------------------------------------------------------------------------------------------

def login_pause(username: str, address: str) -> Pause | None:
    """The pause in force for this attempt, if any (the username's first, as it is the more specific)."""
    until = login_by_username.paused_until(_username_subject(username))
    if until:
        return Pause("username", until)
    until = login_by_address.paused_until(address)
    return Pause("address", until) if until else None


def login_failed(username: str, address: str) -> Pause | None:
    """Count a failed attempt; the pause it starts, if it reached a limit."""
    by_user = login_by_username.record(_username_subject(username))
    by_address = login_by_address.record(address)
    if by_user:
        return Pause("username", by_user)
    return Pause("address", by_address) if by_address else None


def login_attempts_left(username: str) -> int:
    return login_by_username.remaining(_username_subject(username))


def login_succeeded(username: str) -> None:
    login_by_username.clear(_username_subject(username))


def lift_username_pause(username: str) -> None:
    """After the owner proved control of the account's email (a password reset), let them sign in again."""
    login_by_username.clear(_username_subject(username))


# --- password-reset emails ---------------------------------------------------------------------------------------

def reset_request(email: str, address: str) -> Pause | None:
    """Count a reset request; a pause if this one is over the limit (then no email should be sent)."""
    for throttle, subject in ((reset_by_email, email.strip().casefold()), (reset_by_address, address)):
        until = throttle.paused_until(subject)
        if until:
            return Pause("email", until)
    reset_by_email.record(email.strip().casefold())
    reset_by_address.record(address)
    return None
