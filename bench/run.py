"""Run the benchmarks (all, or those named) and print one table of figures against goals.

    uv run python bench/run.py                  # everything (what `make bench` runs)
    uv run python bench/run.py hr_import        # only the HR import on SQLite
    uv run python bench/run.py --list

Each benchmark runs as its own process, bounded in time; PostgreSQL variants run through
scripts/with-postgres (a throwaway cluster) and are skipped when PostgreSQL is not installed.
Exit status: 0 when every figure meets its goal, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import operator
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
WITH_POSTGRES = str(ROOT / "scripts" / "with-postgres")


@dataclass(frozen=True)
class Benchmark:
    name: str
    command: list[str]
    timeout: int  # seconds
    needs_postgres: bool = False
    about: str = ""


BENCHMARKS = [
    Benchmark(
        "hr_import",
        [PY, "bench/hr_import.py"],
        1800,
        about="HR CSV of 100,000 people: first import, then 10% changed (SQLite)",
    ),
    Benchmark(
        "hr_import_postgres",
        [WITH_POSTGRES, PY, "bench/hr_import.py"],
        1800,
        needs_postgres=True,
        about="the same on PostgreSQL",
    ),
    Benchmark(
        "assignments",
        [PY, "bench/assignments.py"],
        3600,
        about="50 audiences x 100k people: full recompute with enrolments, one HR change, import",
    ),
    Benchmark(
        "assignments_postgres",
        [WITH_POSTGRES, PY, "bench/assignments.py"],
        3600,
        needs_postgres=True,
        about="the same on PostgreSQL",
    ),
    Benchmark(
        "my_learning",
        [PY, "bench/my_learning.py"],
        3600,
        about="My learning under 16 users on 100k people / 1M enrolments; stack memory",
    ),
    Benchmark(
        "xapi",
        [PY, "bench/xapi.py"],
        3600,
        about="xAPI: batch POST rate, bytes per statement, GET agent+verb+since p95 (SQLite)",
    ),
    Benchmark(
        "xapi_postgres",
        [WITH_POSTGRES, PY, "bench/xapi.py"],
        3600,
        needs_postgres=True,
        about="the same on PostgreSQL",
    ),
    Benchmark(
        "xapi_http",
        [PY, "bench/xapi.py", "--http"],
        3600,
        about="xAPI over HTTP (Procfile's gunicorn): batches, 16 single-statement clients, RSS",
    ),
    Benchmark(
        "xapi_http_postgres",
        [WITH_POSTGRES, PY, "bench/xapi.py", "--http"],
        3600,
        needs_postgres=True,
        about="the same on PostgreSQL",
    ),
    Benchmark(
        "scorm",
        [PY, "bench/scorm.py"],
        900,
        about="SCORM: upload of a 1,000-file package, SCO launch and commit latency (SQLite)",
    ),
    Benchmark(
        "scorm_postgres",
        [WITH_POSTGRES, PY, "bench/scorm.py"],
        900,
        needs_postgres=True,
        about="the same on PostgreSQL",
    ),
    Benchmark(
        "analytics",
        [PY, "bench/analytics.py"],
        7200,
        about="adoption analytics: 100k learners, 10M events; bulk/single writes, every endpoint",
    ),
    Benchmark(
        "analytics_postgres",
        [WITH_POSTGRES, PY, "bench/analytics.py"],
        7200,
        needs_postgres=True,
        about="the same on PostgreSQL",
    ),
    Benchmark(
        "nudges",
        [PY, "bench/nudges.py"],
        3600,
        about="nudge sweep over 100k people / 500k enrolments (time, RSS); emails/s, 2 workers",
    ),
    Benchmark(
        "nudges_postgres",
        [WITH_POSTGRES, PY, "bench/nudges.py"],
        3600,
        needs_postgres=True,
        about="the same on PostgreSQL",
    ),
]


def postgres_available() -> bool:
    return bool(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or shutil.which("initdb") is not None


def meets(value: float, goal: str) -> bool | None:
    for symbol, compare in (("<=", operator.le), (">=", operator.ge)):
        if goal.startswith(symbol):
            return bool(compare(value, float(goal[len(symbol) :])))
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description="Run Uptake's benchmarks.")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args()
    if args.list:
        for b in BENCHMARKS:
            print(f"{b.name:<20} {b.about}")
        return 0
    known = {b.name for b in BENCHMARKS}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)} (known: {', '.join(known)})")
    chosen = [b for b in BENCHMARKS if not args.names or b.name in args.names]

    rows: list[tuple[str, float, str, str, bool | None]] = []
    problems: list[str] = []
    for bench in chosen:
        if bench.needs_postgres and not postgres_available():
            print(f"== {bench.name}: skipped (PostgreSQL is not installed)")
            continue
        print(f"== {bench.name}: {bench.about}", flush=True)
        try:
            proc = subprocess.run(
                bench.command,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=bench.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            problems.append(f"{bench.name}: timed out after {bench.timeout}s")
            continue
        for line in proc.stdout.splitlines():
            print(f"   {line}")
            parts = line.split()
            if len(parts) == 5 and parts[0] == "RESULT":
                value, goal = float(parts[2]), parts[4]
                rows.append((parts[1], value, parts[3], goal, meets(value, goal)))
        if proc.returncode != 0:
            problems.append(f"{bench.name}: exited with status {proc.returncode}")

    print()
    print(f"Results ({dt.date.today().isoformat()}):")
    print(f"  {'figure':<32} {'value':>12} {'unit':<9} {'goal':<8} verdict")
    for name, value, unit, goal, ok in rows:
        verdict = "-" if ok is None else ("ok" if ok else "MISSED")
        print(f"  {name:<32} {value:>12.1f} {unit:<9} {goal:<8} {verdict}")
    for problem in problems:
        print(f"  ! {problem}")
    failed = problems or any(ok is False for *_, ok in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
