"""Benchmark: SCORM upload and run time.

    uv run python bench/scorm.py                              # SQLite (temporary file)
    scripts/with-postgres uv run python bench/scorm.py        # PostgreSQL

Measured (the services, in process, as the routes call them):
1. `scorm_upload_*`: check, unpack and store a SCORM 2004 package of 1,000 files (20 MB
   unpacked), with its manifest parsed and rows written. Goal <= 10 s.
2. `scorm_launch_p95_*`: launching a SCO (state, session key, the values the SCO reads), 200
   times. Goal p95 <= 50 ms.
3. `scorm_commit_p95_*`: committing a typical batch (location, 4 KB of suspend data, status,
   score, session time, one interaction of 4 elements), 500 times. Goal p95 <= 50 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

GOALS = {"upload": 10.0, "launch": 0.050, "commit": 0.050}


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--commits", type=int, default=500)
    args = parser.parse_args()

    os.environ["UPTAKE_MEDIA_ROOT"] = tempfile.mkdtemp(prefix="uptake-bench-media-")
    _common.choose_database()
    _common.setup_django()
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories import ActivityFactory, CourseFactory, ModuleFactory, PersonFactory, grant
    from uptake.core.actor import Actor
    from uptake.enrollment.services import enroll_person
    from uptake.people.rules import CONTENT_OWNER
    from uptake.scorm import services
    from uptake.scorm.models import Item
    from uptake.scorm.tests.packages import Package, Sco
    from uptake.tenancy.models import Tenant

    label = f"{_common.database_label()} on {_common.machine_label()}"
    print(f"# {label}", flush=True)
    db = "postgres" if "PostgreSQL" in label else "sqlite"
    tenant = Tenant.objects.create(name="Bench", slug=f"bench-{random.randrange(10**9)}")
    author = grant(PersonFactory(tenant=tenant), CONTENT_OWNER)
    learner = PersonFactory(tenant=tenant)
    course = CourseFactory(tenant=tenant, owner=author)
    activity = ActivityFactory(module=ModuleFactory(course=course), kind="scorm")

    rng = random.Random(1)
    files = {
        f"assets/chapter-{i // 100}/file-{i}.js": bytes(rng.getrandbits(8) for _ in range(512)) * 40
        for i in range(args.files - 2)
    }
    package = Package(version="2004", scos=[Sco("a", "A", "index.html"), Sco("b", "B", "b.html")])
    data = Package(version="2004", scos=package.scos, files=files).zip()
    print(f"# package: {args.files} files, {len(data) / 1e6:.1f} MB zipped", flush=True)
    started = time.perf_counter()
    services.upload_package(
        actor=Actor.person(author.pk),
        activity=activity,
        upload=SimpleUploadedFile("bench.zip", data, content_type="application/zip"),
    )
    upload_s = time.perf_counter() - started
    _common.result(f"scorm_upload_{db}", upload_s, "s", f"<={GOALS['upload']}")

    enrollment = enroll_person(
        actor=Actor.system(), tenant_id=tenant.pk, person=learner, course=course
    )
    item = Item.objects.filter(package__activity=activity).order_by("position").first()
    actor = Actor.person(learner.pk)
    launches = []
    for _ in range(200):
        t = time.perf_counter()
        launched = services.launch(actor=actor, enrollment=enrollment, item=item)
        launches.append(time.perf_counter() - t)
    _common.result(f"scorm_launch_p95_{db}", _p95(launches) * 1000, "ms", "<=50")

    suspend = "x" * 4096
    commits = []
    for n in range(args.commits):
        changes = [
            ("cmi.location", f"page-{n}"),
            ("cmi.suspend_data", suspend[: 4000 + n % 96]),
            ("cmi.completion_status", "incomplete"),
            ("cmi.score.scaled", "0.5"),
            ("cmi.session_time", f"PT{n % 60}S"),
            (f"cmi.interactions.{n % 50}.id", f"q{n % 50}"),
            (f"cmi.interactions.{n % 50}.type", "choice"),
            (f"cmi.interactions.{n % 50}.learner_response", "a"),
            (f"cmi.interactions.{n % 50}.result", "correct"),
        ]
        t = time.perf_counter()
        services.commit(
            actor=actor,
            enrollment=enrollment,
            item=item,
            session_key=launched.session_key,
            changes=changes,
        )
        commits.append(time.perf_counter() - t)
    _common.result(f"scorm_commit_p95_{db}", _p95(commits) * 1000, "ms", "<=50")
    print(
        f"# commit median {statistics.median(commits) * 1000:.1f} ms, "
        f"launch median {statistics.median(launches) * 1000:.1f} ms",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
