"""Helpers for nudge tests: a course with an activity, a learner with a manager, a campaign."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.factories import (
    ActivityFactory,
    CourseFactory,
    EnrollmentFactory,
    ModuleFactory,
    PersonFactory,
)
from uptake.core.actor import Actor
from uptake.nudges import services
from uptake.nudges.models import Campaign

SYSTEM = Actor.system("test")


def make_course(tenant: Any, title: str = "Sales basics") -> Any:
    course = CourseFactory(tenant=tenant, title=title)
    module = ModuleFactory(course=course, tenant=tenant)
    course.page = ActivityFactory(
        module=module, course=course, tenant=tenant, title=f"{title}: intro"
    )
    return course


def make_campaign(tenant: Any, *, activate: bool = True, **kwargs: Any) -> Campaign:
    data = services.CampaignData(**{"name": kwargs.pop("name", "Reminder"), **kwargs})
    campaign = services.create_campaign(actor=SYSTEM, tenant_id=tenant.pk, data=data)
    if activate:
        campaign = services.set_status(
            actor=SYSTEM, tenant_id=tenant.pk, campaign_id=campaign.pk, status="active"
        )
    return campaign


@pytest.fixture
def people(tenant: Any) -> dict[str, Any]:
    manager = PersonFactory(
        tenant=tenant,
        first_name="Maria",
        last_name="Manager",
        email="maria@acme.test",
        time_zone="Europe/London",
    )
    learner = PersonFactory(
        tenant=tenant,
        first_name="Noah",
        last_name="Newhire",
        email="noah@acme.test",
        manager=manager,
        time_zone="Europe/London",
    )
    return {"manager": manager, "learner": learner}


def enrol(
    person: Any,
    course: Any,
    *,
    assigned_at: dt.datetime,
    due_at: dt.datetime | None = None,
    **kwargs: Any,
) -> Any:
    return EnrollmentFactory(
        person=person,
        tenant=person.tenant,
        course=course,
        assigned_at=assigned_at,
        due_at=due_at,
        **kwargs,
    )


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Any:
    """`with commit(): ...` runs the on-commit work (event handlers, outbox delivery tasks)."""

    def ctx() -> Any:
        return django_capture_on_commit_callbacks(execute=True)

    return ctx


@pytest.fixture
def run(commit: Any) -> Any:
    """run(now): the sweep and the dispatch at `now` (frozen), with their on-commit work."""
    import time_machine

    from uptake.nudges.dispatch import dispatch_due
    from uptake.nudges.sweep import sweep

    def go(now: dt.datetime) -> None:
        with time_machine.travel(now, tick=False), commit():
            sweep(now=now)
            dispatch_due(now=now)

    return go
