"""A worker killed mid-batch and restarted delivers every nudge exactly once.

Real processes on a real SQLite file and a real SMTP server: the worker (sweep, dispatch,
outbox delivery) is SIGKILLed while the SMTP server holds one message of the batch unanswered;
a new worker then finishes the job. Every learner gets exactly one email.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

from tests.plugins.services import free_port

ROOT = Path(__file__).resolve().parents[3]
LEARNERS = 30
HOLD_AT = 12  # the SMTP server never answers the 12th message: the worker is killed waiting

SEED = f"""
import datetime as dt
from django.utils import timezone
from tests.factories import TenantFactory, PersonFactory, CourseFactory, ModuleFactory, ActivityFactory, EnrollmentFactory
from uptake.core.actor import Actor
from uptake.nudges import services
t = TenantFactory(name="Acme", slug="acme")
services.set_policy(actor=Actor.system(), tenant_id=t.pk, window_start=dt.time(0), window_end=dt.time(23, 59), weekdays="1234567", weekly_cap=5)
c = services.create_campaign(actor=Actor.system(), tenant_id=t.pk, data=services.CampaignData(name="Welcome", trigger="assigned", channels=("email",)))
c.status = "active"; c.activated_at = timezone.now() - dt.timedelta(hours=1); c.save()
course = CourseFactory(tenant=t, title="Safety")
m = ModuleFactory(course=course, tenant=t)
ActivityFactory(module=m, course=course, tenant=t)
for i in range({LEARNERS}):
    p = PersonFactory(tenant=t, email=f"learner{{i}}@acme.test", time_zone="UTC")
    EnrollmentFactory(person=p, tenant=t, course=course, assigned_at=timezone.now() - dt.timedelta(minutes=1))
"""

WORK = """
from uptake.nudges.sweep import sweep
from uptake.nudges.dispatch import dispatch_due
from uptake.core import outbox
sweep(); dispatch_due(); outbox.retry_due_messages()
print("worker done")
"""


class _Handler:
    def __init__(self) -> None:
        self.received: list[str] = []
        self.held = threading.Event()
        self.release = asyncio.Event()
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.count += 1
        if self.count == HOLD_AT:
            self.held.set()
            await self.release.wait()  # never answered: the worker dies waiting for "250"
            return "451 try again later"
        msg = BytesParser(policy=policy.default).parsebytes(
            envelope.original_content or envelope.content
        )
        self.received.append(str(msg["To"]))
        return "250 OK"


def _manage(
    env: dict[str, str], *args: str, code: str | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "manage.py", *args]
    if code is not None:
        cmd += ["-c", code]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_a_worker_killed_mid_batch_and_restarted_sends_each_nudge_once(tmp_path):
    from aiosmtpd.controller import Controller

    handler = _Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'crash.sqlite3'}",
        "UPTAKE_DATA_DIR": str(tmp_path),
        "UPTAKE_TASKS_BACKEND": "dummy",  # the workers below deliver the outbox themselves
        "UPTAKE_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "UPTAKE_EMAIL_HOST": "127.0.0.1",
        "UPTAKE_EMAIL_PORT": str(port),
        "UPTAKE_TESTING": "1",
    }
    try:
        done = _manage(env, "migrate", "--noinput")
        assert done.returncode == 0, done.stderr[-2000:]
        seeded = _manage(env, "shell", code=SEED)
        assert seeded.returncode == 0, seeded.stderr[-2000:]

        worker = subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", WORK],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert handler.held.wait(120), "the worker never reached the held message"
        time.sleep(0.2)
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
        assert len(handler.received) == HOLD_AT - 1
        controller.loop.call_soon_threadsafe(handler.release.set)

        again = _manage(env, "shell", code=WORK)
        assert again.returncode == 0, again.stderr[-2000:]
        assert "worker done" in again.stdout
    finally:
        controller.stop()
    assert sorted(handler.received) == sorted(f"learner{i}@acme.test" for i in range(LEARNERS))
