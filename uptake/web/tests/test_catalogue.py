"""The catalogue: search (htmx and plain), tags, and self-enrolment in open courses."""

from __future__ import annotations

import pytest
from django.urls import reverse

from uptake.catalog.models import Course
from uptake.enrollment.models import Enrollment
from uptake.web.tests.builders import enrol, make_course

pytestmark = pytest.mark.django_db


@pytest.fixture
def courses(tenant):  # type: ignore[no-untyped-def]
    return {
        "negotiation": make_course(
            tenant,
            title="Negotiation basics",
            summary="Get to yes.",
            tags=["sales"],
            estimated_minutes=12,
            language="en",
        ),
        "safety": make_course(
            tenant, title="Fire safety", summary="Stay safe.", tags=["compliance"]
        ),
        "draft": make_course(tenant, title="Negotiation advanced", status=Course.Status.DRAFT),
    }


def test_search_lists_matching_published_courses_only(learner_client, courses):
    html = learner_client.get(reverse("web:catalogue"), {"q": "negotiation"}).content.decode()
    assert "Negotiation basics" in html
    assert "Fire safety" not in html
    assert "Negotiation advanced" not in html
    assert "12 minutes" in html
    assert "Get to yes." in html


def test_live_search_answers_htmx_with_the_results_only(learner_client, courses):
    response = learner_client.get(reverse("web:catalogue"), {"q": "fire"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Fire safety" in html
    assert "Negotiation basics" not in html
    assert "<html" not in html


def test_tag_filter(learner_client, courses):
    html = learner_client.get(reverse("web:catalogue"), {"tag": "compliance"}).content.decode()
    assert "Fire safety" in html
    assert "Negotiation basics" not in html
    assert '<option value="compliance" selected>compliance</option>' in html


def test_open_courses_offer_enrol_and_enrolled_ones_say_so(learner_client, learner, courses):
    enrol(learner, courses["safety"])
    html = learner_client.get(reverse("web:catalogue")).content.decode()
    assert reverse("web:enrol", args=[courses["negotiation"].pk]) in html
    assert reverse("web:enrol", args=[courses["safety"].pk]) not in html
    assert "Enrolled" in html


def test_self_enrol_creates_the_enrolment_and_opens_the_course(learner_client, learner, courses):
    course = courses["negotiation"]
    response = learner_client.post(reverse("web:enrol", args=[course.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("web:course", args=[course.pk])
    enrollment = Enrollment.objects.get(person=learner, course=course)
    assert enrollment.source == Enrollment.Source.SELF


def test_cannot_enrol_in_another_tenants_course(learner_client, other_tenant):
    foreign = make_course(other_tenant, title="Globex only")
    response = learner_client.post(reverse("web:enrol", args=[foreign.pk]))
    assert response.status_code == 404
    assert not Enrollment.objects.filter(course=foreign).exists()


def test_another_tenants_courses_are_not_in_the_catalogue(learner_client, other_tenant):
    make_course(other_tenant, title="Globex only")
    assert "Globex only" not in learner_client.get(reverse("web:catalogue")).content.decode()


def test_back_button_after_a_live_search_gets_the_whole_page(learner_client, courses):
    response = learner_client.get(
        reverse("web:catalogue"),
        {"q": "fire"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<html" in response.content.decode()
    assert "HX-Request" in response["Vary"]
