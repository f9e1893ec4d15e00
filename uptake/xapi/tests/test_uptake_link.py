"""Statements about Uptake activities move progress and write learning events."""

from __future__ import annotations

import pytest

from tests.factories import ActivityFactory, EnrollmentFactory, ModuleFactory, PersonFactory
from uptake.analytics.models import LearningEvent, Verb
from uptake.enrollment.models import Enrollment
from uptake.progress.models import ActivityCompletion
from uptake.xapi import uptake_link
from uptake.xapi.tests.conftest import statement

pytestmark = pytest.mark.django_db

COMPLETED = {"id": "http://adlnet.gov/expapi/verbs/completed"}


@pytest.fixture
def course_setup(tenant):
    person = PersonFactory(tenant=tenant, email="ann@example.com", employee_id="E-42")
    enrollment = EnrollmentFactory(person=person, tenant=tenant)
    module = ModuleFactory(course=enrollment.course, tenant=tenant)
    activity = ActivityFactory(module=module, course=enrollment.course, tenant=tenant)
    return person, enrollment, activity


def test_the_activity_iri_scheme_round_trips(settings):
    settings.UPTAKE_BASE_URL = "https://lms.example.com"
    iri = uptake_link.activity_iri(3, 17)
    assert iri == "https://lms.example.com/xapi/activities/course/3/activity/17"
    assert uptake_link.parse_activity_iri(iri) == (3, 17)
    assert uptake_link.parse_activity_iri("https://elsewhere.example/course/3/activity/17") is None


def test_a_completed_statement_completes_the_activity_and_the_course(lrs, course_setup):
    person, enrollment, activity = course_setup
    st = statement(
        actor={"mbox": "mailto:Ann@example.com"},
        verb=COMPLETED,
        object={"id": uptake_link.activity_iri(activity.course_id, activity.pk)},
    )
    assert lrs.post("statements", st).status_code == 200
    assert ActivityCompletion.objects.filter(enrollment=enrollment, activity=activity).exists()
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED
    verbs = set(LearningEvent.objects.filter(person=person).values_list("verb", flat=True))
    assert {Verb.ACTIVITY_COMPLETED, Verb.COURSE_COMPLETED} <= verbs


def test_an_account_with_uptakes_home_page_names_the_person_by_employee_id(
    lrs, course_setup, settings
):
    _person, enrollment, activity = course_setup
    st = statement(
        actor={"account": {"homePage": settings.UPTAKE_BASE_URL, "name": "E-42"}},
        verb={"id": "http://adlnet.gov/expapi/verbs/passed"},
        object={"id": uptake_link.activity_iri(activity.course_id, activity.pk)},
    )
    assert lrs.post("statements", st).status_code == 200
    assert ActivityCompletion.objects.filter(enrollment=enrollment, activity=activity).exists()


def test_statements_about_unknown_people_or_other_tenants_activities_move_nothing(
    lrs, other_lrs, course_setup
):
    _person, enrollment, activity = course_setup
    iri = uptake_link.activity_iri(activity.course_id, activity.pk)
    stranger = statement(
        actor={"mbox": "mailto:nobody@example.com"}, verb=COMPLETED, object={"id": iri}
    )
    assert lrs.post("statements", stranger).status_code == 200
    # The other tenant names our learner and our activity: still nothing moves here.
    ours = statement(actor={"mbox": "mailto:ann@example.com"}, verb=COMPLETED, object={"id": iri})
    assert other_lrs.post("statements", ours).status_code == 200
    assert not ActivityCompletion.objects.filter(enrollment=enrollment).exists()
    assert len(lrs.get("statements").json()["statements"]) == 1
