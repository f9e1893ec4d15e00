"""Benchmark: audiences -> assignments -> enrolments over 100,000 people.

    uv run python bench/assignments.py                              # SQLite (temporary file)
    scripts/with-postgres uv run python bench/assignments.py        # PostgreSQL

Set-up (not timed): the HR file of bench/hr_import.py imported, 80 published courses, 10
published three-step paths, 50 audiences ("department = D and location = L", every pair of
the demo organisation's departments and locations) and one assignment each (40 courses, 10
paths; due hire date + 14 days; withdraw if not started on leave).

Measured:
1. `assignments_full_recompute_*`: a full recompute of the 50 audiences from no members,
   applying every resulting enrolment (with its event, link and path enrolment). Goal <= 10 s.
   `assignments_rollups_worker_*`: then the analytics rollups of its learning events, which
   the worker applies after it commits (ADR 0035); no goal of its own.
   `assignments_manager_notifications_*`: then the queued manager-notification tasks, run as
   the worker runs them (notifications and outbox emails); no goal of its own.
2. `assignments_one_person_*`: one person's HR change (department and location) through
   update_person to their new audiences and enrolments (median of 20). Goal <= 50 ms.
3. `assignments_hr_import_changed_*`: the HR file again with 10% of rows changed, with every
   audience and enrolment effect. Goal <= 60 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

GOALS = {"full": 10.0, "one": 0.050, "import": 60.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile the full recompute")
    parser.add_argument("--profile-one", action="store_true", help="cProfile one HR change")
    parser.add_argument("--show-queries", action="store_true", help="SQL of one HR change")
    parser.add_argument("--profile-import", action="store_true", help="cProfile the re-import")
    parser.add_argument("--only-full", action="store_true", help="stop after the full recompute")
    args = parser.parse_args()

    _common.choose_database()
    _common.setup_django()
    import hr_import

    from uptake.assignments.models import Assignment
    from uptake.audiences import rules as audience_rules
    from uptake.audiences import services as audience_services
    from uptake.audiences.models import Audience, AudienceMembership, AudienceVersion
    from uptake.catalog.models import Course
    from uptake.core import clock
    from uptake.core.actor import Actor
    from uptake.demo.org import DEPARTMENTS, LOCATIONS
    from uptake.enrollment.models import Enrollment
    from uptake.paths import services as path_services
    from uptake.people import services as people_services
    from uptake.people.models import Person
    from uptake.tenancy.services import create_tenant

    db = _common.database_label()
    suffix = "_postgres" if "PostgreSQL" in db else "_sqlite"
    print(f"Assignments benchmark: {args.people:,} people on {db} ({_common.machine_label()})")
    actor = Actor.system("bench")
    tenant = create_tenant(
        actor=actor, name="Assign bench", slug=f"assign-bench-{int(time.time())}"
    )
    rows = hr_import.build_rows(args.people, args.seed)
    t0 = time.perf_counter()
    people_services.import_people_csv(actor=actor, tenant_id=tenant.pk, data=hr_import.to_csv(rows))
    print(f"  set-up: imported {len(rows):,} people in {time.perf_counter() - t0:.1f}s")

    now = clock.now()
    courses = Course.objects.bulk_create(
        [
            Course(
                tenant=tenant,
                title=f"Course {i}",
                slug=f"course-{i}",
                status=Course.Status.PUBLISHED,
                published_at=now,
                estimated_minutes=10,
            )
            for i in range(80)
        ]
    )
    paths = []
    for p in range(10):
        path = path_services.create_path(actor=actor, tenant_id=tenant.pk, title=f"Track {p}")
        for course in courses[50 + 3 * p : 53 + 3 * p]:
            path_services.add_step(actor=actor, path=path, course=course)
        paths.append(path_services.publish_path(actor=actor, path=path))
    pairs = [(d.name, loc.name) for d in DEPARTMENTS for loc in LOCATIONS][:50]
    audiences = []
    for i, (department, location) in enumerate(pairs):
        text = f'department = "{department}" and location = "{location}"'
        rule = audience_rules.parse(text)
        audience = Audience.objects.create(
            tenant=tenant, name=f"{department} in {location}", rule=rule, rule_text=text
        )
        AudienceVersion.objects.create(
            tenant=tenant, audience=audience, version=1, rule=rule, rule_text=text
        )
        audiences.append(audience)
        Assignment.objects.create(
            tenant=tenant,
            audience=audience,
            course=courses[i] if i < 40 else None,
            path=paths[i - 40] if i >= 40 else None,
            due_kind="days_after_hire",
            due_days=14,
            on_leave="withdraw_if_not_started",
        )
    print(f"  set-up: {len(pairs)} audiences and assignments (40 courses, 10 paths of 3)")

    # A serving process has its URLconf loaded (notifications link to screens): load it now
    # so the figures measure the work, not the one-time import of every app's routes.
    from django.urls import reverse

    reverse("healthz")

    # 1. Full recompute from no members, with every effect.
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU time: load does not distort it
        profiler.enable()
    t0, c0, w0 = time.perf_counter(), time.process_time(), _common.bytes_written()
    audience_services.recompute_audiences(tenant_id=tenant.pk)
    how = "audiences.services.recompute_audiences"
    full, full_cpu = time.perf_counter() - t0, time.process_time() - c0
    full_mb = (_common.bytes_written() - w0) / 1e6
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumtime").print_stats(60)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
    members = AudienceMembership.objects.filter(tenant=tenant).count()
    enrolments = Enrollment.objects.filter(tenant=tenant).count()
    print(
        f"  full recompute ({how}): {full:.2f}s (CPU {full_cpu:.2f}s, {full_mb:,.0f} MB written) "
        f"-> {members:,} memberships, "
        f"{enrolments:,} enrolments"
    )
    _common.result(f"assignments_full_recompute{suffix}", full, "s", f"<={GOALS['full']:g}")

    # The recompute's learning events are counted in the reports by the worker (ADR 0035): run
    # what it queued, as the worker would, and time it separately.
    from uptake.analytics.tasks import apply_pending_rollups

    t0 = time.perf_counter()
    counted = apply_pending_rollups.call()
    later = time.perf_counter() - t0
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(
        task_path="uptake.analytics.tasks.apply_pending_rollups", status="READY"
    ).delete()
    print(f"  analytics rollups of the recompute's events (worker): {counted:,} in {later:.2f}s")
    _common.result(f"assignments_rollups_worker{suffix}", later, "s")
    if args.only_full:
        return 0

    # The managers' notifications are composed by a task after commit: run what was queued,
    # as the worker would, and time it separately.
    queued = list(
        DBTaskResult.objects.filter(
            task_path="uptake.assignments.tasks.notify_managers_of_new_assignments",
            status="READY",
        ).values_list("pk", "args_kwargs")
    )
    from uptake.assignments.tasks import notify_managers_of_new_assignments

    t0 = time.perf_counter()
    told = sum(notify_managers_of_new_assignments.call(*args["args"]) for _pk, args in queued)
    notified = time.perf_counter() - t0
    DBTaskResult.objects.filter(pk__in=[pk for pk, _args in queued]).delete()
    print(
        f"  manager notifications (worker, {len(queued)} tasks): {told:,} told in {notified:.2f}s"
    )
    _common.result(f"assignments_manager_notifications{suffix}", notified, "s")

    # 2. One person's HR change through to their new enrolments.
    movers = list(
        Person.objects.filter(
            tenant=tenant, department="Engineering", manager__isnull=False
        ).order_by("pk")[:20]
    )
    timings = []
    one_profiler = None
    if args.profile_one:
        import cProfile

        one_profiler = cProfile.Profile()
        one_profiler.enable()
    cpu_timings: list[float] = []
    for person in movers:
        before = Enrollment.objects.filter(person=person).exclude(status="withdrawn").count()
        t0, c0 = time.perf_counter(), time.process_time()
        people_services.update_person(
            actor=actor, person=person, department="Sales", location=LOCATIONS[0].name
        )
        timings.append(time.perf_counter() - t0)
        cpu_timings.append(time.process_time() - c0)
        after = Enrollment.objects.filter(person=person).exclude(status="withdrawn").count()
    if args.show_queries:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        person = movers[-1]
        with CaptureQueriesContext(connection) as captured:
            people_services.update_person(
                actor=actor, person=person, department="Marketing", location=LOCATIONS[1].name
            )
        for query in captured.captured_queries:
            print(f"    {query['time']}s {query['sql'][:300]}")
        print(f"  one HR change ran {len(captured.captured_queries)} queries")
    one = statistics.median(timings)
    if one_profiler is not None:
        import pstats

        one_profiler.disable()
        pstats.Stats(one_profiler).sort_stats("cumtime").print_stats(50)
    print(
        f"  one person's change: median {one * 1000:.1f} ms (CPU "
        f"{statistics.median(cpu_timings) * 1000:.1f} ms), max {max(timings) * 1000:.1f} ms "
        f"(last one: {before} -> {after} open enrolments)"
    )
    _common.result(f"assignments_one_person{suffix}", one, "s", f"<={GOALS['one']:g}")

    # 3. The HR import again with 10% changed, with every effect.
    changed = hr_import.change_rows(rows, 0.10, args.seed)
    for i, row in enumerate(rows[1:], start=1):  # moves between departments change audiences
        if i % 50 == 0:
            row["department"] = DEPARTMENTS[(i // 50) % len(DEPARTMENTS)].name
    data = hr_import.to_csv(rows)
    enrolled_before = Enrollment.objects.filter(tenant=tenant).exclude(status="withdrawn").count()
    import_profiler = None
    if args.profile_import:
        import cProfile

        import_profiler = cProfile.Profile()
        import_profiler.enable()
    t0, c0 = time.perf_counter(), time.process_time()
    report = people_services.import_people_csv(actor=actor, tenant_id=tenant.pk, data=data)
    imported, imported_cpu = time.perf_counter() - t0, time.process_time() - c0
    if import_profiler is not None:
        import pstats

        import_profiler.disable()
        pstats.Stats(import_profiler).sort_stats("cumtime").print_stats(70)
    enrolled_after = Enrollment.objects.filter(tenant=tenant).exclude(status="withdrawn").count()
    print(
        f"  HR import with {changed:,}+{len(rows) // 50:,} rows changed: {imported:.1f}s "
        f"(CPU {imported_cpu:.1f}s) "
        f"(updated {report.updated:,}); open enrolments {enrolled_before:,} -> {enrolled_after:,}"
    )
    _common.result(
        f"assignments_hr_import_changed{suffix}", imported, "s", f"<={GOALS['import']:g}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
