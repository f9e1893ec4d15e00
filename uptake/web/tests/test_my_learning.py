"""My learning: the learner's assignments, overdue first, each a step from the next activity."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from tests.factories import ActivityFactory, ModuleFactory
from uptake.web.tests.builders import enrol, make_course, make_person, starter_course

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)


def _course(tenant, title):  # type: ignore[no-untyped-def]
    course = make_course(tenant, title=title)
    ActivityFactory(module=ModuleFactory(course=course), title=f"{title}: intro")
    return course


@time_machine.travel(NOW, tick=False)
def test_overdue_enrolment_is_listed_first_with_badges_in_words(learner_client, learner, tenant):
    enrol(learner, _course(tenant, "Later course"), due_at=NOW + dt.timedelta(days=30))
    enrol(learner, _course(tenant, "Soon course"), due_at=NOW + dt.timedelta(days=3))
    enrol(learner, _course(tenant, "Late course"), due_at=NOW - dt.timedelta(days=2))
    html = learner_client.get(reverse("web:home")).content.decode()
    positions = [html.index(t) for t in ("Late course", "Soon course", "Later course")]
    assert positions == sorted(positions)
    assert '<span class="badge overdue">Overdue</span>' in html
    assert "Due in 3 days" in html


@time_machine.travel(NOW, tick=False)
def test_overdue_banner_counts_overdue_work_and_links_to_it(learner_client, learner, tenant):
    late = enrol(learner, _course(tenant, "Late course"), due_at=NOW - dt.timedelta(days=2))
    enrol(learner, _course(tenant, "Fine course"), due_at=NOW + dt.timedelta(days=20))
    html = learner_client.get(reverse("web:home")).content.decode()
    assert "You have 1 overdue course." in html
    first_activity = late.course.activities.get()
    assert reverse("web:activity", args=[late.pk, first_activity.pk]) in html


def test_each_assignment_has_progress_in_words_and_a_start_button(learner_client, learner, tenant):
    starter = starter_course(tenant)
    enrollment = enrol(learner, starter.course)
    html = learner_client.get(reverse("web:home")).content.decode()
    assert "0% complete" in html
    assert 'aria-valuenow="0"' in html
    start_url = reverse("web:activity", args=[enrollment.pk, starter.page.pk])
    assert f'<a class="btn" href="{start_url}">Start' in html


def test_due_date_is_shown_in_the_viewers_time_zone(client, tenant):
    person = make_person(tenant, time_zone="Asia/Tokyo")
    client.force_login(person.user)
    due = dt.datetime(2030, 6, 1, 20, 0, tzinfo=dt.UTC)  # 05:00 on 2 June in Tokyo
    enrol(person, _course(tenant, "Tokyo course"), due_at=due)
    html = client.get(reverse("web:home")).content.decode()
    assert 'datetime="2030-06-02T05:00:00+09:00"' in html


def test_no_assignments_shows_an_empty_state_with_the_catalogue(learner_client):
    html = learner_client.get(reverse("web:home")).content.decode()
    assert "Nothing assigned to you yet" in html
    assert f'href="{reverse("web:catalogue")}"' in html


def test_my_learning_is_a_handful_of_queries_however_many_assignments(
    learner_client, learner, tenant, django_assert_max_num_queries
):
    for i in range(25):
        enrol(learner, _course(tenant, f"Course {i:02d}"), due_at=NOW + dt.timedelta(days=i))
    with django_assert_max_num_queries(8):
        response = learner_client.get(reverse("web:home"))
    assert response.content.decode().count('class="card assignment') == 25


def test_another_tenants_enrolments_are_not_listed(learner_client, other_tenant):
    stranger = make_person(other_tenant)
    enrol(stranger, _course(other_tenant, "Globex secrets"))
    assert "Globex secrets" not in learner_client.get(reverse("web:home")).content.decode()
