"""Shared helpers for the benchmarks: database choice, Django set-up, result lines.

Every benchmark prints its figures as lines `RESULT <name> <value> <unit> <goal>` (goal like
`<=60`), which bench/run.py collects into one table.
"""

from __future__ import annotations

import atexit
import os
import platform
import shutil
import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
DATA_DIR = ROOT / "var" / "bench"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "pgsql://"))


def choose_database(sqlite_path: Path | None = None) -> str:
    """PostgreSQL when DATABASE_URL points to one (e.g. from scripts/with-postgres), otherwise a
    SQLite file: `sqlite_path`, or a fresh temporary one. A SQLite DATABASE_URL from the
    environment is never used: a benchmark must not write into someone's real database."""
    url = os.environ.get("DATABASE_URL", "")
    if is_postgres_url(url):
        return url
    if sqlite_path is None:
        scratch = tempfile.mkdtemp(prefix="uptake-bench-")
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
        sqlite_path = Path(scratch) / "bench.sqlite3"
    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{sqlite_path}"
    os.environ["DATABASE_URL"] = url
    return url


def setup_django(*, migrate: bool = True) -> None:
    """Configure Django for this process (after choose_database) and migrate the database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uptake.settings")
    os.environ.setdefault("UPTAKE_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


def database_label() -> str:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}"
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version}"


def machine_label() -> str:
    cpus = os.cpu_count() or 0
    return f"{platform.machine()}, {cpus} CPU, Python {platform.python_version()}"


def result(name: str, value: float, unit: str, goal: str = "") -> None:
    """Print one figure in the format bench/run.py collects."""
    print(f"RESULT {name} {value:.3f} {unit} {goal or '-'}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB. Linux: VmHWM of /proc/self/status, which
    starts afresh at exec. Not `getrusage().ru_maxrss`: Linux carries that across fork and
    exec, so a child started by a large parent (a benchmark after seeding 100,000 people)
    reported the parent's peak as its own."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bytes_written() -> int:
    """Bytes this process has caused to be written to storage so far (Linux /proc/self/io;
    0 elsewhere): with CPU time, a figure that does not depend on what else the machine runs."""
    try:
        with open("/proc/self/io") as f:
            for line in f:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
