"""The xAPI benchmark over real HTTP (`bench/xapi.py --http`): the web server of the Procfile.

    uv run python bench/xapi.py --http --statements 200000             # SQLite (temporary file)
    scripts/with-postgres uv run python bench/xapi.py --http           # PostgreSQL

1. Migrates the database, makes an organisation and an xAPI credential (in this process, then
   lets go of the database), and starts the `web` command of the Procfile exactly as `make run`
   does (gunicorn, 2 worker processes x 2 threads) on a free loopback port. The task worker and
   the scheduler are not started: nothing in ingest needs them.
2. **Batches**: `--senders` client threads (default 4, one keep-alive connection each) POST
   batches of 100 statements until `--statements` are stored: statements/s over the run and
   in each tenth (steady from an empty store?). Bodies are made once (a pool of 50 batches)
   and only their statement ids are rewritten per request, so the client spends little CPU on
   the shared cores.
3. **Single statements**: `--single-clients` clients (default 16: 2 processes x 8 threads,
   one keep-alive connection each) POST one statement per request for `--single-seconds`:
   requests/s, p50 and p95 latency as the client sees it.
4. The server's resident memory (gunicorn master + workers, summed) sampled every second
   through both phases: the peak. And the server's CPU time per statement (statements per
   server CPU-second: what the two cores can do at best, whatever else runs).
Everything stays on 127.0.0.1; the server is stopped whatever happens.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import multiprocessing
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
import my_learning

POOL_BATCHES = 50
ID_PREFIX = b'"id": "00000000-'


def _template_batches(
    make: Callable[..., dict], batch: int, learners: int, activities: int
) -> list[bytes]:
    """Batches whose statement ids are 00000000-0000-4000-8000-<n>; a round number replaces
    the leading zeros, so every request carries new ids."""
    rng = random.Random(7)
    out = []
    n = 0
    for _ in range(POOL_BATCHES):
        statements = []
        for _ in range(batch):
            st = make(rng, n, learners, activities)
            st["id"] = f"00000000-0000-4000-8000-{n:012x}"
            statements.append(st)
            n += 1
        out.append(json.dumps(statements).encode())
    return out


def _with_round(body: bytes, round_no: int) -> bytes:
    return body.replace(ID_PREFIX, f'"id": "{round_no:08x}-'.encode())


class _Server:
    """The Procfile's web command on a free port, its resident memory and CPU time."""

    def __init__(self, url: str, logs: Path) -> None:
        self.port = _common.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = my_learning.server_env(url, self.port)
        command = my_learning.procfile_commands()["web"]
        log = open(logs / "xapi-http-web.log", "wb")  # noqa: SIM115 (kept by the process)
        self.processes = {
            "web": subprocess.Popen(
                ["bash", "-c", f"exec {command}"],
                cwd=_common.ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        }
        self.peak_rss = 0.0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def wait_up(self) -> None:
        my_learning.wait_until_up(self.base, self.processes, 120)
        self._sampler.start()

    def _tree(self) -> list[Any]:
        import psutil

        try:
            root = psutil.Process(self.processes["web"].pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _sample(self) -> None:
        while not self._stop.wait(1.0):
            self.peak_rss = max(self.peak_rss, self.rss())

    def rss(self) -> float:
        return my_learning.resident_memory(self.processes).get("web", 0.0)

    def cpu_seconds(self) -> float:
        import psutil

        total = 0.0
        for proc in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def stop(self) -> None:
        self._stop.set()
        my_learning.stop_stack(self.processes)


def _post(conn: http.client.HTTPConnection, body: bytes, headers: dict[str, str]) -> int:
    conn.request("POST", "/xapi/statements", body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"POST answered {response.status}: {data[:300]!r}")
    return response.status


def ingest(
    base: str, headers: dict[str, str], pool: list[bytes], total: int, batch: int, senders: int
) -> list[tuple[float, int]]:
    """POST `total` statements in batches from `senders` threads; (finish time, count) per
    request, in order of completion."""
    port = int(base.rsplit(":", 1)[1])
    lock = threading.Lock()
    batches = -(-total // batch)
    state = {"next": 0}
    done: list[tuple[float, int]] = []
    errors: list[BaseException] = []

    def work() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            while not errors:
                with lock:
                    i = state["next"]
                    if i >= batches:
                        return
                    state["next"] = i + 1
                body = _with_round(pool[i % len(pool)], 1 + i // len(pool))
                _post(conn, body, headers)
                with lock:
                    done.append((time.perf_counter(), batch))
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=work) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return done


def _single_client_process(
    args: tuple[str, dict[str, str], list[bytes], int, float, int],
) -> tuple[list[float], float]:
    """One client process: `threads` keep-alive connections POSTing single statements until
    the deadline; (latencies in ms, this process's CPU seconds)."""
    base, headers, pool, threads, seconds, proc_no = args
    port = int(base.rsplit(":", 1)[1])
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(thread_no: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        n = 0
        mine: list[float] = []
        try:
            while time.perf_counter() < deadline and not errors:
                body = pool[n % len(pool)]
                # a round number unique to this process, thread and lap of the pool
                round_no = 0x80000000 + (proc_no << 20) + (thread_no << 14) + n // len(pool)
                body = _with_round(body, round_no)
                t = time.perf_counter()
                _post(conn, body, headers)
                mine.append((time.perf_counter() - t) * 1000)
                n += 1
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)

    cpu = time.process_time()
    pool_threads = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool_threads:
        t.start()
    for t in pool_threads:
        t.join()
    if errors:
        raise RuntimeError(str(errors[0]))
    return latencies, time.process_time() - cpu


def single_statements(
    base: str, headers: dict[str, str], pool: list[bytes], clients: int, seconds: float
) -> tuple[list[float], float, float]:
    """(latencies ms, wall seconds, client CPU seconds) of `clients` concurrent clients."""
    procs = 2 if clients >= 2 else 1
    per = [clients // procs + (1 if k < clients % procs else 0) for k in range(procs)]
    ctx = multiprocessing.get_context("spawn")
    t0 = time.perf_counter()
    with ctx.Pool(procs) as workers:
        results = workers.map(
            _single_client_process,
            [(base, headers, pool, per[k], seconds, k) for k in range(procs)],
        )
    wall = time.perf_counter() - t0
    latencies = [ms for part, _cpu in results for ms in part]
    return latencies, wall, sum(cpu for _part, cpu in results)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * q) - 1)]


def _load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load {one:.1f} (5 min {five:.1f})"


def run(args: Any, make: Callable[..., dict], goals: dict[str, float]) -> int:
    _common.choose_database()
    _common.setup_django()
    from django.db import connection

    from uptake.core.actor import Actor
    from uptake.tenancy.models import Tenant
    from uptake.xapi import services

    label = "postgres" if connection.vendor == "postgresql" else "sqlite"
    tenant = Tenant.objects.create(name="Bench", slug=f"bench-http-{os.getpid()}")
    credential, secret = services.create_credential(
        actor=Actor.system("bench"), tenant_id=tenant.pk, name="bench"
    )
    database = _common.database_label()
    connection.close()
    token = base64.b64encode(f"{credential.key}:{secret}".encode()).decode()
    headers = {
        "Authorization": f"Basic {token}",
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
    }
    logs = _common.RESULTS_DIR
    logs.mkdir(parents=True, exist_ok=True)
    pool = _template_batches(make, args.batch, args.learners, args.activities)
    singles = []
    for body in pool[:10]:
        for st in json.loads(body):
            singles.append(json.dumps(st).encode())
    print(
        f"# {database} on {_common.machine_label()}; HTTP: Procfile web command "
        f"({my_learning.procfile_commands()['web'].split(' --access')[0]})"
    )
    server = _Server(os.environ["DATABASE_URL"], logs)
    try:
        server.wait_up()
        # warm every worker thread up (imports, URL conf, the credential)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        for _ in range(8):
            conn.request("GET", "/xapi/statements?limit=1", headers=headers)
            conn.getresponse().read()
        conn.close()
        print(f"#   before the batches: {_load()}; server RSS {server.rss():.0f} MB", flush=True)
        cpu0 = server.cpu_seconds()
        t0 = time.perf_counter()
        done = ingest(server.base, headers, pool, args.statements, args.batch, args.senders)
        elapsed = time.perf_counter() - t0
        server_cpu = server.cpu_seconds() - cpu0
        stored = sum(n for _t, n in done)
        tenth = max(1, len(done) // 10)
        slices = []
        start = t0
        for k in range(tenth - 1, len(done), tenth):
            end = done[k][0]
            slices.append(tenth * args.batch / (end - start))
            start = end
        print(
            "#   tenths: " + ", ".join(f"{r:,.0f}" for r in slices) + f" statements/s; {_load()}",
            flush=True,
        )
        _common.result(
            f"xapi_http_ingest_rate_{label}",
            stored / elapsed,
            "statements/s",
            f">={goals['rate']:.0f}",
        )
        _common.result(
            f"xapi_http_ingest_slowest_tenth_{label}",
            min(slices),
            "statements/s",
            f">={goals['rate']:.0f}",
        )
        _common.result(
            f"xapi_http_ingest_per_server_cpu_second_{label}",
            stored / server_cpu,
            "statements/cpu-s",
            "-",
        )
        print(
            f"#   after the batches: server RSS {server.rss():.0f} MB, "
            f"peak {server.peak_rss:.0f} MB",
            flush=True,
        )

        cpu0 = server.cpu_seconds()
        latencies, wall, client_cpu = single_statements(
            server.base, headers, singles, args.single_clients, args.single_seconds
        )
        server_cpu = server.cpu_seconds() - cpu0
        rate = len(latencies) / wall
        server_ms = server_cpu / len(latencies) * 1000
        client_ms = client_cpu / len(latencies) * 1000
        print(
            f"#   single statements: {len(latencies):,} requests from {args.single_clients} "
            f"clients in {wall:.1f} s; server CPU {server_ms:.2f} ms/request, "
            f"client CPU {client_ms:.2f} ms/request; {_load()}",
            flush=True,
        )
        _common.result(f"xapi_http_single_rps_{label}", rate, "requests/s", ">=600")
        _common.result(f"xapi_http_single_p50_{label}", _pct(latencies, 0.50), "ms", "-")
        _common.result(f"xapi_http_single_p95_{label}", _pct(latencies, 0.95), "ms", "<=50")
        _common.result(f"xapi_http_server_peak_rss_{label}", server.peak_rss, "MB", "<=500")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit("run bench/xapi.py --http")
