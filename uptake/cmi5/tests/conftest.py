"""Fixtures for the cmi5 tests: an author, a learner, and a course to import into."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import CourseFactory, PersonFactory, grant
from uptake.core.actor import Actor
from uptake.enrollment.services import enroll_person
from uptake.people.rules import CONTENT_OWNER


@pytest.fixture
def author(tenant):  # type: ignore[no-untyped-def]
    return grant(
        PersonFactory.create(tenant=tenant, first_name="Ada", last_name="Author"), CONTENT_OWNER
    )


@pytest.fixture
def learner(tenant):  # type: ignore[no-untyped-def]
    return PersonFactory.create(
        tenant=tenant, first_name="Leo", last_name="Learner", employee_id="E-100"
    )


@pytest.fixture
def course(tenant, author):  # type: ignore[no-untyped-def]
    return CourseFactory(tenant=tenant, title="Fire safety", owner=author)


def upload(data: bytes, name: str = "course.zip") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def enrol(person: Any, course: Any) -> Any:
    return enroll_person(
        actor=Actor.system("test"),
        tenant_id=person.tenant_id,
        person=person,
        course=course,
        source="manual",
    )
