"""Journey: HR import -> assign the Sales course to Sales -> the new hire completes it -> their
manager sees it done; every step through the public API and screens, with real tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User

from tests.factories import (
    ActivityFactory,
    ChoiceFactory,
    CourseFactory,
    ModuleFactory,
    PersonFactory,
    QuestionFactory,
    grant,
)
from uptake.analytics.models import LearningEvent
from uptake.core.actor import Actor
from uptake.identity.services import create_token
from uptake.people.models import Person

pytestmark = pytest.mark.django_db

HR_FILE = (
    "employee_id,email,first_name,last_name,department,location,country,time_zone,"
    "hire_date,manager_employee_id,job_title\n"
    "M001,maria.manager@acme.test,Maria,Manager,Sales,London,GB,Europe/London,2019-03-01,,Head of Sales\n"
    "E100,noah.newhire@acme.test,Noah,Newhire,Sales,London,GB,Europe/London,2026-11-16,M001,Account Executive\n"
    "E200,mia.marketing@acme.test,Mia,Marketing,Marketing,Paris,FR,Europe/Paris,2024-01-08,,Marketer\n"
)


def _bearer(user: User) -> dict[str, str]:
    _, raw = create_token(actor=Actor.system(), user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_admin_rolls_out_a_course_and_a_new_hire_completes_it(client, tenant):
    admin = grant(
        PersonFactory(tenant=tenant, employee_id="A001", department="People"), "platform_admin"
    )
    course = CourseFactory(tenant=tenant, title="Sales Starter", slug="sales-starter")
    module = ModuleFactory(course=course, tenant=tenant)
    page = ActivityFactory(module=module, course=course, tenant=tenant, title="Welcome")
    quiz = ActivityFactory(
        module=module, course=course, tenant=tenant, kind="quiz", title="Check", pass_mark=100
    )
    question = QuestionFactory(activity=quiz, tenant=tenant, prompt="Who owns the pipeline?")
    right = ChoiceFactory(question=question, tenant=tenant, text="You do", is_correct=True)
    ChoiceFactory(question=question, tenant=tenant, text="Nobody", feedback="Think again.")
    as_admin = _bearer(admin.user)

    # 1. The HR export: a preview says what will change, then the import applies it.
    preview = client.post(
        "/api/v1/people/import?dry_run=true", HR_FILE, content_type="text/csv", **as_admin
    )
    assert preview.status_code == 200, preview.content
    assert preview.json()["created"] == 3
    assert not Person.objects.filter(tenant=tenant, employee_id="E100").exists()
    applied = client.post("/api/v1/people/import", HR_FILE, content_type="text/csv", **as_admin)
    assert applied.status_code == 200, applied.content
    new_hire = Person.objects.get(tenant=tenant, employee_id="E100")
    manager = Person.objects.get(tenant=tenant, employee_id="M001")
    assert new_hire.manager_id == manager.pk

    # 2. The admin assigns the course to everyone in Sales, due in two weeks.
    due = (dt.datetime.now(dt.UTC) + dt.timedelta(days=14)).replace(microsecond=0)
    bulk = client.post(
        "/api/v1/enrollments/bulk",
        {"course_id": course.pk, "people": {"department": "Sales"}, "due_at": due.isoformat()},
        content_type="application/json",
        **as_admin,
    )
    assert bulk.status_code == 200, bulk.content
    assert bulk.json()["created"] == 2  # the manager and the new hire, not Marketing

    # 3. The new hire (signed in through SSO later; a password here) sees the assignment.
    assert new_hire.user is not None
    new_hire.user.set_password("first-day-password")
    new_hire.user.save()
    as_learner = _bearer(new_hire.user)
    learning = client.get("/api/v1/me/learning", **as_learner).json()
    [item] = learning if isinstance(learning, list) else learning["items"]
    assert item["course"]["title"] == "Sales Starter"
    assert item["progress_percent"] == 0
    enrollment_id = item["enrollment_id"]

    # 4. Completes the page, fails the knowledge check once, then passes it.
    done = client.post(
        f"/api/v1/progress/enrollments/{enrollment_id}/activities/{page.pk}/complete",
        **as_learner,
    )
    assert done.status_code == 200, done.content
    wrong = question.choices.exclude(pk=right.pk).get()
    failed = client.post(
        f"/api/v1/progress/enrollments/{enrollment_id}/activities/{quiz.pk}/attempts",
        {"answers": {str(question.pk): [wrong.pk]}},
        content_type="application/json",
        **as_learner,
    )
    assert failed.status_code == 201, failed.content
    assert failed.json()["passed"] is False
    passed = client.post(
        f"/api/v1/progress/enrollments/{enrollment_id}/activities/{quiz.pk}/attempts",
        {"answers": {str(question.pk): [right.pk]}},
        content_type="application/json",
        **as_learner,
    )
    assert passed.json()["passed"] is True
    learning = client.get("/api/v1/me/learning", **as_learner).json()
    [item] = learning if isinstance(learning, list) else learning["items"]
    assert (item["status"], item["progress_percent"]) == ("completed", 100)

    # 5. The manager's team screen shows it done.
    manager.user.set_password("manager-password")
    manager.user.save()
    client.force_login(manager.user)
    team = client.get("/team/")
    assert team.status_code == 200
    assert "Noah Newhire" in team.content.decode()

    # 6. Every step is in the event fact table, for analytics.
    verbs = list(
        LearningEvent.objects.filter(person=new_hire).order_by("pk").values_list("verb", flat=True)
    )
    for verb in ("assigned", "activity_completed", "failed", "passed", "course_completed"):
        assert verb in verbs
