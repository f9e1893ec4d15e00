"""Benchmark: "My learning" under load on an organisation of 100,000 people / 1,000,000 enrolments.

    uv run python bench/my_learning.py                          # SQLite file in var/bench/
    scripts/with-postgres uv run python bench/my_learning.py    # PostgreSQL (built every run)

1. Builds the database with the demo generator (100,000 people, ~1,000,000 enrolments, 40
   courses), or reuses the one built before: var/bench/my_learning.marker records what the
   SQLite file holds (--rebuild forces a new one).
2. Starts the real server stack as `make run` does, with the commands of the Procfile (gunicorn
   web server, `db_worker`, `run_scheduler`), on a free loopback port, against that database.
3. Runs locust headless (bench/locustfile.py): 16 users, each signs in as a random learner and
   loads "My learning" (`/`) repeatedly for 60 s. Prints requests/s, p50, p95, p99, failures.
4. After the load, sums the resident memory (RSS) of web server + worker + scheduler, each with
   its child processes.

Goals: p95 <= 100 ms; memory <= 500 MB. Everything stays on 127.0.0.1; every phase is bounded
in time, and the processes started here are stopped whatever happens.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import http.cookiejar
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

GOAL_P95_MS = 100.0
GOAL_MEMORY_MB = 500.0
TENANT_SLUG = "bench"
PASSWORD = "uptake-bench"
# Bump when the generator changes what a bench database holds.
DATA_VERSION = 1
SAMPLE_LEARNERS = 2_000


def build_or_reuse(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = _common.DATA_DIR
    sqlite_path = data_dir / "my_learning.sqlite3"
    marker_path = data_dir / "my_learning.marker"
    wanted = {
        "version": DATA_VERSION,
        "people": args.people,
        "courses": args.courses,
        "enrollments_per_person": args.enrollments_per_person,
        "seed": args.seed,
    }
    postgres = _common.is_postgres_url(os.environ.get("DATABASE_URL", ""))
    reuse = False
    if not postgres:
        marker = json.loads(marker_path.read_text()) if marker_path.exists() else None
        reuse = (
            not args.rebuild
            and sqlite_path.exists()
            and marker is not None
            and marker.get("wanted") == wanted
        )
        if not reuse:
            marker_path.unlink(missing_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
    url = _common.choose_database(sqlite_path)
    _common.setup_django()

    from uptake.demo.generator import OrgGenerator
    from uptake.enrollment.models import Enrollment
    from uptake.people.models import Person
    from uptake.tenancy.models import Tenant

    tenant = Tenant.objects.filter(slug=TENANT_SLUG).first()
    if reuse and tenant is not None:
        info = json.loads(marker_path.read_text())["summary"]
        print(f"  reusing {sqlite_path} ({info})")
    else:
        if tenant is not None:  # a PostgreSQL database kept from a previous run
            raise SystemExit(f"tenant {TENANT_SLUG!r} exists in {url}; use a fresh database")
        low, high = (int(x) for x in args.enrollments_per_person.split(","))
        print(
            f"  building {args.people:,} people, ~{args.people * (low + high) // 2:,} enrolments…"
        )
        summary = OrgGenerator(
            tenant_slug=TENANT_SLUG,
            tenant_name="Bench Corp",
            people=args.people,
            courses=args.courses,
            enrollments_per_person=(low, high),
            detail_limit=50_000,
            seed=args.seed,
            password=PASSWORD,
            progress=lambda msg: print(f"    {msg}", flush=True),
        ).build()
        info = summary.describe()
        print(f"  built: {info}")
        _common.result("my_learning_build", summary.seconds["total"], "s")
        if not postgres:
            marker_path.write_text(json.dumps({"wanted": wanted, "summary": info}))
        tenant = Tenant.objects.get(slug=TENANT_SLUG)

    # Learners to sign in as: a spread of people who have something to learn.
    with_work = (
        Person.objects.filter(tenant=tenant, is_active=True, user__isnull=False)
        .filter(
            pk__in=Enrollment.objects.filter(tenant=tenant)
            .exclude(status=Enrollment.Status.WITHDRAWN)
            .values("person_id")
        )
        .order_by("pk")
        .values_list("user__username", flat=True)
    )
    step = max(1, with_work.count() // SAMPLE_LEARNERS)
    usernames = list(with_work[::step][:SAMPLE_LEARNERS]) if step > 1 else list(with_work)
    users_file = data_dir / "learners.txt"
    users_file.write_text("\n".join(usernames) + "\n")
    return {"url": url, "users_file": users_file, "database": _common.database_label()}


def procfile_commands() -> dict[str, str]:
    commands: dict[str, str] = {}
    for line in (_common.ROOT / "Procfile").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line.strip())
        if match and not line.lstrip().startswith("#"):
            commands[match.group(1)] = match.group(2)
    missing = {"web", "worker", "scheduler"} - set(commands)
    if missing:
        raise SystemExit(f"Procfile lacks {', '.join(sorted(missing))}")
    return commands


def server_env(url: str, port: int) -> dict[str, str]:
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env.update(
        DATABASE_URL=url,
        UPTAKE_DATA_DIR=str(_common.DATA_DIR),
        UPTAKE_PORT=str(port),
        UPTAKE_BASE_URL=f"http://127.0.0.1:{port}",
        UPTAKE_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        UPTAKE_LOG_LEVEL="WARNING",
        PATH=f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
    )
    env.pop("UPTAKE_TESTING", None)
    env.pop("UPTAKE_DEBUG", None)
    return env


def start_stack(env: dict[str, str], logs: Path) -> dict[str, subprocess.Popen[bytes]]:
    processes: dict[str, subprocess.Popen[bytes]] = {}
    for name, command in procfile_commands().items():
        log = open(logs / f"my_learning-{name}.log", "wb")  # noqa: SIM115 (kept by the process)
        processes[name] = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=_common.ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one below
        )
    return processes


def stop_stack(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in processes.values():
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for proc in processes.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def wait_until_up(base: str, processes: dict[str, subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in processes.items():
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited with {proc.returncode}; see bench/results logs")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"the web server did not answer {base}/healthz within {timeout:.0f}s")


def check_my_learning(base: str, username: str) -> int:
    """Sign in once as a learner and load My learning; returns the page size in bytes."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{base}/login/", timeout=10).read().decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    token = match.group(1) if match else next((c.value for c in jar if c.name == "csrftoken"), "")
    data = urllib.parse.urlencode(
        {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(
        f"{base}/login/", data=data, headers={"Referer": f"{base}/login/"}
    )
    with opener.open(request, timeout=30) as response:
        final_url = response.url
    if "/login/" in final_url:
        raise SystemExit(f"could not sign in as {username}; see the web server log")
    with opener.open(f"{base}/", timeout=30) as response:
        return len(response.read())


def run_locust(base: str, args: argparse.Namespace, users_file: Path) -> dict[str, float]:
    prefix = _common.RESULTS_DIR / "my_learning"
    env = dict(os.environ, BENCH_USERS_FILE=str(users_file), BENCH_PASSWORD=PASSWORD)
    command = [
        sys.executable, "-m", "locust",
        "-f", str(_common.ROOT / "bench" / "locustfile.py"),
        "--headless", "-u", str(args.users), "-r", str(args.users), "-t", args.duration,
        "--host", base, "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    print("  " + shlex.join(command[1:]), flush=True)
    seconds = _duration_seconds(args.duration)
    subprocess.run(command, cwd=_common.ROOT, env=env, timeout=seconds + 120, check=False)
    with open(f"{prefix}_stats.csv", newline="") as fh:
        rows = {row["Name"]: row for row in csv.DictReader(fh)}
    row = rows.get("My learning")
    if row is None:
        raise SystemExit("locust recorded no 'My learning' requests; see its output above")
    return {
        "requests": float(row["Request Count"]),
        "failures": float(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        "p50": float(row["50%"]),
        "p95": float(row["95%"]),
        "p99": float(row["99%"]),
        "login_failures": float(rows.get("login", {}).get("Failure Count", 0) or 0),
    }


def resident_memory(processes: dict[str, subprocess.Popen[bytes]]) -> dict[str, float]:
    import psutil

    sizes: dict[str, float] = {}
    for name, proc in processes.items():
        try:
            root = psutil.Process(proc.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        total = 0
        for p in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        sizes[name] = total / (1024 * 1024)
    return sizes


def _duration_seconds(text: str) -> int:
    match = re.fullmatch(r"(\d+)([smh]?)", text)
    if not match:
        raise SystemExit(f"bad duration {text!r}: use e.g. 60s, 2m")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--courses", type=int, default=40)
    parser.add_argument(
        "--enrollments-per-person", default="8,12", help="min,max (default 8,12: ~10 on average)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--users", type=int, default=16, help="simulated users")
    parser.add_argument("--duration", default="60s", help="load duration (locust -t)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached database")
    args = parser.parse_args()

    _common.DATA_DIR.mkdir(parents=True, exist_ok=True)
    _common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    print(f"My learning benchmark ({_common.machine_label()})", flush=True)
    built = build_or_reuse(args)
    print(f"  database: {built['database']}", flush=True)

    port = _common.free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(built["url"], port)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=_common.ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    processes = start_stack(env, _common.RESULTS_DIR)
    try:
        wait_until_up(base, processes, timeout=90)
        first_user = built["users_file"].read_text().split()[0]
        size = check_my_learning(base, first_user)
        print(f"  server up on {base}; My learning for {first_user}: {size:,} bytes", flush=True)
        figures = run_locust(base, args, built["users_file"])
        memory = resident_memory(processes)
    finally:
        stop_stack(processes)

    total_memory = sum(memory.values())
    print(
        f"  My learning: {figures['requests']:.0f} requests, {figures['rps']:.1f} req/s, "
        f"p50 {figures['p50']:.0f} ms, p95 {figures['p95']:.0f} ms, p99 {figures['p99']:.0f} ms, "
        f"{figures['failures']:.0f} failures ({figures['login_failures']:.0f} failed logins)"
    )
    print(
        "  memory after load: "
        + ", ".join(f"{name} {mb:.0f} MB" for name, mb in memory.items())
        + f"; total {total_memory:.0f} MB"
    )
    _common.result("my_learning_rps", figures["rps"], "req/s")
    _common.result("my_learning_p50", figures["p50"], "ms")
    _common.result("my_learning_p95", figures["p95"], "ms", f"<={GOAL_P95_MS:g}")
    _common.result("my_learning_p99", figures["p99"], "ms")
    _common.result("my_learning_failures", figures["failures"], "requests", "<=0")
    _common.result("stack_memory", total_memory, "MB", f"<={GOAL_MEMORY_MB:g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
