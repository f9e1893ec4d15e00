"""The SQLite log checkpoint thread (ADR 0020): it copies committed pages back into the
database file while the writer keeps its connection, and goes away with the file."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from uptake.core.sqlite import checkpoint


def _rows_in_file_alone(db: Path, scratch: Path) -> int:
    """Rows readable from the database file without its log (a copy of the file only)."""
    shutil.copyfile(db, scratch)
    with sqlite3.connect(scratch) as copy:
        try:
            return int(copy.execute("SELECT COUNT(*) FROM t").fetchone()[0])
        except sqlite3.DatabaseError:  # the table is still only in the log, or a torn copy
            return 0


def _threads_for(path: Path) -> list[threading.Thread]:
    return [t for (_pid, p), t in checkpoint._threads.items() if p == str(path) and t.is_alive()]


def _wait(predicate, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_committed_pages_reach_the_database_file_while_the_writer_stays_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UPTAKE_SQLITE_CHECKPOINTER", raising=False)
    db = tmp_path / "app.sqlite3"
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # the writer never copies the log itself
    writer.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    writer.execute("BEGIN")
    writer.executemany("INSERT INTO t (v) VALUES (?)", [(f"row {i}",) for i in range(5000)])
    writer.execute("COMMIT")
    assert Path(f"{db}-wal").stat().st_size > 0
    assert _rows_in_file_alone(db, tmp_path / "copy1.sqlite3") == 0

    checkpoint.ensure(str(db))
    checkpoint.ensure(str(db))  # once per file and process
    assert len(_threads_for(db.resolve())) == 1
    assert _wait(lambda: _rows_in_file_alone(db, tmp_path / "copy2.sqlite3") == 5000)

    # Later commits follow, with the writer still open.
    writer.execute("INSERT INTO t (v) VALUES ('one more')")
    assert _wait(lambda: _rows_in_file_alone(db, tmp_path / "copy3.sqlite3") == 5001)
    writer.close()

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    assert _wait(lambda: not _threads_for(db.resolve()), seconds=5)


def test_no_thread_for_memory_databases_or_when_switched_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert checkpoint.file_path(":memory:") is None
    assert checkpoint.file_path("file:memorydb_default?mode=memory&cache=shared") is None
    assert checkpoint.file_path(f"file:{tmp_path}/x.sqlite3?mode=rw") == str(
        (tmp_path / "x.sqlite3").resolve()
    )
    db = tmp_path / "off.sqlite3"
    sqlite3.connect(db).close()
    monkeypatch.setenv("UPTAKE_SQLITE_CHECKPOINTER", "0")
    checkpoint.ensure(str(db))
    assert not _threads_for(db.resolve())
