"""Benchmark: adoption analytics at 100,000 learners and 10,000,000 learning events.

    uv run python bench/analytics.py                          # SQLite file in var/bench/
    uv run python bench/analytics.py --events 1000000         # a smaller run
    scripts/with-postgres uv run python bench/analytics.py    # PostgreSQL (built every run)

1. Build (or reuse, SQLite: var/bench/analytics.marker): the demo generator writes 100,000
   people, ~300,000 enrolments and their course-level events (the generator rebuilds the
   rollups from them), then this script writes synthetic learner events (launches, activity
   completions, knowledge-check attempts, daily sessions) for those enrolments over 180 days,
   clustered in a few session days per enrolment, in batches of 50,000 through the public bulk
   path (one insert + the rollup upserts in the same transaction) until the fact table holds
   --events rows. Figure: bulk events/s with rollups on.
2. Single-event overhead: record_event (insert + rollups) against a bare LearningEvent insert,
   each inside its own transaction, 2,000 times: the added milliseconds.
3. In a fresh process (so its memory is that of a process serving these reads): every KPI /
   report endpoint of /api/v1/analytics and the dashboard pages, as an admin, warm (one
   untimed call, then the median of 5), server time through Django's test client (no network);
   the manager dashboard for a manager with a team of about 50. Peak RSS of that process.

Goals: every endpoint <= 0.5 s; manager dashboard <= 100 ms; bulk >= 20,000 events/s; single
event adds <= 2 ms; serving process <= 1 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

TENANT_SLUG = "analytics-bench"
DATA_VERSION = 1
BATCH = 50_000
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
DAYS = 180


_DB_PATH: Path | None = None  # --db: a kept database file outside the repository


def _marker_paths() -> tuple[Path, Path]:
    if _DB_PATH is not None:
        return _DB_PATH, _DB_PATH.with_suffix(".marker")
    return _common.DATA_DIR / "analytics.sqlite3", _common.DATA_DIR / "analytics.marker"


def _wanted(args: argparse.Namespace) -> dict[str, Any]:
    return {"version": DATA_VERSION, "people": args.people, "events": args.events, "seed": 1}


def choose(args: argparse.Namespace) -> bool:
    """Pick the database; True when the SQLite file already holds the wanted data."""
    sqlite_path, marker_path = _marker_paths()
    if _common.is_postgres_url(os.environ.get("DATABASE_URL", "")):
        _common.choose_database()
        return bool(args.reuse_postgres)
    marker = json.loads(marker_path.read_text()) if marker_path.exists() else None
    reuse = not args.rebuild and sqlite_path.exists() and marker == _wanted(args)
    if not reuse:
        marker_path.unlink(missing_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
    _common.choose_database(sqlite_path)
    return reuse


VERBS = (
    ("launched", 0.40),
    ("activity_completed", 0.30),
    ("attempt_submitted", 0.08),
    ("passed", 0.05),
    ("failed", 0.03),
    ("active_session", 0.14),
)


def synthetic_rows(
    enrolments: list[tuple[int, int, dt.datetime]],
    activities: dict[int, list[int]],
    target: int,
    tenant_id: int,
    rng: random.Random,
) -> Any:
    """Yield LearningEvent rows (tenant, person, verb, object_type, object_id, course_id,
    occurred_at, value, data): about target / len(enrolments) per enrolment, on a few session
    days after its assignment."""
    verbs = [v for v, _w in VERBS]
    weights = [w for _v, w in VERBS]
    per, extra = divmod(target, max(1, len(enrolments)))
    start_of_window = NOW - dt.timedelta(days=DAYS)
    for index, (person_id, course_id, assigned_at) in enumerate(enrolments):
        count = per + (1 if index < extra else 0)
        if count <= 0:
            continue
        first = max(assigned_at, start_of_window) + dt.timedelta(hours=rng.expovariate(1 / 72))
        if first >= NOW:
            first = NOW - dt.timedelta(hours=1)
        span = (NOW - first).total_seconds()
        days = [first + dt.timedelta(seconds=rng.random() * span) for _ in range(1 + count // 12)]
        course_activities = activities.get(course_id) or [0]
        attempt = 0
        chosen = rng.choices(verbs, weights, k=count)
        for verb in chosen:
            at = rng.choice(days) + dt.timedelta(minutes=rng.randrange(90))
            at = min(at, NOW).replace(second=0, microsecond=0)
            data: dict[str, Any] = {}
            value = None
            if verb in ("attempt_submitted", "passed", "failed"):
                if verb == "attempt_submitted":
                    attempt += 1
                data = {"attempt": max(1, attempt)}
                value = float(rng.randrange(40, 101))
            object_type = "session" if verb == "active_session" else "activity"
            object_id = None if verb == "active_session" else rng.choice(course_activities)
            yield (
                tenant_id,
                person_id,
                verb,
                object_type,
                object_id,
                course_id,
                at,
                value,
                data,
            )


NAMES = [
    "tenant",
    "person",
    "verb",
    "object_type",
    "object_id",
    "course_id",
    "occurred_at",
    "value",
    "data",
]


def build(args: argparse.Namespace) -> None:
    from django.db import transaction

    from uptake.analytics import rollups, services
    from uptake.analytics.models import LearningEvent
    from uptake.catalog.models import Activity
    from uptake.core import bulk
    from uptake.demo.generator import OrgGenerator
    from uptake.enrollment.models import Enrollment

    t0 = time.perf_counter()
    summary = OrgGenerator(
        tenant_slug=TENANT_SLUG,
        people=args.people,
        seed=1,
        now=NOW,
        enrollments_per_person=(2, 4),
        detail_limit=0,
        progress=lambda msg: print(f"    {msg}", flush=True),
    ).build()
    print(
        f"  generator: {summary.people:,} people, {summary.enrollments:,} enrolments, "
        f"{summary.events:,} events in {time.perf_counter() - t0:.0f}s "
        f"(rollup rebuild {summary.seconds.get('analytics', 0):.1f}s)",
        flush=True,
    )
    tid = summary.tenant_id
    enrolments = list(
        Enrollment.objects.filter(tenant_id=tid)
        .exclude(status=Enrollment.Status.WITHDRAWN)
        .values_list("person_id", "course_id", "assigned_at")
    )
    activities: dict[int, list[int]] = {}
    for pk, course_id in Activity.objects.filter(tenant_id=tid).values_list("pk", "course_id"):
        activities.setdefault(course_id, []).append(pk)
    target = max(0, args.events - LearningEvent.objects.filter(tenant_id=tid).count())
    rng = random.Random(1)
    rows_iter = synthetic_rows(enrolments, activities, target, tid, rng)
    written = 0
    write_seconds = 0.0
    while True:
        batch = []
        for row in rows_iter:
            batch.append(row)
            if len(batch) >= BATCH:
                break
        if not batch:
            break
        started = time.perf_counter()
        with transaction.atomic(), bulk.page_cache():
            # As record_events writes them: times and JSON prepared once, then the rollups,
            # with the large SQLite page cache it takes for a batch.
            when = rollups.datetime_writer()
            bulk.insert_rows(
                LearningEvent,
                NAMES,
                [(*r[:6], when(r[6]), r[7], json.dumps(r[8]) if r[8] else "{}") for r in batch],
            )
            services.rollup_inserted_rows(names=NAMES, rows=batch)
        write_seconds += time.perf_counter() - started
        written += len(batch)
        if written % (BATCH * 20) == 0:
            print(f"    {written:,} events, {written / write_seconds:,.0f}/s", flush=True)
    rate = written / write_seconds if write_seconds else 0.0
    print(f"  synthetic: {written:,} events in {write_seconds:.0f}s of writing", flush=True)
    _common.result("analytics_bulk_events_per_s", rate, "events/s", ">=20000")


def grow(args: argparse.Namespace) -> None:
    """PostgreSQL, --grow-to N: copy the built events, each copy shifted a few minutes later
    (never past NOW), until the fact table holds N rows, then rebuild the rollups from all of
    them (`rebuild_analytics`). Minutes of set-up instead of hours through the bulk path, for
    measuring the reads at 10M; the bulk figure above stays the build's. The copies add
    events within the learners' existing session days."""
    from django.db import connection, transaction

    from uptake.analytics import rollups
    from uptake.analytics.models import LearningEvent
    from uptake.tenancy.models import Tenant

    tid = Tenant.objects.get(slug=TENANT_SLUG).pk
    table = connection.ops.quote_name(LearningEvent._meta.db_table)
    columns = "tenant_id, person_id, verb, object_type, object_id, course_id"
    base = list(LearningEvent.objects.filter(tenant_id=tid).values_list("pk", flat=True))
    base_last, have = max(base), len(base)
    del base
    started = time.perf_counter()
    copy = 0
    while have < args.grow_to:
        copy += 1
        wanted = min(have, args.grow_to - have)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}, occurred_at, value, data) "
                f"SELECT {columns}, LEAST(occurred_at + make_interval(mins => %s), %s), "
                f"value, data FROM {table} WHERE tenant_id = %s AND id <= %s "
                "ORDER BY id LIMIT %s",
                [7 * copy, NOW, tid, base_last, wanted],
            )
            have += cursor.rowcount
        print(f"    copy {copy}: {have:,} events", flush=True)
        if cursor.rowcount == 0:
            break
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")
    print(f"  grown to {have:,} events in {time.perf_counter() - started:.0f}s", flush=True)
    started = time.perf_counter()
    with transaction.atomic():
        read = rollups.rebuild(tenant_id=tid)
    rollups.vacuum_after_rebuild()  # as rebuild_analytics does
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"  rollups rebuilt from {read:,} events in {time.perf_counter() - started:.0f}s",
        flush=True,
    )


def single_event_overhead() -> None:
    from django.db import transaction

    from uptake.analytics import services
    from uptake.analytics.models import LearningEvent
    from uptake.enrollment.models import Enrollment
    from uptake.tenancy.models import Tenant

    tenant = Tenant.objects.get(slug=TENANT_SLUG)
    pairs = list(
        Enrollment.objects.filter(tenant=tenant).values_list("person_id", "course_id")[:2000]
    )
    rounds = len(pairs)

    def bare(i: int) -> None:
        person_id, course_id = pairs[i]
        with transaction.atomic():
            LearningEvent(
                tenant_id=tenant.pk,
                person_id=person_id,
                verb="launched",
                object_type="activity",
                object_id=1,
                course_id=course_id,
                occurred_at=NOW,
                data={},
            ).save(force_insert=True)

    def with_rollups(i: int) -> None:
        person_id, course_id = pairs[i]
        with transaction.atomic():
            services.record_event(
                tenant_id=tenant.pk,
                person_id=person_id,
                verb="launched",
                object_type="activity",
                object_id=1,
                course_id=course_id,
                occurred_at=NOW,
            )

    def timed(fn: Any) -> float:
        start = time.perf_counter()
        for i in range(rounds):
            fn(i)
        return (time.perf_counter() - start) / rounds * 1000

    # Interleave to share the machine's noise. The first pass with rollups is each person's
    # first event of the day on that course (new rollup rows); the second repeats them (rows
    # exist). Both are reported against the bare insert's second pass.
    timed(bare)
    first_ms = timed(with_rollups)
    bare_ms = timed(bare)
    rollup_ms = timed(with_rollups)
    print(
        f"  single event: bare {bare_ms:.3f} ms, with rollups {rollup_ms:.3f} ms"
        f" (first of the day {first_ms:.3f} ms)",
        flush=True,
    )
    _common.result("analytics_single_event_added_ms", rollup_ms - bare_ms, "ms", "<=2")
    _common.result("analytics_single_event_first_added_ms", first_ms - bare_ms, "ms", "<=2")


def _team_of_about(tenant_id: int, size: int) -> Any:
    from uptake.people.models import Person

    parents: dict[int, int | None] = dict(
        Person.objects.filter(tenant_id=tenant_id, is_active=True).values_list("pk", "manager_id")
    )
    below: dict[int, int] = {}
    for pk in parents:
        seen = set()
        up = parents.get(pk)
        while up is not None and up not in seen:
            seen.add(up)
            below[up] = below.get(up, 0) + 1
            up = parents.get(up)
    best = min(below, key=lambda m: (abs(below[m] - size), m))
    return Person.objects.get(pk=best), below[best]


def measure() -> None:
    import time_machine
    from django.test import Client, override_settings

    from tests.factories import grant
    from uptake.people import rules as people_rules
    from uptake.people.models import Person
    from uptake.tenancy.models import Tenant

    tenant = Tenant.objects.get(slug=TENANT_SLUG)
    admin = Person.objects.filter(tenant=tenant, user__isnull=False).order_by("pk")[0]
    grant(admin, people_rules.PLATFORM_ADMIN)
    manager, team_size = _team_of_about(tenant.pk, 50)
    print(f"  manager {manager.pk}: team of {team_size}", flush=True)
    client = Client()
    # Static files as in development (no collectstatic manifest needed for server time).
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with time_machine.travel(NOW, tick=True), override_settings(STORAGES=storages):
        client.force_login(admin.user)
        endpoints = [
            ("api_kpis", "/api/v1/analytics/kpis"),
            *[
                (f"api_report_{r}", f"/api/v1/analytics/reports/{r}")
                for r in (
                    "funnel",
                    "trend",
                    "daily_active",
                    "heatmap",
                    "retention",
                    "breakdown",
                    "checks",
                )
            ],
            ("api_breakdown_course", "/api/v1/analytics/reports/breakdown?by=course"),
            ("api_people_overdue", "/api/v1/analytics/people?metric=overdue"),
            ("api_compare", "/api/v1/analytics/compare?a_department=Sales&b_department=Support"),
            ("api_kpis_department", "/api/v1/analytics/kpis?department=Sales"),
            ("page_dashboard", "/analytics/"),
            ("page_people_not_started", "/analytics/people/?metric=not_started"),
            ("export_breakdown_parquet", "/analytics/export/breakdown_department.parquet"),
        ]
        for name, url in endpoints:
            _time(client, name, url, goal=500)
        client.force_login(manager.user)
        _time(client, "page_manager_dashboard_team_50", "/analytics/team/", goal=100)
        _time(client, "api_kpis_manager_team_50", "/api/v1/analytics/kpis", goal=100)
    rss_mb = _common.peak_rss_mb()
    _common.result("analytics_serving_process_rss", rss_mb, "MB", "<=1024")


def _time(client: Any, name: str, url: str, goal: float) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code} {response.content[:300]!r}")
    samples = []
    cpu = []
    for _ in range(5):
        start, start_cpu = time.perf_counter(), time.process_time()
        client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    _common.result(f"analytics_{name}", statistics.median(samples), "ms", f"<={goal:g}")
    # SQLite runs in this process: its CPU time is the server time without the waits for a
    # CPU on a shared machine.
    print(f"  cpu {statistics.median(cpu):.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--rebuild", action="store_true", help="SQLite: build a new database")
    parser.add_argument("--phase", choices=["all", "measure"], default="all")
    parser.add_argument("--reuse-postgres", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help="SQLite: keep the database in this file")
    parser.add_argument(
        "--grow-to",
        type=int,
        help="PostgreSQL: after the build, copy its events (shifted in time) up to this many "
        "and rebuild the rollups from them",
    )
    args = parser.parse_args()
    if args.grow_to and not _common.is_postgres_url(os.environ.get("DATABASE_URL", "")):
        parser.error("--grow-to is for PostgreSQL (SQLite: --db keeps a database built once)")
    global _DB_PATH
    _DB_PATH = args.db
    reuse = choose(args)
    if args.phase == "measure":
        _common.setup_django(migrate=False)
        print(f"  {_common.database_label()}; {_common.machine_label()}", flush=True)
        measure()
        return
    _common.setup_django()
    print(f"analytics: {_common.database_label()}; {_common.machine_label()}", flush=True)
    if reuse:
        print("  reusing the database built before (--rebuild for a new one)", flush=True)
    else:
        build(args)
        if args.grow_to:
            grow(args)
        if not _common.is_postgres_url(os.environ.get("DATABASE_URL", "")):
            _marker_paths()[1].write_text(json.dumps(_wanted(args)))
    single_event_overhead()
    from django.db import connection

    connection.close()
    # The reads in a fresh process: its peak memory is that of a process serving them.
    command = [sys.executable, __file__, "--phase", "measure"]
    command += ["--people", str(args.people), "--events", str(args.events)]
    if args.db is not None:
        command += ["--db", str(args.db)]
    if _common.is_postgres_url(os.environ.get("DATABASE_URL", "")):
        command.append("--reuse-postgres")
    subprocess.run(command, check=True, env=os.environ.copy(), timeout=1800)


if __name__ == "__main__":
    main()
