"""Write-ahead-log checkpoints of a SQLite database, off the write path (ADR 0020).

With SQLite's default, the connection whose commit takes the log past `wal_autocheckpoint`
pages copies the log back into the database file and syncs it, inside its commit, while it
still holds the write lock: every writer waits for it. Under random-key inserts (statement ids,
index entries of learning events) that was a third of the wall time of the xAPI ingest.

Instead, every process that opens a file database starts one daemon thread per file, which
runs `PRAGMA wal_checkpoint(PASSIVE)` on a connection of its own: as soon as there are frames to
copy, then every `IDLE` seconds. A passive checkpoint never waits for readers or writers, and
writers go on committing while it copies; the next writer then starts the log again from its
beginning. `wal_autocheckpoint` (settings.py) stays as a safety net, much higher than the
default, for a process whose thread cannot keep up or is switched off
(`UPTAKE_SQLITE_CHECKPOINTER=0`).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time

logger = logging.getLogger(__name__)

BUSY = 0.02  # seconds between checkpoints while frames keep coming
IDLE = 0.5  # seconds between checks when the log had nothing to copy

_threads: dict[tuple[int, str], threading.Thread] = {}
_lock = threading.Lock()


def enabled() -> bool:
    return os.environ.get("UPTAKE_SQLITE_CHECKPOINTER", "1").lower() not in ("0", "false", "no")


def file_path(database: str) -> str | None:
    """The file behind a SQLite database name, or None for an in-memory database."""
    if not database or database == ":memory:" or "mode=memory" in database:
        return None
    if database.startswith("file:"):
        database = database[5:].split("?", 1)[0]
    return os.path.realpath(database)


def ensure(database: str) -> None:
    """Start the checkpoint thread of this database file in this process, once."""
    path = file_path(database)
    if path is None or not enabled():
        return
    key = (os.getpid(), path)  # a forked child has no threads: it starts its own
    with _lock:
        thread = _threads.get(key)
        if thread is not None and thread.is_alive():
            return
        thread = threading.Thread(target=_run, args=(path,), name="sqlite-checkpoint", daemon=True)
        _threads[key] = thread
        thread.start()


def _run(path: str) -> None:
    try:
        connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    except sqlite3.Error:
        logger.exception("SQLite checkpoints: cannot open %s", path)
        return
    last: tuple[int, int] | None = None
    try:
        while os.path.exists(path):
            try:
                _busy, frames, copied = connection.execute(
                    "PRAGMA wal_checkpoint(PASSIVE)"
                ).fetchone()
            except sqlite3.Error:  # e.g. the file was replaced under us: try again later
                frames, copied = 0, 0
            # frames = -1: not in WAL mode (yet); 0: an empty log. Go on quickly while
            # writers keep adding frames; otherwise look again in a while.
            state = (frames, copied)
            time.sleep(BUSY if frames > 0 and state != last else IDLE)
            last = state
    finally:
        connection.close()
