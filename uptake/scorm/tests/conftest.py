"""Fixtures for the SCORM tests: an author, a learner, and a course with a SCORM activity."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import ActivityFactory, CourseFactory, ModuleFactory, PersonFactory, grant
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
    return PersonFactory.create(tenant=tenant, first_name="Leo", last_name="Learner")


@pytest.fixture
def scorm_activity(tenant, author):  # type: ignore[no-untyped-def]
    course = CourseFactory(tenant=tenant, title="Fire safety", owner=author)
    module = ModuleFactory(course=course, title="Basics", position=0)
    return ActivityFactory(
        module=module, kind="scorm", title="Fire drill", position=0, body="", body_html=""
    )


def upload_file(data: bytes, name: str = "package.zip") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/zip")


def enrol(person: Any, course: Any) -> Any:
    return enroll_person(
        actor=Actor.system("test"),
        tenant_id=person.tenant_id,
        person=person,
        course=course,
        source="manual",
    )
