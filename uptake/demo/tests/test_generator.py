"""The demo generator and `seed_demo`: deterministic, idempotent, consistent, one tree."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from uptake.catalog.models import Activity, Course
from uptake.demo.generator import OrgGenerator
from uptake.demo.seed import DEMO_PASSWORD, seed_demo
from uptake.enrollment.models import Enrollment
from uptake.people import rules as people_rules
from uptake.people.models import Person
from uptake.people.selectors import roles_of
from uptake.progress.models import ActivityCompletion, Attempt
from uptake.progress.rules import course_percent
from uptake.tenancy.models import Tenant

NOW = dt.datetime(2025, 3, 14, 10, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


def _people_signature(tenant_slug: str) -> list[tuple[object, ...]]:
    return list(
        Person.objects.filter(tenant__slug=tenant_slug)
        .order_by("employee_id")
        .values_list(
            "employee_id",
            "first_name",
            "last_name",
            "job_title",
            "department",
            "location",
            "hire_date",
            "manager__employee_id",
            "custom",
        )
    )


def _person(username: str) -> Person:
    return Person.objects.select_related("user").get(user__username=username)


def test_seed_demo_twice_changes_nothing_and_prints_the_same_logins():
    first = seed_demo(people=60, seed=3, now=NOW)
    counts = (Person.objects.count(), Enrollment.objects.count(), Course.objects.count())

    second = seed_demo(people=60, seed=3, now=NOW)

    assert first.created is True
    assert second.created is False
    assert (Person.objects.count(), Enrollment.objects.count(), Course.objects.count()) == counts
    assert [login.username for login in second.logins] == ["admin", "author", "manager", "learner"]
    assert second.logins == first.logins
    assert Tenant.objects.filter(slug="demo").count() == 1


def test_same_seed_gives_the_same_people_and_another_seed_does_not():
    OrgGenerator(tenant_slug="one", people=120, seed=7, now=NOW).build()
    OrgGenerator(tenant_slug="two", people=120, seed=7, now=NOW).build()
    OrgGenerator(tenant_slug="three", people=120, seed=8, now=NOW).build()

    assert _people_signature("one") == _people_signature("two")
    assert _people_signature("one") != _people_signature("three")
    assert len(_people_signature("one")) == 120


def test_the_four_demo_logins_exist_with_their_roles_and_the_demo_password():
    seed_demo(people=60, seed=1, now=NOW)

    admin, author = _person("admin"), _person("author")
    manager, learner = _person("manager"), _person("learner")

    for person in (admin, author, manager, learner):
        assert person.user is not None
        assert person.user.check_password(DEMO_PASSWORD)
    assert admin.user is not None and admin.user.is_superuser and admin.user.is_staff
    assert people_rules.PLATFORM_ADMIN in roles_of(person=admin)
    assert people_rules.CONTENT_OWNER in roles_of(person=author)
    assert set(Course.objects.values_list("owner_id", flat=True)) == {author.pk}
    assert people_rules.MANAGER in roles_of(person=manager)
    assert learner.manager_id == manager.pk
    assert roles_of(person=learner) == frozenset({people_rules.LEARNER})
    assert learner.user is not None and not learner.user.is_staff


def test_learner_has_an_overdue_an_in_progress_and_a_completed_assignment():
    seed_demo(people=60, seed=1, now=NOW)
    learner = _person("learner")

    rows = {e.status: e for e in Enrollment.objects.filter(person=learner).select_related("course")}

    assert set(rows) == {
        Enrollment.Status.ASSIGNED,
        Enrollment.Status.IN_PROGRESS,
        Enrollment.Status.COMPLETED,
    }
    overdue = rows[Enrollment.Status.ASSIGNED]
    assert overdue.due_at is not None and overdue.due_at < NOW
    in_progress = rows[Enrollment.Status.IN_PROGRESS]
    assert in_progress.due_at is not None and in_progress.due_at > NOW
    assert 0 < in_progress.progress_percent < 100
    assert in_progress.last_activity_id is not None
    completed = rows[Enrollment.Status.COMPLETED]
    assert completed.progress_percent == 100 and completed.completed_at is not None
    assert Attempt.objects.filter(enrollment=completed, passed=True).exists()
    assert Activity.objects.filter(
        course_id=in_progress.course_id, kind=Activity.Kind.QUIZ
    ).exists()


def test_manager_team_shows_every_state_including_overdue():
    seed_demo(people=60, seed=1, now=NOW)
    team = Enrollment.objects.filter(person__manager=_person("manager"))

    assert set(team.values_list("status", flat=True)) >= {
        Enrollment.Status.ASSIGNED,
        Enrollment.Status.IN_PROGRESS,
        Enrollment.Status.COMPLETED,
    }
    assert team.filter(due_at__lt=NOW).exclude(status=Enrollment.Status.COMPLETED).count() >= 2


def test_progress_percent_agrees_with_activity_completions():
    seed_demo(people=80, seed=2, now=NOW)
    required: dict[int, int] = {}
    for course_id, is_required in Activity.objects.values_list("course_id", "required"):
        required[course_id] = required.get(course_id, 0) + int(is_required)
    done: dict[int, int] = {}
    for enrollment_id, is_required in ActivityCompletion.objects.values_list(
        "enrollment_id", "activity__required"
    ):
        done[enrollment_id] = done.get(enrollment_id, 0) + int(is_required)

    enrollments = list(Enrollment.objects.all())
    assert len(enrollments) > 100
    for e in enrollments:
        assert e.progress_percent == course_percent(done.get(e.pk, 0), required[e.course_id])
        if e.status == Enrollment.Status.COMPLETED:
            assert e.progress_percent == 100
        if e.status in (Enrollment.Status.ASSIGNED, Enrollment.Status.WITHDRAWN):
            assert done.get(e.pk, 0) == 0


def test_enrolment_statuses_have_realistic_shares():
    summary = OrgGenerator(
        tenant_slug="shares", people=400, seed=5, enrollments_per_person=(3, 5), now=NOW
    ).build()
    shares = {k: v / summary.enrollments for k, v in summary.enrollments_by_status.items()}

    assert shares[Enrollment.Status.ASSIGNED] == pytest.approx(0.25, abs=0.05)
    assert shares[Enrollment.Status.IN_PROGRESS] == pytest.approx(0.35, abs=0.05)
    assert shares[Enrollment.Status.COMPLETED] == pytest.approx(0.35, abs=0.05)
    assert shares[Enrollment.Status.WITHDRAWN] == pytest.approx(0.05, abs=0.03)


def test_a_generated_org_of_300_has_one_root_and_no_manager_cycles():
    OrgGenerator(tenant_slug="tree", people=300, seed=11, now=NOW).build()
    manager_of = dict(Person.objects.filter(tenant__slug="tree").values_list("pk", "manager_id"))

    roots = [pk for pk, manager in manager_of.items() if manager is None]
    assert len(roots) == 1
    assert len(manager_of) == 300
    for pk in manager_of:
        seen = {pk}
        current = manager_of[pk]
        while current is not None:
            assert current not in seen, f"cycle through {current}"
            seen.add(current)
            current = manager_of[current]
        assert roots[0] in seen


def test_spans_of_control_stay_within_ten_and_reports_share_the_department():
    OrgGenerator(tenant_slug="spans", people=300, seed=4, now=NOW).build()
    people = {p.pk: p for p in Person.objects.filter(tenant__slug="spans")}
    reports: dict[int, int] = {}
    same_department = 0
    below_heads = 0
    for p in people.values():
        if p.manager_id is not None:
            reports[p.manager_id] = reports.get(p.manager_id, 0) + 1
            if people[p.manager_id].manager_id is not None:
                below_heads += 1
                same_department += people[p.manager_id].department == p.department

    assert max(reports.values()) <= 10
    assert same_department / below_heads > 0.9


def test_beyond_the_detail_limit_status_and_progress_stay_consistent_without_completions():
    summary = OrgGenerator(tenant_slug="lean", people=100, seed=9, detail_limit=20, now=NOW).build()

    assert summary.enrollments > 20
    with_completions = set(ActivityCompletion.objects.values_list("enrollment_id", flat=True))
    assert len(with_completions) <= 20
    for e in Enrollment.objects.filter(tenant__slug="lean").exclude(pk__in=with_completions):
        if e.status == Enrollment.Status.COMPLETED:
            assert e.progress_percent == 100
        elif e.status != Enrollment.Status.IN_PROGRESS:
            assert e.progress_percent == 0


def test_generated_people_sign_in_with_their_email_and_the_shared_password():
    OrgGenerator(tenant_slug="logins", people=30, seed=1, password="s3cret-pass", now=NOW).build()
    person = Person.objects.filter(tenant__slug="logins").select_related("user").first()

    assert person is not None and person.user is not None
    assert person.user.username == person.email.lower()
    assert person.user.check_password("s3cret-pass")
    assert get_user_model().objects.filter(person__tenant__slug="logins").count() == 30


def test_seed_demo_command_prints_the_logins_and_the_password():
    out = StringIO()
    call_command("seed_demo", people=40, seed=2, tenant_slug="acme-demo", stdout=out)
    again = StringIO()
    call_command("seed_demo", people=40, seed=2, tenant_slug="acme-demo", stdout=again)

    assert "uptake-demo" in out.getvalue()
    for name in ("admin", "author", "manager", "learner"):
        assert name in out.getvalue()
        assert name in again.getvalue()
    assert "already exists" in again.getvalue()
