"""Benchmark: the nudge sweep over 100,000 people / 500,000 enrolments, and email sending.

    uv run python bench/nudges.py                              # SQLite (temporary file)
    scripts/with-postgres uv run python bench/nudges.py        # PostgreSQL
    uv run python bench/nudges.py --people 10000 --emails 1000 # smaller

Set-up (not timed): 100,000 people (5 enrolments each over 50 courses, assigned over the last
40 days, due between 20 days ago and 30 days ahead; 30% not started, 40% in progress, 25%
completed, 5% withdrawn) and the six campaigns of a starter programme (assigned, not started
after 3 days, due in 3 days, overdue every 2 days x3 with escalation after 5, inactive 7 days,
completed), active for 30 days, a send window open all day, weekly cap 3.

Measured:
1. `nudges_sweep_*`: one sweep deciding every due nudge, in its own process (so its memory is
   its own): wall time (goal <= 10 s) and `nudges_sweep_rss_*`, the process's peak resident
   memory (goal <= 300 MB). Also prints how many enrolments were examined and nudges decided.
2. `nudges_send_rate_*`: `--emails` nudges dispatched (rendered, outbox rows, delivery tasks on
   the database task backend), then delivered by two `db_worker` processes to a local SMTP
   server (aiosmtpd): emails per second from the workers' start to the last one received
   (goal >= 200/s).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

GOALS = {"sweep": 10.0, "rss": 300.0, "rate": 200.0}


def _sweep_child() -> int:
    """Run one sweep in this fresh process and print its figures."""
    _common.setup_django(migrate=False)
    from uptake.nudges.sweep import sweep

    if os.environ.get("BENCH_RESET_NUDGES"):  # re-measure on a kept database
        from uptake.nudges.models import Campaign, Delivery, Nudge

        Delivery.objects.all()._raw_delete(Delivery.objects.db)  # type: ignore[attr-defined]
        Nudge.objects.all()._raw_delete(Nudge.objects.db)  # type: ignore[attr-defined]
        Campaign.objects.update(swept_until=None)
        from uptake.core.models import OutboxMessage

        OutboxMessage.objects.all()._raw_delete(OutboxMessage.objects.db)  # type: ignore[attr-defined]

    from uptake.core import clock

    later = dt.timedelta(seconds=int(os.environ.get("BENCH_SWEEP_LATER", "0")))
    t0, c0 = time.perf_counter(), time.process_time()
    result = sweep(now=clock.now() + later)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss_mb = _common.peak_rss_mb()
    print(
        f"SWEEP {elapsed:.3f} {rss_mb:.1f} {result.examined} {result.queued} {result.suppressed}"
        f" {result.held_out}",
        flush=True,
    )
    # On a shared machine wall time is mostly waiting for a CPU: the sweep's own CPU time
    # (process_time: this process; the database runs in it on SQLite) says what it costs.
    print(f"SWEEP_CPU {cpu:.3f}", flush=True)
    return 0


def _seed(people: int, seed: int) -> int:
    from uptake.catalog.models import Activity, Course, Module
    from uptake.core import clock
    from uptake.core.actor import Actor
    from uptake.core.bulk import insert_rows
    from uptake.enrollment.models import Enrollment
    from uptake.nudges import services
    from uptake.nudges.models import Campaign
    from uptake.people.models import Person
    from uptake.tenancy.services import create_tenant

    actor = Actor.system("bench")
    rng = random.Random(seed)
    now = clock.now()
    tenant = create_tenant(actor=actor, name="Nudge bench", slug=f"nudge-bench-{int(time.time())}")
    courses = Course.objects.bulk_create(
        [Course(tenant=tenant, title=f"Course {i}", slug=f"course-{i}") for i in range(50)]
    )
    for course in courses:
        module = Module.objects.create(tenant=tenant, course=course, title="M")
        Activity.objects.create(tenant=tenant, course=course, module=module, title="A")
    zones = ["Europe/London", "America/New_York", "Asia/Kolkata", "Europe/Berlin", "UTC"]
    insert_rows(
        Person,
        [
            "tenant",
            "employee_id",
            "email",
            "first_name",
            "last_name",
            "job_title",
            "role_family",
            "department",
            "location",
            "country",
            "employment_type",
            "time_zone",
            "language",
            "is_active",
            "custom",
            "created_at",
            "updated_at",
        ],
        [
            (
                tenant.pk,
                f"E{i:06d}",
                f"p{i}@bench.test",
                "Pat",
                f"P{i}",
                "",
                "",
                "Sales",
                "",
                "",
                "",
                zones[i % 5],
                "en",
                True,
                {},
                now,
                now,
            )
            for i in range(people)
        ],
    )
    ids = list(Person.objects.filter(tenant=tenant).order_by("pk").values_list("pk", flat=True))
    # A manager for every 8 people (escalations need one).
    managers = ids[::8]
    Person.objects.filter(tenant=tenant).exclude(pk__in=managers[:1]).update(manager_id=managers[0])
    rows = []
    for pid in ids:
        for course in rng.sample(courses, 5):
            assigned = now - dt.timedelta(hours=rng.uniform(0, 40 * 24))
            due = now + dt.timedelta(hours=rng.uniform(-20 * 24, 30 * 24))
            r = rng.random()
            status = (
                "assigned"
                if r < 0.30
                else "in_progress"
                if r < 0.70
                else "completed"
                if r < 0.95
                else "withdrawn"
            )
            started = (
                assigned + dt.timedelta(hours=6) if status in ("in_progress", "completed") else None
            )
            last = (started + dt.timedelta(hours=rng.uniform(0, 20 * 24))) if started else None
            if last and last > now:
                last = now
            completed = last if status == "completed" else None
            rows.append(
                (
                    tenant.pk,
                    pid,
                    course.pk,
                    "rule",
                    status,
                    assigned,
                    due,
                    started,
                    completed,
                    last,
                    0,
                    now,
                    now,
                )
            )
    insert_rows(
        Enrollment,
        [
            "tenant",
            "person",
            "course",
            "source",
            "status",
            "assigned_at",
            "due_at",
            "started_at",
            "completed_at",
            "last_activity_at",
            "progress_percent",
            "created_at",
            "updated_at",
        ],
        rows,
    )
    services.set_policy(
        actor=actor,
        tenant_id=tenant.pk,
        window_start=dt.time(0),
        window_end=dt.time(23, 59),
        weekdays="1234567",
        weekly_cap=3,
    )
    specs = [
        {"name": "Welcome", "trigger": "assigned", "priority": 5},
        {"name": "Day 3", "trigger": "not_started", "days": 3, "priority": 3},
        {"name": "Due soon", "trigger": "due_soon", "days": 3, "priority": 4},
        {
            "name": "Overdue",
            "trigger": "overdue",
            "repeat_every_days": 2,
            "max_repeats": 3,
            "escalate_after_days": 5,
            "priority": 6,
        },
        {"name": "Inactive", "trigger": "inactive", "days": 7, "priority": 1},
        {"name": "Well done", "trigger": "completed", "priority": 2},
    ]
    for spec in specs:
        c = services.create_campaign(
            actor=actor,
            tenant_id=tenant.pk,
            data=services.CampaignData(channels=("email", "in_app"), **spec),  # type: ignore[arg-type]
        )
        Campaign.objects.filter(pk=c.pk).update(
            status="active", activated_at=now - dt.timedelta(days=30)
        )
    return len(rows)


class _Sink:
    """A minimal SMTP server on loopback that accepts every message and discards it: enough
    SMTP for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; pipelining works), a
    few microseconds per message, so the server is not what limits the workers. asyncio in a
    thread of this process (the benchmark's main thread only waits meanwhile, so this
    process's CPU time while sending is the server's)."""

    def __init__(self, counter: Any) -> None:
        import asyncio

        self.counter = counter
        self.loop = asyncio.new_event_loop()
        self.port = _common.free_port()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import asyncio

        counter = self.counter

        class Proto(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.t = transport
                self.buf = b""
                self.data = False
                transport.write(b"220 sink ESMTP\r\n")

            def data_received(self, chunk: bytes) -> None:
                self.buf += chunk
                out = []
                while True:
                    if self.data:
                        end = self.buf.find(b"\r\n.\r\n")
                        if end < 0:
                            break
                        self.buf = self.buf[end + 5 :]
                        self.data = False
                        counter.received()
                        out.append(b"250 OK queued\r\n")
                        continue
                    line, sep, rest = self.buf.partition(b"\r\n")
                    if not sep:
                        break
                    self.buf = rest
                    verb = line[:4].upper()
                    if verb == b"EHLO":
                        out.append(b"250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
                    elif verb == b"DATA":
                        self.data = True
                        self.buf = b"\r\n" + self.buf  # so an empty body still ends
                        out.append(b"354 go ahead\r\n")
                    elif verb == b"QUIT":
                        out.append(b"221 bye\r\n")
                        self.t.write(b"".join(out))
                        self.t.close()
                        return
                    else:
                        out.append(b"250 OK\r\n")
                if out:
                    self.t.write(b"".join(out))

        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            self.loop.create_server(Proto, "127.0.0.1", self.port)
        )
        self.ready.set()
        self.loop.run_forever()
        server.close()

    def start(self) -> None:
        self.thread.start()
        self.ready.wait(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process has used, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _send(env: dict[str, str], emails: int, workers: int, server: str) -> tuple[float, int]:
    """Dispatch `emails` nudges and time two db_workers delivering them to a local SMTP server."""
    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django.db import connection

    from uptake.nudges.dispatch import dispatch_due
    from uptake.nudges.models import Nudge

    class Counter:
        def __init__(self) -> None:
            self.n = 0
            self.done = threading.Event()
            self.started = threading.Event()
            self.lock = threading.Lock()

        first = last = 0.0
        target = 0

        def received(self) -> None:
            with self.lock:
                self.n += 1
                self.last = time.perf_counter()
                if self.n == 1:
                    self.first = self.last
                    self.started.set()
                if self.n >= self.target:
                    self.done.set()

        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            self.received()
            return "250 OK"

    counter = Counter()
    controller: Any
    if server == "aiosmtpd":
        port = _common.free_port()
        controller = Controller(counter, hostname="127.0.0.1", port=port)
    else:
        controller = _Sink(counter)
        port = controller.port
    controller.start()
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "email"]}
    }
    from django_tasks import task_backends

    task_backends._backends = {}  # type: ignore[attr-defined]  # pick up the database backend
    # Only `emails` nudges are sent: the rest stay queued for later.
    keep = list(
        Nudge.objects.filter(status="queued", dispatched_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:emails]
    )
    Nudge.objects.filter(status="queued", dispatched_at__isnull=True).exclude(pk__in=keep).update(
        send_at=dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    )
    from uptake.core import clock

    # On a kept database (--send-only) earlier runs parked these in 2100: due now.
    Nudge.objects.filter(pk__in=keep, send_at__gt=clock.now()).update(send_at=clock.now())
    t0 = time.perf_counter()
    dispatch_due()
    dispatched = time.perf_counter() - t0
    from uptake.core.models import OutboxMessage

    target = OutboxMessage.objects.filter(channel="email", status="pending").count()
    counter.target = target  # type: ignore[attr-defined]
    print(f"  dispatched {len(keep):,} nudges ({target:,} emails queued) in {dispatched:.1f}s")
    connection.close()
    worker_env = {
        **env,
        "UPTAKE_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "UPTAKE_EMAIL_HOST": "127.0.0.1",
        "UPTAKE_EMAIL_PORT": str(port),
        "UPTAKE_TASKS_BACKEND": "db",
        "UPTAKE_LOG_LEVEL": "WARNING",
    }
    procs = []
    t0 = time.perf_counter()
    server_cpu0 = time.process_time()
    for i in range(workers):
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "db_worker",
                    "--queue-name",
                    "email",
                    "--no-startup-delay",
                    "--interval",
                    "0.1",
                    "--worker-id",
                    f"bench-{i}",
                ],
                cwd=_common.ROOT,
                env=worker_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    try:
        # The workers' CPU from their first email on (Django's start-up is not sending).
        counter.started.wait(timeout=120)
        worker_cpu0 = sum(_proc_cpu(p.pid) for p in procs)
        server_cpu0 = time.process_time()
        counter.done.wait(timeout=max(120, target / 20))
        elapsed = time.perf_counter() - t0
        server_cpu = time.process_time() - server_cpu0
        worker_cpu = sum(_proc_cpu(p.pid) for p in procs) - worker_cpu0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        controller.stop()
    if counter.n:
        per = max(counter.n - 1, 1)  # emails after the first
        print(
            f"  CPU from the first email to the last: workers {worker_cpu:.1f} s "
            f"({worker_cpu / per * 1000:.2f} ms per email), the SMTP server ({server}) "
            f"{server_cpu:.1f} s ({server_cpu / per * 1000:.2f} ms per email); load average "
            f"{os.getloadavg()[0]:.1f}"
        )
    if counter.n > 1:
        print(
            f"  workers started in {counter.first - t0:.1f}s (Django start-up, no bytecode "
            f"cache here); first to last email: {counter.last - counter.first:.1f}s"
        )
        return counter.last - counter.first, counter.n - 1
    return elapsed, counter.n


def _cpu(stdout: str) -> str:
    line = next((x for x in stdout.splitlines() if x.startswith("SWEEP_CPU ")), None)
    return f"CPU time in the sweep process {float(line.split()[1]):.1f} s" if line else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--emails", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile the sweep")
    parser.add_argument("--db", type=Path, help="keep the SQLite database here (seeded once)")
    parser.add_argument("--sweep-only", action="store_true", help="skip the sending part")
    parser.add_argument("--send-only", action="store_true", help="skip the sweeps (kept --db)")
    parser.add_argument(
        "--smtp",
        choices=["sink", "aiosmtpd"],
        default="sink",
        help="the SMTP server: a minimal accept-and-discard one (default) or aiosmtpd",
    )
    parser.add_argument("--sweep-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sweep_child:
        if args.profile:
            import cProfile
            import pstats

            # CPU time, not wall: on a shared machine wall time is mostly waiting for a core.
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            _sweep_child()
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
            return 0
        return _sweep_child()

    url = _common.choose_database(args.db)
    _common.setup_django()
    db = _common.database_label()
    suffix = "_postgres" if "PostgreSQL" in db else "_sqlite"
    print(f"Nudges benchmark: {args.people:,} people on {db} ({_common.machine_label()})")
    from uptake.nudges.models import Campaign

    t0 = time.perf_counter()
    if args.db and Campaign.objects.exists():
        print("  set-up: kept database")
        os.environ["BENCH_RESET_NUDGES"] = "1"
    else:
        enrolments = _seed(args.people, args.seed)
        print(
            f"  set-up: {args.people:,} people, {enrolments:,} enrolments in "
            f"{time.perf_counter() - t0:.1f}s"
        )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "uptake.settings",
        "UPTAKE_LOG_LEVEL": "WARNING",
    }
    if args.send_only:
        return _report_send(env, args, suffix)
    flags = ["--sweep-child", *(["--profile"] if args.profile else [])]
    child = subprocess.run(
        [sys.executable, __file__, *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=_common.ROOT,
    )
    line = next((x for x in child.stdout.splitlines() if x.startswith("SWEEP ")), None)
    if line is None:
        print(child.stdout, child.stderr[-3000:])
        return 1
    if args.profile:
        print(child.stderr[-12000:])
    _, secs, rss, examined, queued, suppressed, held = line.split()
    print(
        f"  first sweep (2 days of catch-up): {int(examined):,} enrolments examined, "
        f"{int(queued):,} nudges queued, {int(suppressed):,} suppressed (cap), "
        f"{int(held):,} held out; {_cpu(child.stdout)}"
    )
    _common.result(f"nudges_sweep_first{suffix}", float(secs), "s", f"<={GOALS['sweep']:g}")
    _common.result(f"nudges_sweep_rss{suffix}", float(rss), "MB", f"<={GOALS['rss']:g}")
    # The scheduler's next run, 5 minutes later: only what became due since (with overlap).
    env.pop("BENCH_RESET_NUDGES", None)
    child = subprocess.run(
        [sys.executable, __file__, "--sweep-child"],
        env={**env, "BENCH_SWEEP_LATER": "300"},
        capture_output=True,
        text=True,
        timeout=600,
        cwd=_common.ROOT,
    )
    line = next((x for x in child.stdout.splitlines() if x.startswith("SWEEP ")), None)
    if line is None:
        print(child.stdout, child.stderr[-3000:])
        return 1
    _, secs, rss, examined, queued, suppressed, held = line.split()
    print(
        f"  next sweep (5 minutes later): {int(examined):,} examined, {int(queued):,} queued; "
        f"{_cpu(child.stdout)}"
    )
    _common.result(f"nudges_sweep_next{suffix}", float(secs), "s", f"<={GOALS['sweep']:g}")
    if args.sweep_only:
        return 0
    return _report_send(env, args, suffix)


def _report_send(env: dict[str, str], args: argparse.Namespace, suffix: str) -> int:
    elapsed, received = _send(env, args.emails, args.workers, args.smtp)
    print(f"  sending: {received:,} emails received in {elapsed:.1f}s by {args.workers} workers")
    _common.result(
        f"nudges_send_rate{suffix}",
        received / elapsed if elapsed else 0.0,
        "emails/s",
        f">={GOALS['rate']:g}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
