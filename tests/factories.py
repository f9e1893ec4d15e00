"""Factories for tests: realistic defaults, every row in a tenant."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from uptake.catalog.models import Activity, Choice, Course, Module, Question
from uptake.enrollment.models import Enrollment
from uptake.people.models import Person, PersonRole
from uptake.tenancy.models import Tenant

PASSWORD = "correct-horse-battery"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            obj.save()


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    employee_id = factory.Sequence(lambda n: f"E{n:05d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.employee_id.lower()}@example.com")
    job_title = "Account Executive"
    role_family = "Sales"
    department = "Sales"
    location = "London"
    country = "GB"
    time_zone = "Europe/London"
    language = "en"
    hire_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=400))
    employment_type = "full_time"


def grant(person: Person, *roles: str) -> Person:
    for role in roles:
        PersonRole.objects.get_or_create(tenant_id=person.tenant_id, person=person, role=role)
    if hasattr(person, "_uptake_roles"):
        del person._uptake_roles
    return person


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    tenant = factory.SubFactory(TenantFactory)
    title = factory.Sequence(lambda n: f"Course {n}")
    slug = factory.Sequence(lambda n: f"course-{n}")
    summary = "A short course."
    status = Course.Status.PUBLISHED
    estimated_minutes = 7


class ModuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Module

    course = factory.SubFactory(CourseFactory)
    tenant = factory.SelfAttribute("course.tenant")
    title = factory.Sequence(lambda n: f"Module {n}")
    position = factory.Sequence(lambda n: n)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    module = factory.SubFactory(ModuleFactory)
    course = factory.SelfAttribute("module.course")
    tenant = factory.SelfAttribute("module.tenant")
    kind = Activity.Kind.PAGE
    title = factory.Sequence(lambda n: f"Activity {n}")
    position = factory.Sequence(lambda n: n)
    body = "Some **content**."
    body_html = "<p>Some <strong>content</strong>.</p>"
    estimated_minutes = 3


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    activity = factory.SubFactory(ActivityFactory, kind=Activity.Kind.QUIZ)
    tenant = factory.SelfAttribute("activity.tenant")
    kind = Question.Kind.SINGLE
    prompt = factory.Sequence(lambda n: f"Question {n}?")
    position = factory.Sequence(lambda n: n)


class ChoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Choice

    question = factory.SubFactory(QuestionFactory)
    tenant = factory.SelfAttribute("question.tenant")
    text = factory.Sequence(lambda n: f"Choice {n}")
    position = factory.Sequence(lambda n: n)


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    person = factory.SubFactory(PersonFactory)
    tenant = factory.SelfAttribute("person.tenant")
    course = factory.SubFactory(CourseFactory, tenant=factory.SelfAttribute("..tenant"))
    assigned_at = factory.LazyFunction(timezone.now)


# --- SCORM (uptake.scorm) --------------------------------------------------------------------


class ScormPackageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "scorm.Package"

    activity = factory.SubFactory(ActivityFactory, kind="scorm")
    tenant = factory.SelfAttribute("activity.tenant")
    version = "1.2"
    edition = "SCORM 1.2"
    title = factory.Sequence(lambda n: f"Package {n}")
    storage_dir = factory.Sequence(lambda n: f"scorm/test/{n}")
    files = factory.LazyFunction(lambda: ["imsmanifest.xml", "index.html"])
    uploaded_at = factory.LazyFunction(timezone.now)


class ScormItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "scorm.Item"

    package = factory.SubFactory(ScormPackageFactory)
    tenant = factory.SelfAttribute("package.tenant")
    identifier = factory.Sequence(lambda n: f"item-{n}")
    title = factory.Sequence(lambda n: f"SCO {n}")
    position = factory.Sequence(lambda n: n)
    href = "index.html"
    scorm_type = "sco"
