"""Benchmark: the xAPI record store's ingest, storage per statement and filtered GET.

    uv run python bench/xapi.py --statements 200000            # SQLite (temporary file)
    scripts/with-postgres uv run python bench/xapi.py           # PostgreSQL
    uv run python bench/xapi.py --http                          # over HTTP: bench/xapi_http.py

Statements are typical of authoring-tool content: an Agent (mbox; 5,000 learners), one of 12
ADL verbs, an activity (2,000) with a name and type, a result (score, success, completion,
duration), a context (registration, a parent course activity, platform) and a timestamp;
about 750 bytes of JSON each. Requests go through the real view (`/xapi/statements`, HTTP
Basic, version header, JSON parsing, validation, id dedupe, set-based insert) with Django's
in-process test client: no socket, so the HTTP server's own cost is not included.

Measured:
1. `xapi_ingest_rate_*`: POST of batches of 100 statements, statements per second over the
   whole run, and the slowest 10% slice (steady from an empty store). Goal >= 5,000/s.
2. `xapi_repost_rate_*`: the first 20,000 statements POSTed again (all deduplicated by id).
3. `xapi_bytes_per_statement_*`: table + index bytes of the statements divided by their
   count (SQLite: dbstat pages; PostgreSQL: pg_total_relation_size). Goal <= 1,536.
4. `xapi_get_agent_verb_since_p95_*`: GET /xapi/statements?agent=...&verb=...&since=... for
   random learners (p95 of 300 requests, ms). Goal <= 50 ms.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

VERBS = [
    "http://adlnet.gov/expapi/verbs/" + v
    for v in [
        "experienced",
        "attempted",
        "answered",
        "completed",
        "passed",
        "failed",
        "interacted",
        "launched",
        "initialized",
        "terminated",
        "progressed",
        "scored",
    ]
]
GOALS = {"rate": 5000.0, "bytes": 1536.0, "p95": 50.0}


def make_statement(rng: random.Random, n: int, learners: int, activities: int) -> dict:
    learner = rng.randrange(learners)
    activity = rng.randrange(activities)
    verb = rng.choice(VERBS)
    day = f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}"
    ts = f"{day}T{n % 24:02d}:{n % 60:02d}:{(n // 7) % 60:02d}.{n % 1000:03d}Z"
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "actor": {
            "objectType": "Agent",
            "name": f"Learner {learner}",
            "mbox": f"mailto:learner{learner}@example.com",
        },
        "verb": {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[1]}},
        "object": {
            "objectType": "Activity",
            "id": f"http://example.com/content/course-{activity // 20}/activity-{activity}",
            "definition": {
                "name": {"en-US": f"Activity {activity}"},
                "type": "http://adlnet.gov/expapi/activities/lesson",
            },
        },
        "result": {
            "score": {
                "scaled": round(rng.random(), 2),
                "raw": rng.randrange(101),
                "min": 0,
                "max": 100,
            },
            "success": rng.random() < 0.7,
            "completion": True,
            "duration": f"PT{rng.randrange(1, 3600)}S",
        },
        "context": {
            "registration": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "contextActivities": {
                "parent": [
                    {
                        "id": f"http://example.com/content/course-{activity // 20}",
                        "objectType": "Activity",
                    }
                ]
            },
            "platform": "Authoring tool HTML5",
            "language": "en-US",
        },
        "timestamp": ts,
    }


def grow_store(target: int) -> None:
    """Copy the stored statements (as the view stored them: keys, verbs, JSON) under new
    random ids and later `stored` times until the store holds `target`: a store of 10,000,000
    for the GET figure without hours of ingest. Secondary indexes are dropped during the copy
    and built again afterwards from their own definitions (what a restore does)."""
    from django.db import connection, transaction

    from uptake.xapi.models import Statement

    table = Statement._meta.db_table
    pg = connection.vendor == "postgresql"
    cols = [f.column for f in Statement._meta.concrete_fields if f.column != "id"]
    new_id = "gen_random_uuid()" if pg else "lower(hex(randomblob(16)))"
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if pg:
            # Foreign keys checked per statement: CREATE INDEX refuses pending checks.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint "
                "WHERE conrelid = %s::regclass)",
                [table, table],
            )
            indexes = cursor.fetchall()
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'u'",
                [table],
            )
            uniques = cursor.fetchall()
            for name, _sql in uniques:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        else:
            cursor.execute("PRAGMA cache_size = -1000000")
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                "AND sql IS NOT NULL",
                [table],
            )
            indexes = cursor.fetchall()
            uniques = []
        for name, _sql in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        count = cursor.fetchone()[0]
        step = 0
        while count < target:  # doubling: a handful of statements
            step += 1
            take = min(count, target - count)
            shift = (
                f"stored + interval '{step} hours'"
                if pg
                else (f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', stored, '+{step} hours')")
            )
            select = ", ".join(
                new_id if c == "statement_id" else shift if c == "stored" else c for c in cols
            )
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select} "
                f"FROM {table} ORDER BY id LIMIT %s",
                [take],
            )
            count += take
            print(f"#   grown to {count:,} ({time.perf_counter() - t0:.0f} s)", flush=True)
        for _name, sql in indexes:
            cursor.execute(sql)
        for name, definition in uniques:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        if pg:
            cursor.execute(f"ANALYZE {table}")
        else:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA cache_size = -20000")
    print(f"# store grown to {count:,} statements in {time.perf_counter() - t0:.0f} s", flush=True)


def storage_bytes() -> tuple[int, int]:
    """(bytes of the statement table and its indexes, statement count)."""
    from django.db import connection

    from uptake.xapi.models import Statement

    count = Statement.objects.count()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_total_relation_size('xapi_statement')")
            return int(cursor.fetchone()[0]), count
        cursor.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'xapi_statement'")
        names = [r[0] for r in cursor.fetchall()]
        try:
            marks = ",".join("%s" for _ in names)
            cursor.execute(f"SELECT SUM(pgsize) FROM dbstat WHERE name IN ({marks})", names)
            return int(cursor.fetchone()[0]), count
        except Exception:  # dbstat not compiled in: fall back to the whole file
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute("PRAGMA page_size")
            return int(pages * cursor.fetchone()[0]), count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--learners", type=int, default=5000)
    parser.add_argument("--activities", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--grow-to",
        type=int,
        default=0,
        help="after the ingest, copy the stored statements up to this many (storage and GET "
        "figures at that size, e.g. 10000000)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the ingest")
    parser.add_argument("--profile-sort", default="tottime")
    parser.add_argument(
        "--http", action="store_true", help="over HTTP: the Procfile's web server (xapi_http.py)"
    )
    parser.add_argument("--senders", type=int, default=4, help="--http: batch client threads")
    parser.add_argument("--single-clients", type=int, default=16, help="--http")
    parser.add_argument("--single-seconds", type=float, default=30.0, help="--http")
    args = parser.parse_args()
    if args.http:
        import xapi_http

        return xapi_http.run(args, make_statement, GOALS)

    _common.choose_database()
    _common.setup_django()
    from django.test import Client

    from uptake.core.actor import Actor
    from uptake.tenancy.models import Tenant
    from uptake.xapi import services

    label = (
        "postgres"
        if _common.is_postgres_url(__import__("os").environ["DATABASE_URL"])
        else "sqlite"
    )
    print(
        f"# {_common.database_label()} on {_common.machine_label()}; {args.statements:,} statements"
    )
    tenant = Tenant.objects.create(name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}")
    credential, secret = services.create_credential(
        actor=Actor.system("bench"), tenant_id=tenant.pk, name="bench"
    )
    token = base64.b64encode(f"{credential.key}:{secret}".encode()).decode()
    headers = {"HTTP_AUTHORIZATION": f"Basic {token}", "HTTP_X_EXPERIENCE_API_VERSION": "1.0.3"}
    client = Client()
    rng = random.Random(args.seed)

    def batches():
        for start in range(0, args.statements, args.batch):
            batch = [
                make_statement(rng, n, args.learners, args.activities)
                for n in range(start, min(start + args.batch, args.statements))
            ]
            yield json.dumps(batch)

    client.get("/xapi/statements", {"limit": 1}, **headers)  # warm up: URL conf, imports
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    # Batches are generated as we go (a million statements do not fit in memory as JSON);
    # only the POSTs are timed.
    n_batches = -(-args.statements // args.batch)
    slice_size = max(1, n_batches // 10)
    slice_rates = []
    first_batches = []
    json_bytes = 0
    elapsed = cpu = slice_elapsed = 0.0
    for i, body in enumerate(batches(), start=1):
        json_bytes += len(body)
        if len(first_batches) * args.batch < 20_000:
            first_batches.append(body)
        if profiler:
            profiler.enable()
        t = time.perf_counter()
        c = time.process_time()
        response = client.post("/xapi/statements", body, content_type="application/json", **headers)
        spent = time.perf_counter() - t
        cpu += time.process_time() - c
        if profiler:
            profiler.disable()
        elapsed += spent
        slice_elapsed += spent
        if response.status_code != 200:
            print(response.status_code, response.content[:300])
            return 1
        if i % slice_size == 0:
            slice_rates.append(slice_size * args.batch / slice_elapsed)
            print(
                f"#   {i * args.batch:>9,} stored: {slice_rates[-1]:,.0f} statements/s", flush=True
            )
            slice_elapsed = 0.0
    print(f"# {json_bytes / args.statements:.0f} bytes of JSON per statement")
    if profiler:
        import pstats

        pstats.Stats(profiler).sort_stats(args.profile_sort).print_stats(30)
    rate = args.statements / elapsed
    _common.result(f"xapi_ingest_rate_{label}", rate, "statements/s", f">={GOALS['rate']:.0f}")
    # The CPU time of this process (web code + SQLite, which runs in-process): what the
    # ingest costs on one core, whatever else the machine is doing. (PostgreSQL's own work
    # runs in its server processes and is not counted here.)
    _common.result(
        f"xapi_ingest_per_cpu_second_{label}", args.statements / cpu, "statements/cpu-s", "-"
    )
    if slice_rates:
        _common.result(
            f"xapi_ingest_slowest_tenth_{label}",
            min(slice_rates),
            "statements/s",
            f">={GOALS['rate']:.0f}",
        )

    t0 = time.perf_counter()
    for body in first_batches:
        client.post("/xapi/statements", body, content_type="application/json", **headers)
    reposted = len(first_batches) * args.batch
    _common.result(
        f"xapi_repost_rate_{label}", reposted / (time.perf_counter() - t0), "statements/s", "-"
    )

    if args.grow_to > args.statements:
        grow_store(args.grow_to)
    size, count = storage_bytes()
    _common.result(
        f"xapi_bytes_per_statement_{label}", size / count, "bytes", f"<={GOALS['bytes']:.0f}"
    )

    timings = []
    cpu_timings = []
    since = "2020-01-01T00:00:00Z"
    for _ in range(args.queries):
        learner = rng.randrange(args.learners)
        params = {
            "agent": json.dumps({"mbox": f"mailto:learner{learner}@example.com"}),
            "verb": rng.choice(VERBS),
            "since": since,
        }
        t = time.perf_counter()
        c = time.process_time()
        response = client.get("/xapi/statements", params, **headers)
        timings.append((time.perf_counter() - t) * 1000)
        cpu_timings.append((time.process_time() - c) * 1000)
        assert response.status_code == 200, response.content[:300]
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"#   GET agent+verb+since: p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms")
    _common.result(f"xapi_get_agent_verb_since_p95_{label}", p95, "ms", f"<={GOALS['p95']:.0f}")
    cpu_timings.sort()
    _common.result(
        f"xapi_get_agent_verb_since_p95_cpu_{label}",
        cpu_timings[int(len(cpu_timings) * 0.95) - 1],
        "cpu-ms",
        "-",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
