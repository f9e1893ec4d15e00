"""Benchmark: 50 audiences over 100,000 people: full recompute, one HR change, an HR import.

    uv run python bench/audiences.py                              # SQLite (temporary file)
    scripts/with-postgres uv run python bench/audiences.py        # PostgreSQL

Builds an organisation with the demo generator (no enrolments), creates 50 audiences of varied
rules (departments, locations, role families, tenure, hire date windows, custom levels,
reports-to-anywhere-below, derived manager role, nested and/or/not), then measures:

1. `audiences_create`: creating the 50 audiences, each filled at once (every join recorded).
2. `audiences_recompute_full`: a full recompute of all 50 from empty memberships (the worst
   case: every membership written again) and `audiences_recompute_steady`: the nightly run when
   little changed. Goal <= 10 s (issue 3, with enrolments once assignments subscribe).
3. `audiences_hr_change_p50` / `_p95`: 200 single HR changes through `update_person`, i.e. the
   service, its event on commit and every handler: audience maintenance and whatever subscribes
   to AudienceMembershipChanged (assignments: enrolments). Goal <= 50 ms.
4. `audiences_hr_import_changed`: the weekly HR file of all people with 10% of rows changed,
   with every audience (and enrolment) effect. Goal <= 60 s.

The timings call the same services the event handlers call, so once assignments subscribe
to AudienceMembershipChanged the figures include enrolments.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

SLUG = "hr-bench"  # the HR import benchmark's file is generated for this slug (emails)


def audience_rules(generator: object) -> list[tuple[str, str]]:
    """50 (name, rule text) pairs over the generated organisation's real values."""
    from uptake.demo.org import DEPARTMENTS, LOCATIONS

    plan = generator.people  # type: ignore[attr-defined]
    heads = [p for p in plan if p.depth == 1]
    directors = [p for p in plan if p.depth == 2 and p.reports][:6]
    families = sorted({p.role_family for p in plan if p.depth > 1})
    out: list[tuple[str, str]] = []
    for d in DEPARTMENTS:
        out.append((f"{d.name}", f'department = "{d.name}" and is_active = true'))
        out.append(
            (f"{d.name} starters", f'department = "{d.name}" and hire_date within last 30 days')
        )
    for loc in LOCATIONS:
        out.append((f"In {loc.name}", f'location = "{loc.name}"'))
    for fam in families[:10]:
        out.append((f"Family {fam}", f'role_family = "{fam}" and tenure_days <= 365'))
    for head in heads[:4]:
        out.append((f"Below {head.employee_id}", f'reports_to_any "{head.employee_id}"'))
    for director in directors[:3]:
        out.append((f"Team {director.employee_id}", f'reports_to "{director.employee_id}"'))
    extra = [
        ("Managers", 'role = "manager"'),
        ("New managers", 'role = "manager" and tenure_days <= 180'),
        ("Senior ICs", 'custom.level in ("L4", "L5") and not (role = "manager")'),
        ("Juniors", 'custom.level = "L1" or tenure_days < 90'),
        ("Part time", 'employment_type != "full_time"'),
        ("Europe", 'country in ("GB", "FR", "DE", "ES", "NL", "IE")'),
        ("Senior titles", 'job_title starts with "Senior"'),
        ("Engineers", 'job_title contains "engineer"'),
        ("Long tenure", "tenure_days >= 1825"),
        ("Hired 2021", "hire_date after 2020-12-31 and hire_date before 2022-01-01"),
        (
            "Sales or support newcomers",
            '(department = "Sales" or department = "Support") and tenure_days <= 90',
        ),
        ("Everyone active", "is_active = true"),
        ("No manager", "manager is empty"),
        ("Not engineering", 'not (department = "Engineering")'),
    ]
    out.extend(extra)
    return out[:50]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-import", action="store_true")
    args = parser.parse_args()

    _common.choose_database()
    _common.setup_django()
    from django.db import connection

    from uptake.audiences import services
    from uptake.audiences.models import Audience, AudienceMembership
    from uptake.core.actor import Actor
    from uptake.demo.generator import OrgGenerator
    from uptake.people import services as people_services
    from uptake.people.models import Person

    db = _common.database_label()
    suffix = "_postgres" if connection.vendor == "postgresql" else "_sqlite"
    print(f"Audiences benchmark: {args.people:,} people on {db} ({_common.machine_label()})")
    actor = Actor.system("bench")

    t0 = time.perf_counter()
    generator = OrgGenerator(
        tenant_slug=SLUG, people=args.people, seed=args.seed, enrollments_per_person=(0, 0)
    )
    summary = generator.build()
    print(f"  organisation generated in {time.perf_counter() - t0:.1f}s")
    tenant_id = summary.tenant_id

    specs = audience_rules(generator)
    t0 = time.perf_counter()
    for name, text in specs:
        services.create_audience(actor=actor, tenant_id=tenant_id, name=name, rule_text=text)
    created = time.perf_counter() - t0
    members = AudienceMembership.objects.filter(tenant_id=tenant_id).count()
    print(f"  {len(specs)} audiences created and filled in {created:.1f}s ({members:,} members)")

    AudienceMembership.objects.filter(tenant_id=tenant_id).delete()
    t0 = time.perf_counter()
    services.recompute_audiences(tenant_id=tenant_id)
    full = time.perf_counter() - t0
    print(f"  full recompute from empty memberships: {full:.1f}s")
    t0 = time.perf_counter()
    diffs = services.recompute_audiences(tenant_id=tenant_id)
    steady = time.perf_counter() - t0
    moved = sum(len(d.joined) + len(d.left) for d in diffs)
    print(f"  steady recompute (nightly): {steady:.1f}s, {moved} changes")

    # One person's HR change at a time, through the service and its handlers.
    rng = random.Random(f"{args.seed}:changes")
    ids = list(Person.objects.filter(tenant_id=tenant_id).values_list("pk", flat=True))
    departments = ["Sales", "Support", "Engineering", "Marketing", "Operations"]
    locations = sorted(
        set(Person.objects.filter(tenant_id=tenant_id).values_list("location", flat=True))
    )
    timings = []
    for i in range(args.changes):
        person = Person.objects.get(pk=rng.choice(ids))
        attrs: dict[str, object]
        if i % 3 == 0:
            attrs = {"department": rng.choice(departments)}
        elif i % 3 == 1:
            attrs = {"location": rng.choice(locations)}
        else:
            attrs = {"custom": {"level": rng.choice(["L1", "L2", "L3", "L4", "L5"])}}
        t0 = time.perf_counter()
        people_services.update_person(actor=actor, person=person, **attrs)
        timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"  one HR change through audiences: median {p50:.1f} ms, p95 {p95:.1f} ms")

    # The direct service alone (what the handler calls), for comparison.
    direct = []
    for _ in range(args.changes):
        pid = rng.choice(ids)
        t0 = time.perf_counter()
        services.apply_person_changes(tenant_id=tenant_id, person_ids=[pid])
        direct.append((time.perf_counter() - t0) * 1000)
    direct.sort()
    print(
        f"  apply_person_changes alone: median {statistics.median(direct):.1f} ms, "
        f"p95 {direct[int(len(direct) * 0.95) - 1]:.1f} ms"
    )

    import_seconds = None
    if not args.skip_import:
        import hr_import

        rows = hr_import.build_rows(args.people, args.seed)
        changed = hr_import.change_rows(rows, 0.10, args.seed)
        data = hr_import.to_csv(rows)
        t0 = time.perf_counter()
        report = people_services.import_people_csv(actor=actor, tenant_id=tenant_id, data=data)
        import_seconds = time.perf_counter() - t0
        print(
            f"  HR import with {changed:,} rows changed, with audience effects: "
            f"{import_seconds:.1f}s (updated {report.updated:,}, unchanged {report.unchanged:,})"
        )
    check = services.recompute_audiences(tenant_id=tenant_id)
    drift = sum(len(d.joined) + len(d.left) for d in check)
    print(f"  live maintenance vs recompute: {drift} differences")
    print(f"  audiences: {Audience.objects.filter(tenant_id=tenant_id).count()}")

    _common.result(f"audiences_create{suffix}", created, "s")
    _common.result(f"audiences_recompute_full{suffix}", full, "s", "<=10")
    _common.result(f"audiences_recompute_steady{suffix}", steady, "s", "<=10")
    _common.result(f"audiences_hr_change_p50{suffix}", p50, "ms", "<=50")
    _common.result(f"audiences_hr_change_p95{suffix}", p95, "ms", "<=50")
    if import_seconds is not None:
        _common.result(f"audiences_hr_import_changed{suffix}", import_seconds, "s", "<=60")
    _common.result(f"audiences_drift{suffix}", drift, "changes", "<=0")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
