"""The scheduler process: enqueues the periodic jobs of `uptake.schedule` at their times.

Run exactly one per deployment. It only enqueues; task workers do the work. Stops cleanly on
SIGINT or SIGTERM.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from django.core.management.base import BaseCommand, CommandParser

from uptake.schedule import SCHEDULE, Job, enqueue_job

logger = logging.getLogger("uptake.scheduler")


def build_scheduler(jobs: list[Job]) -> Any:
    """A BlockingScheduler with one cron-triggered job per entry (validated up front)."""
    scheduler = BlockingScheduler(
        timezone=dt.UTC,
        job_defaults={
            # After a pause (e.g. the machine slept), run a missed job once, not once per miss.
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": 60,
        },
    )
    for job in jobs:
        job.task()  # fail at start-up, not at the first firing, if a path is wrong
        scheduler.add_job(
            enqueue_job,
            trigger=CronTrigger.from_crontab(job.cron, timezone=dt.UTC),
            args=[job],
            id=job.id,
            name=job.task_path,
            replace_existing=True,
        )
    return scheduler


class Command(BaseCommand):
    help = "Run the scheduler: enqueue the periodic jobs of uptake.schedule at their times."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--list", action="store_true", help="Print the schedule with next run times and exit."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            now = dt.datetime.now(dt.UTC)
            for job in SCHEDULE:
                job.task()
                trigger = CronTrigger.from_crontab(job.cron, timezone=dt.UTC)
                next_run = trigger.get_next_fire_time(None, now)
                self.stdout.write(f"{job.id:20} {job.cron:15} {job.task_path}  next: {next_run}")
            return

        # APScheduler logs each addition and execution at INFO; we log each enqueue ourselves.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        scheduler = build_scheduler(SCHEDULE)

        stop_requested = threading.Event()

        def stop_if_requested() -> None:
            if stop_requested.is_set() and scheduler.running:
                scheduler.shutdown(wait=False)

        def stop(signum: int, frame: FrameType | None) -> None:
            logger.info("Scheduler stopping (%s)", signal.Signals(signum).name)
            stop_requested.set()
            stop_if_requested()

        def started(event: Any) -> None:
            logger.info(
                "Scheduler started with %d jobs: %s",
                len(SCHEDULE),
                ", ".join(f"{job.id} [{job.cron}]" for job in SCHEDULE),
            )
            # A signal that arrived before the scheduler was running is honoured here.
            stop_if_requested()

        scheduler.add_listener(started, EVENT_SCHEDULER_STARTED)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        scheduler.start()
        logger.info("Scheduler stopped")
