"""Benchmark: import an HR file of 100,000 people, then the same file with 10% of rows changed.

    uv run python bench/hr_import.py                              # SQLite (temporary file)
    scripts/with-postgres uv run python bench/hr_import.py        # PostgreSQL

Measures the wall time of `uptake.people.services.import_people_csv` for (1) the first import
into an empty organisation (everyone created, with logins) and (2) the next week's file where 10%
of the rows changed (job, department, location, manager...). Goal: each <= 60 s.

The CSV comes from the demo generator's plan (realistic names, departments, manager tree), so
the file is the same on every run for a given --people and --seed.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

GOAL_SECONDS = 60.0
COLUMNS = [
    "employee_id",
    "email",
    "first_name",
    "last_name",
    "job_title",
    "role_family",
    "department",
    "location",
    "country",
    "time_zone",
    "language",
    "hire_date",
    "manager_employee_id",
    "employment_type",
    "active",
    "custom.cost_centre",
]


def build_rows(people: int, seed: int) -> list[dict[str, str]]:
    from uptake.demo.generator import OrgGenerator

    plan = OrgGenerator(tenant_slug="hr-bench", people=people, seed=seed).people
    by_rank = {p.rank: p for p in plan}
    return [
        {
            "employee_id": p.employee_id,
            "email": p.email,
            "first_name": p.first_name,
            "last_name": p.last_name,
            "job_title": p.job_title,
            "role_family": p.role_family,
            "department": p.department,
            "location": p.location.name,
            "country": p.location.country,
            "time_zone": p.location.time_zone,
            "language": p.location.language,
            "hire_date": p.hire_date.isoformat(),
            "manager_employee_id": (
                by_rank[p.manager_rank].employee_id if p.manager_rank is not None else ""
            ),
            "employment_type": p.employment_type,
            "active": "true",
            "custom.cost_centre": p.custom["cost_centre"],
        }
        for p in plan
    ]


def change_rows(rows: list[dict[str, str]], share: float, seed: int) -> int:
    """Change `share` of the rows the way a weekly HR export does: new jobs, moves, new managers."""
    from uptake.demo.org import LOCATIONS

    rng = random.Random(f"{seed}:changes")
    picked = rng.sample(range(1, len(rows)), int(len(rows) * share))  # the CEO stays
    for i in picked:
        row = rows[i]
        kind = rng.random()
        if kind < 0.4:
            row["job_title"] = f"Senior {row['job_title']}".replace("Senior Senior", "Principal")
        elif kind < 0.7:
            loc = rng.choice(LOCATIONS)
            row.update(
                location=loc.name,
                country=loc.country,
                time_zone=loc.time_zone,
                language=loc.language,
                **{"custom.cost_centre": f"CC-MOVE-{loc.code}"},
            )
        elif kind < 0.9:
            # A new manager who is not one of their own reports: someone hired before them in
            # the file (managers come first), which keeps the tree free of cycles.
            row["manager_employee_id"] = rows[rng.randrange(0, i)]["employee_id"]
        else:
            row["employment_type"] = "part_time"
    return len(picked)


def to_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--change", type=float, default=0.10, help="share of rows changed")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    _common.choose_database()
    _common.setup_django()
    from uptake.core.actor import Actor
    from uptake.people.models import Person
    from uptake.tenancy.services import create_tenant

    try:
        from uptake.people.services import import_people_csv
    except ImportError:
        print("uptake.people.services.import_people_csv does not exist yet: nothing to measure")
        return 2

    db = _common.database_label()
    print(f"HR import benchmark: {args.people:,} people on {db} ({_common.machine_label()})")
    rows = build_rows(args.people, args.seed)
    first = to_csv(rows)
    print(f"  file: {len(first) / 1e6:.1f} MB, {len(rows):,} rows")
    actor = Actor.system("bench")
    tenant = create_tenant(actor=actor, name="HR import bench", slug=f"hr-bench-{int(time.time())}")

    t0 = time.perf_counter()
    report = import_people_csv(actor=actor, tenant_id=tenant.pk, data=first)
    first_seconds = time.perf_counter() - t0
    print(
        f"  first import: {first_seconds:.1f}s (created {report.created:,}, "
        f"updated {report.updated:,}, unchanged {report.unchanged:,})"
    )
    assert Person.objects.filter(tenant=tenant).count() == len(rows)

    changed = change_rows(rows, args.change, args.seed)
    second = to_csv(rows)
    t0 = time.perf_counter()
    report = import_people_csv(actor=actor, tenant_id=tenant.pk, data=second)
    second_seconds = time.perf_counter() - t0
    print(
        f"  re-import with {changed:,} rows changed: {second_seconds:.1f}s (created "
        f"{report.created:,}, updated {report.updated:,}, unchanged {report.unchanged:,})"
    )
    suffix = "_postgres" if "PostgreSQL" in db else "_sqlite"
    _common.result(f"hr_import_first{suffix}", first_seconds, "s", f"<={GOAL_SECONDS:g}")
    _common.result(f"hr_import_changed{suffix}", second_seconds, "s", f"<={GOAL_SECONDS:g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
