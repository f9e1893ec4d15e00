"""Writers of the record store take turns on SQLite without sleeping (ADR 0012).

SQLite has one writer at a time. A connection that finds the database locked waits in SQLite's
busy handler, which sleeps in steps of 1, 2, 5, 10 ... up to 100 ms and only then looks again,
even when the lock was freed a moment after it began to sleep: with several web processes and
threads ingesting statements, writers sleep more than they work. Ingest transactions take their
turn on an operating-system lock instead, which wakes the next one as soon as it is free:
threads of a process through a mutex, processes through `flock` on a file beside the database.

Nothing is done on PostgreSQL (row locks, many writers), for in-memory databases, or inside an
outer transaction (it may hold SQLite's write lock already; waiting on the turn there could
make another process wait for us while we wait for it).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from django.db import connection

try:
    import fcntl
except ImportError:  # pragma: no cover (not a POSIX system: SQLite's busy handler only)
    fcntl = None  # type: ignore[assignment]

_mutex = threading.Lock()
_files: dict[str, int] = {}


def _lock_file(database: str) -> int:
    fd = _files.get(database)
    if fd is None:
        fd = os.open(database + ".write-turn", os.O_RDWR | os.O_CREAT, 0o600)
        _files[database] = fd
    return fd


@contextlib.contextmanager
def write_turn() -> Iterator[None]:
    """Hold the turn to write to a SQLite database for the duration of the block."""
    database = str(connection.settings_dict.get("NAME") or "")
    if (
        fcntl is None
        or connection.vendor != "sqlite"
        or connection.in_atomic_block
        or not database
        or database == ":memory:"
        or "mode=memory" in database
    ):
        yield
        return
    with _mutex:
        fd = _lock_file(database)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
