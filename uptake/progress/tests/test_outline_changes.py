"""An author changes a course's outline: everyone enrolled gets the right percent (and those
whose remaining requirements disappeared complete)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import ActivityFactory
from uptake.analytics.models import LearningEvent, Verb
from uptake.catalog.events import CourseUpdated
from uptake.enrollment import services as enrolment
from uptake.enrollment.models import Enrollment
from uptake.enrollment.tests import builders
from uptake.enrollment.tests.builders import SYSTEM
from uptake.progress import handlers, services, tasks

pytestmark = pytest.mark.django_db


def _enrol(tenant: Any, kit: Any, name: str) -> Enrollment:
    person = builders.person(tenant, first_name=name)
    return enrolment.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=person, course=kit.course
    )


def _percent(enrollment: Enrollment) -> tuple[str, int]:
    enrollment.refresh_from_db()
    return enrollment.status, enrollment.progress_percent


def test_a_new_required_activity_lowers_everyones_percent_and_completed_stay_completed(tenant):
    kit = builders.make_course(tenant, pages=2, quiz=False)
    halfway, untouched, finished = (_enrol(tenant, kit, n) for n in ("Half", "None", "Done"))
    services.complete_activity(actor=SYSTEM, enrollment=halfway, activity=kit.pages[0])
    for page in kit.pages:
        services.complete_activity(actor=SYSTEM, enrollment=finished, activity=page)
    assert _percent(halfway) == ("in_progress", 50)
    ActivityFactory(module=kit.pages[0].module, course=kit.course, tenant=tenant, position=9)

    assert services.recompute_course(tenant_id=tenant.pk, course_id=kit.course.pk) == 1
    assert _percent(halfway) == ("in_progress", 33)
    assert _percent(untouched) == ("assigned", 0)
    assert _percent(finished) == ("completed", 100)
    assert services.recompute_course(tenant_id=tenant.pk, course_id=kit.course.pk) == 0


def test_making_the_last_missing_activity_optional_completes_the_enrolment(tenant):
    kit = builders.make_course(tenant, pages=2, quiz=False)
    learner = _enrol(tenant, kit, "Almost")
    services.complete_activity(actor=SYSTEM, enrollment=learner, activity=kit.pages[0])
    kit.pages[1].required = False
    kit.pages[1].save()

    services.recompute_course(tenant_id=tenant.pk, course_id=kit.course.pk)
    assert _percent(learner) == ("completed", 100)
    assert (
        LearningEvent.objects.filter(
            verb=Verb.COURSE_COMPLETED, person_id=learner.person_id
        ).count()
        == 1
    )


def test_an_outline_change_is_recomputed_by_a_task_and_other_changes_are_not(tenant):
    kit = builders.make_course(tenant, pages=2, quiz=False)
    learner = _enrol(tenant, kit, "Half")
    services.complete_activity(actor=SYSTEM, enrollment=learner, activity=kit.pages[0])
    ActivityFactory(module=kit.pages[0].module, course=kit.course, tenant=tenant, position=9)
    handlers.on_course_updated(
        CourseUpdated(tenant_id=tenant.pk, course_id=kit.course.pk, changed=("title",))
    )
    assert _percent(learner) == ("in_progress", 50)
    handlers.on_course_updated(  # the test settings run tasks as they are enqueued
        CourseUpdated(tenant_id=tenant.pk, course_id=kit.course.pk, changed=("outline",))
    )
    assert _percent(learner) == ("in_progress", 33)
    assert tasks.recompute_course_progress.call(tenant.pk, kit.course.pk) == 0
