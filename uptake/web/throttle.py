"""Login throttling: too many failed logins for one username or one address lock it out.

Counters live in Django's cache, which is shared between web processes (Redis) in the scale
configuration, so a lock-out holds whichever process answers the next attempt. Each counter is
a fixed window: the first failure starts it, and it expires UPTAKE_LOGIN_WINDOW_SECONDS later.
While a counter has reached the limit, every attempt is refused before the password is checked
(so a locked account cannot be probed further, even with the right password).

Settings: UPTAKE_LOGIN_MAX_FAILURES and UPTAKE_LOGIN_WINDOW_SECONDS; the per-address limit is
UPTAKE_LOGIN_MAX_FAILURES_PER_ADDRESS if set (many people behind one office NAT share an
address), else the same as per username.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from uptake.core import clock

_PREFIX = "uptake:login-fail"


@dataclass(frozen=True)
class Lockout:
    """Attempts are refused for `retry_after_seconds` more seconds."""

    retry_after_seconds: int

    @property
    def minutes(self) -> int:
        """Whole minutes to wait, rounded up (never 0: "try again in 0 minutes" is useless)."""
        return max(1, math.ceil(self.retry_after_seconds / 60))


def client_address(request: HttpRequest) -> str:
    """The client's address. Behind a trusted proxy, the first X-Forwarded-For entry."""
    if getattr(settings, "UPTAKE_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def _max_failures() -> int:
    return int(settings.UPTAKE_LOGIN_MAX_FAILURES)


def _max_failures_per_address() -> int:
    return int(getattr(settings, "UPTAKE_LOGIN_MAX_FAILURES_PER_ADDRESS", _max_failures()))


def _window() -> int:
    return int(settings.UPTAKE_LOGIN_WINDOW_SECONDS)


def _digest(value: str) -> str:
    # Hashed so cache keys are short, safe for memcached/Redis, and hold no usernames.
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


def _keys_for_username(username: str) -> tuple[str, str]:
    base = f"{_PREFIX}:user:{_digest(username.strip().lower())}"
    return base + ":n", base + ":t"


def _keys_for_address(address: str) -> tuple[str, str]:
    base = f"{_PREFIX}:addr:{_digest(address)}"
    return base + ":n", base + ":t"


def _lockout(keys: tuple[str, str], limit: int) -> Lockout | None:
    count_key, started_key = keys
    values = cache.get_many([count_key, started_key])
    count = int(values.get(count_key) or 0)
    if count < limit:
        return None
    started = float(values.get(started_key) or clock.now().timestamp())
    remaining = started + _window() - clock.now().timestamp()
    return Lockout(retry_after_seconds=max(1, math.ceil(remaining)))


def check(*, username: str, address: str) -> Lockout | None:
    """The lock-out in force for this username or address (the longer one), or None."""
    found = [
        lock
        for lock in (
            _lockout(_keys_for_username(username), _max_failures()) if username else None,
            _lockout(_keys_for_address(address), _max_failures_per_address()),
        )
        if lock is not None
    ]
    if not found:
        return None
    return max(found, key=lambda lock: lock.retry_after_seconds)


def _count(keys: tuple[str, str]) -> None:
    count_key, started_key = keys
    window = _window()
    # add() only writes when the key is absent: the first failure opens the window, and
    # incr() is atomic on Redis, so concurrent failures are all counted.
    if cache.add(count_key, 0, timeout=window):
        cache.set(started_key, clock.now().timestamp(), timeout=window)
    try:
        cache.incr(count_key)
    except ValueError:  # expired between add() and incr()
        cache.set(count_key, 1, timeout=window)
        cache.set(started_key, clock.now().timestamp(), timeout=window)


def record_failure(*, username: str, address: str) -> None:
    """Count one failed login against the username (if any) and the address."""
    if username:
        _count(_keys_for_username(username))
    _count(_keys_for_address(address))


def clear_username(*, username: str) -> None:
    """Forget the username's failures (after a successful login)."""
    cache.delete_many(list(_keys_for_username(username)))
