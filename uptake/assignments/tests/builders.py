"""Test builders shared by the assignments and paths tests: audiences with members set
directly (the audiences app keeps them live; here we drive membership by hand)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from tests.factories import ActivityFactory, CourseFactory, ModuleFactory
from uptake.audiences.models import Audience, AudienceMembership
from uptake.core.actor import Actor
from uptake.paths import services as path_services
from uptake.paths.models import LearningPath

SYSTEM = Actor.system("test")


def audience(tenant: Any, name: str = "Sales", *members: Any) -> Audience:
    a = Audience.objects.create(
        tenant=tenant, name=name, rule={"all": []}, rule_text="everyone", version=1
    )
    join(a, *members)
    return a


def join(a: Audience, *people: Any) -> list[int]:
    AudienceMembership.objects.bulk_create(
        [
            AudienceMembership(
                tenant_id=a.tenant_id,
                audience=a,
                person=p,
                joined_at=timezone.now(),
                rule_version=a.version,
            )
            for p in people
        ],
        ignore_conflicts=True,
    )
    return [p.pk for p in people]


def leave(a: Audience, *people: Any) -> list[int]:
    AudienceMembership.objects.filter(audience=a, person__in=people).delete()
    return [p.pk for p in people]


def course_with_page(tenant: Any, title: str, **kw: Any) -> Any:
    course = CourseFactory(tenant=tenant, title=title, **kw)
    module = ModuleFactory(course=course, tenant=tenant)
    course.page = ActivityFactory(
        module=module, course=course, tenant=tenant, title=f"{title} page"
    )
    return course


def path_of(tenant: Any, title: str, *courses: Any, order_mode: str = "sequential") -> LearningPath:
    path = path_services.create_path(
        actor=SYSTEM, tenant_id=tenant.pk, title=title, order_mode=order_mode
    )
    for course in courses:
        path_services.add_step(actor=SYSTEM, path=path, course=course)
    return path_services.publish_path(actor=SYSTEM, path=path)
