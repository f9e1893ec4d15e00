"""Journey: HR data drives the starter track. An HR import brings a new Sales hire; the rule
"Sales, hired within 30 days" puts them on the Sales Starter path (three short courses, each
unlocked by the one before) due hire date + 14 days; their manager is told in the app and by
real email; the next HR import moves them to Marketing: the Sales courses they had not started
are withdrawn and the Marketing track is assigned. No step is driven by hand: only imports."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.factories import ActivityFactory, CourseFactory, ModuleFactory, PersonFactory, grant
from uptake.assignments import selectors as assignment_selectors
from uptake.assignments import services as assignments
from uptake.audiences import services as audiences
from uptake.core.actor import Actor
from uptake.enrollment.models import Enrollment
from uptake.notifications.models import Notification
from uptake.paths import selectors as paths
from uptake.paths import services as path_services
from uptake.people.models import Person
from uptake.people.services import import_people_csv
from uptake.progress import services as progress

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
HEADER = (
    "employee_id,email,first_name,last_name,department,location,country,time_zone,"
    "hire_date,manager_employee_id,job_title\n"
)
MANAGER = "M001,maria.manager@acme.test,Maria,Manager,Sales,London,GB,Europe/London,2019-03-01,,Head of Sales\n"
MARKETING_LEAD = "M002,mark.lead@acme.test,Mark,Lead,Marketing,London,GB,Europe/London,2018-05-02,,Head of Marketing\n"
NEW_HIRE_SALES = "E100,noah.newhire@acme.test,Noah,Newhire,Sales,London,GB,Europe/London,2026-11-16,M001,Account Executive\n"
NEW_HIRE_MARKETING = "E100,noah.newhire@acme.test,Noah,Newhire,Marketing,London,GB,Europe/London,2026-11-16,M002,Marketer\n"
OLD_HAND = "E200,olga.old@acme.test,Olga,Old,Sales,London,GB,Europe/London,2020-01-06,M001,Account Executive\n"

SYSTEM = Actor.system("journey")


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def _course(tenant: Any, title: str) -> Any:
    course = CourseFactory(tenant=tenant, title=title, estimated_minutes=10)
    module = ModuleFactory(course=course, tenant=tenant)
    course.page = ActivityFactory(
        module=module, course=course, tenant=tenant, title=f"{title}: intro"
    )
    return course


def _track(tenant: Any, title: str, *courses: Any) -> Any:
    path = path_services.create_path(actor=SYSTEM, tenant_id=tenant.pk, title=title)
    for course in courses:
        path_services.add_step(actor=SYSTEM, path=path, course=course)
    return path_services.publish_path(actor=SYSTEM, path=path)


def _open(person: Person) -> dict[str, str]:
    return {
        e.course.title: e.status
        for e in Enrollment.objects.filter(person=person).select_related("course")
    }


def test_starter_track_follows_hr_data(tenant, smtp_mail, django_capture_on_commit_callbacks):
    admin = grant(
        PersonFactory(tenant=tenant, employee_id="A001", department="People"), "platform_admin"
    )
    basics, pricing, demo = (
        _course(tenant, t) for t in ("Product basics", "Pricing", "Demo skills")
    )
    brand, campaigns = (_course(tenant, t) for t in ("Brand basics", "Campaigns"))
    sales_starter = _track(tenant, "Sales Starter", basics, pricing, demo)
    marketing_starter = _track(tenant, "Marketing Starter", brand, campaigns)
    as_admin = Actor.person(admin.pk)

    # The admin states the rules once: new Sales hires get the Sales Starter, and so on.
    sales_new = audiences.create_audience(
        actor=as_admin,
        tenant_id=tenant.pk,
        name="New in Sales",
        rule_text='department = "Sales" and tenure_days <= 30',
    )
    marketing_new = audiences.create_audience(
        actor=as_admin,
        tenant_id=tenant.pk,
        name="New in Marketing",
        rule_text='department = "Marketing" and tenure_days <= 30',
    )
    for audience, track in ((sales_new, sales_starter), (marketing_new, marketing_starter)):
        assignments.create_assignment(
            actor=as_admin,
            tenant_id=tenant.pk,
            audience=audience,
            path=track,
            due_kind="days_after_hire",
            due_days=14,
            on_leave="withdraw_if_not_started",
        )

    # 1. The HR import brings the team, with a new hire in Sales.
    with django_capture_on_commit_callbacks(execute=True):
        import_people_csv(
            actor=as_admin,
            tenant_id=tenant.pk,
            data=HEADER + MANAGER + MARKETING_LEAD + NEW_HIRE_SALES + OLD_HAND,
        )
    noah = Person.objects.get(tenant=tenant, employee_id="E100")
    maria = Person.objects.get(tenant=tenant, employee_id="M001")
    olga = Person.objects.get(tenant=tenant, employee_id="E200")

    # 2. Noah is on the Sales Starter, due hire date + 14 days (end of day in London).
    assert _open(noah) == {
        "Product basics": "assigned",
        "Pricing": "assigned",
        "Demo skills": "assigned",
    }
    assert _open(olga) == {}  # hired years ago: not a new hire
    due = dt.datetime(2026, 11, 30, 23, 59, 59, tzinfo=dt.UTC)  # GMT in November
    assert {e.due_at for e in Enrollment.objects.filter(person=noah)} == {due}
    assert {e.source for e in Enrollment.objects.filter(person=noah)} == {"rule"}
    view = paths.path_for_person(person=noah, path=sales_starter)
    assert [(s.step.course.title, s.state) for s in view.steps] == [
        ("Product basics", "unlocked"),
        ("Pricing", "locked"),
        ("Demo skills", "locked"),
    ]
    assert view.next_hint == "Complete “Product basics” to unlock"
    explained = assignment_selectors.assignments_for_person(tenant_id=tenant.pk, person=noah)
    assert [(x.audience.name, x.due_explained) for x in explained] == [
        ("New in Sales", "due 14 days after the hire date")
    ]

    # The course player refuses the locked step and says what unlocks it.
    browser = Client()
    browser.force_login(noah.user)
    locked = Enrollment.objects.get(person=noah, course=pricing)
    refused = browser.get(reverse("web:activity", args=[locked.pk, pricing.page.pk]))
    assert refused.status_code == 403
    assert "Complete “Product basics” to unlock" in refused.content.decode()
    home = browser.get(reverse("paths:home_section"))  # My learning loads it with htmx
    assert "Sales Starter" in home.content.decode()

    # 3. Maria, the manager, is told in the app and by email (through the outbox, real SMTP).
    note = Notification.objects.get(person=maria)
    assert note.title == "Noah Newhire was assigned “Sales Starter”"
    assert "- Noah Newhire: Sales Starter (due Nov. 30, 2026)" in note.body
    assert len(smtp_mail.messages) == 1
    mail = smtp_mail.messages[0]
    assert mail.rcpt_tos == ["maria.manager@acme.test"]
    assert mail.subject.strip() == "Noah Newhire was assigned “Sales Starter”"
    assert "- Noah Newhire: Sales Starter (due Nov. 30, 2026)" in mail.text()

    # Noah starts the first course.
    first = Enrollment.objects.get(person=noah, course=basics)
    progress.open_activity(actor=Actor.person(noah.pk), enrollment=first, activity=basics.page)

    # 4. The next HR import moves Noah to Marketing.
    with django_capture_on_commit_callbacks(execute=True):
        import_people_csv(
            actor=as_admin,
            tenant_id=tenant.pk,
            data=HEADER + MANAGER + MARKETING_LEAD + NEW_HIRE_MARKETING + OLD_HAND,
        )

    # 5. The Sales courses he had not started are withdrawn; the one he started stays; the
    #    Marketing track is assigned, and his new manager is told.
    assert _open(noah) == {
        "Product basics": "in_progress",
        "Pricing": "withdrawn",
        "Demo skills": "withdrawn",
        "Brand basics": "assigned",
        "Campaigns": "assigned",
    }
    assert [p.path.title for p in paths.my_paths(person=noah)] == [
        "Marketing Starter",
        "Sales Starter",
    ]
    mark = Person.objects.get(tenant=tenant, employee_id="M002")
    assert (
        Notification.objects.get(person=mark).title
        == "Noah Newhire was assigned “Marketing Starter”"
    )
    assert Notification.objects.filter(person=maria).count() == 1
    assert sorted(m.rcpt_tos[0] for m in smtp_mail.messages) == [
        "maria.manager@acme.test",
        "mark.lead@acme.test",
    ]
