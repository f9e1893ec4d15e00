from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.factories import ActivityFactory, CourseFactory, ModuleFactory, PersonFactory, grant
from uptake.catalog.models import Activity, Course, Question
from uptake.core.actor import Actor
from uptake.identity.services import create_token
from uptake.people.rules import PLATFORM_ADMIN

from .conftest import build_course

API = "/api/v1/courses"


class Api:
    """A client that calls the API with a person's bearer token."""

    def __init__(self, person) -> None:  # type: ignore[no-untyped-def]
        _, raw = create_token(actor=Actor.system(), user=person.user)
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw}"}

    def get(self, path: str, **params):  # type: ignore[no-untyped-def]
        return self.client.get(API + path, params, headers=self.headers)

    def send(self, method: str, path: str, body: object = None):  # type: ignore[no-untyped-def]
        return getattr(self.client, method)(
            API + path,
            json.dumps(body or {}),
            content_type="application/json",
            headers=self.headers,
        )


@pytest.fixture
def as_author(author) -> Api:  # type: ignore[no-untyped-def]
    return Api(author)


@pytest.fixture
def as_learner(learner) -> Api:  # type: ignore[no-untyped-def]
    return Api(learner)


def test_learners_list_only_published_courses(tenant, as_learner) -> None:  # type: ignore[no-untyped-def]
    CourseFactory.create(tenant=tenant, title="Live")
    CourseFactory.create(tenant=tenant, title="Draft", status=Course.Status.DRAFT)
    body = as_learner.get("").json()
    assert body["count"] == 1
    assert [c["title"] for c in body["items"]] == ["Live"]


def test_authors_list_every_course_and_filter_by_status(tenant, as_author) -> None:  # type: ignore[no-untyped-def]
    CourseFactory.create(tenant=tenant, title="Live")
    CourseFactory.create(tenant=tenant, title="Draft", status=Course.Status.DRAFT)
    assert [c["title"] for c in as_author.get("").json()["items"]] == ["Draft", "Live"]
    assert [c["title"] for c in as_author.get("", status="draft").json()["items"]] == ["Draft"]


def test_list_is_paginated_with_limit_and_offset(tenant, as_learner) -> None:  # type: ignore[no-untyped-def]
    for n in range(5):
        CourseFactory.create(tenant=tenant, title=f"C{n}")
    body = as_learner.get("", limit=2, offset=2).json()
    assert body["count"] == 5
    assert [c["title"] for c in body["items"]] == ["C2", "C3"]


def test_list_query_count_does_not_grow_with_courses(
    tenant, as_author, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for n in range(20):
        CourseFactory.create(tenant=tenant, owner=PersonFactory.create(tenant=tenant), tags=["x"])
    with django_assert_max_num_queries(8):
        response = as_author.get("", q="Course")
    assert response.json()["count"] == 20


def test_learners_never_see_the_answer_key(tenant, as_learner) -> None:  # type: ignore[no-untyped-def]
    course = build_course(tenant=tenant, status=Course.Status.PUBLISHED)
    Question.objects.update(accepted_answers=["secret"], correct_feedback="Well done")
    body = as_learner.get(f"/{course.pk}").json()
    quiz = body["modules"][0]["activities"][1]
    question = quiz["questions"][0]
    assert [c["text"] for c in question["choices"]] == ["4", "5"]
    assert all(c["is_correct"] is None and c["feedback"] is None for c in question["choices"])
    assert question["accepted_answers"] is None
    assert question["correct_feedback"] is None
    raw = json.dumps(body)
    assert "secret" not in raw
    assert "Yes: four." not in raw
    assert "Well done" not in raw


def test_the_owner_sees_the_answer_key(tenant, author, as_author) -> None:  # type: ignore[no-untyped-def]
    course = build_course(tenant=tenant, owner=author)
    body = as_author.get(f"/{course.pk}").json()
    question = body["modules"][0]["activities"][1]["questions"][0]
    assert [(c["text"], c["is_correct"], c["feedback"]) for c in question["choices"]] == [
        ("4", True, "Yes: four."),
        ("5", False, "No: count again."),
    ]


def test_a_content_owner_who_does_not_own_the_course_gets_no_answer_key(tenant, as_author) -> None:  # type: ignore[no-untyped-def]
    course = build_course(
        tenant=tenant, owner=PersonFactory.create(tenant=tenant), status=Course.Status.PUBLISHED
    )
    body = as_author.get(f"/{course.pk}").json()
    choice = body["modules"][0]["activities"][1]["questions"][0]["choices"][0]
    assert choice["is_correct"] is None


def test_learners_get_404_for_draft_courses(tenant, as_learner) -> None:  # type: ignore[no-untyped-def]
    course = build_course(tenant=tenant)
    response = as_learner.get(f"/{course.pk}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_another_tenants_course_is_404_for_reads_and_writes(other_tenant, as_author) -> None:  # type: ignore[no-untyped-def]
    theirs = build_course(tenant=other_tenant, status=Course.Status.PUBLISHED)
    activity = Activity.objects.get(course=theirs, kind="page")
    module = theirs.modules.get()
    assert as_author.get(f"/{theirs.pk}").status_code == 404
    assert as_author.send("patch", f"/{theirs.pk}", {"title": "Mine"}).status_code == 404
    assert as_author.send("post", f"/{theirs.pk}/publish").status_code == 404
    assert as_author.send("post", f"/{theirs.pk}/modules", {"title": "M"}).status_code == 404
    assert (
        as_author.send(
            "post", f"/{theirs.pk}/modules/{module.pk}/activities", {"kind": "page", "title": "P"}
        ).status_code
        == 404
    )
    assert as_author.send("patch", f"/activities/{activity.pk}", {"title": "X"}).status_code == 404
    assert (
        as_author.send(
            "post", f"/activities/{activity.pk}/questions", {"kind": "short", "prompt": "P"}
        ).status_code
        == 404
    )
    theirs.refresh_from_db()
    assert theirs.title != "Mine"


def test_author_builds_and_publishes_a_course_through_the_api(as_author) -> None:  # type: ignore[no-untyped-def]
    created = as_author.send("post", "", {"title": "Safety", "tags": ["Compliance"]})
    assert created.status_code == 201
    course_id = created.json()["id"]
    assert created.json()["status"] == "draft"
    refused = as_author.send("post", f"/{course_id}/publish")
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {"field": "modules", "message": "Add at least one module before publishing."}
    ]
    module = as_author.send("post", f"/{course_id}/modules", {"title": "Basics"}).json()
    quiz = as_author.send(
        "post",
        f"/{course_id}/modules/{module['id']}/activities",
        {"kind": "quiz", "title": "Check", "pass_mark": 70},
    )
    assert quiz.status_code == 201
    question = as_author.send(
        "post",
        f"/activities/{quiz.json()['id']}/questions",
        {"kind": "true_false", "prompt": "Helmets are optional.", "correct_answer": False},
    )
    assert question.status_code == 201
    assert [(c["text"], c["is_correct"]) for c in question.json()["choices"]] == [
        ("True", False),
        ("False", True),
    ]
    patched = as_author.send("patch", f"/activities/{quiz.json()['id']}", {"body": "**Go**"})
    assert patched.json()["body_html"] == "<p><strong>Go</strong></p>"
    published = as_author.send("post", f"/{course_id}/publish")
    assert published.status_code == 200
    assert published.json()["status"] == "published"


def test_learners_cannot_write(tenant, as_learner) -> None:  # type: ignore[no-untyped-def]
    course = build_course(tenant=tenant, status=Course.Status.PUBLISHED)
    assert as_learner.send("post", "", {"title": "Mine"}).status_code == 403
    assert as_learner.send("patch", f"/{course.pk}", {"title": "Mine"}).status_code == 403
    assert as_learner.send("post", f"/{course.pk}/modules", {"title": "M"}).status_code == 403


def test_a_content_owner_cannot_change_someone_elses_course(tenant, as_author) -> None:  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant, owner=PersonFactory.create(tenant=tenant))
    response = as_author.send("patch", f"/{course.pk}", {"title": "Mine"})
    assert response.status_code == 403
    assert response.json()["type"].endswith("/forbidden")


def test_a_platform_admin_changes_any_course(tenant) -> None:  # type: ignore[no-untyped-def]
    admin = grant(PersonFactory.create(tenant=tenant), PLATFORM_ADMIN)
    course = CourseFactory.create(tenant=tenant, owner=None)
    response = Api(admin).send("patch", f"/{course.pk}", {"title": "Renamed"})
    assert response.status_code == 200
    assert response.json()["title"] == "Renamed"


def test_bad_input_is_problem_json_with_fields(tenant, author, as_author) -> None:  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant, owner=author)
    module = ModuleFactory.create(course=course)
    response = as_author.send(
        "post",
        f"/{course.pk}/modules/{module.pk}/activities",
        {"kind": "link", "title": "L", "url": "javascript:x"},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "url", "message": "Enter a full web address starting with https:// or http://."}
    ]
    quiz = ActivityFactory.create(module=module, kind=Activity.Kind.QUIZ)
    response = as_author.send(
        "post",
        f"/activities/{quiz.pk}/questions",
        {"kind": "single", "prompt": "P", "choices": [{"text": "a"}, {"text": "b"}]},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "choices"


def test_a_module_of_another_course_is_not_found(tenant, author, as_author) -> None:  # type: ignore[no-untyped-def]
    mine = CourseFactory.create(tenant=tenant, owner=author)
    other_module = ModuleFactory.create(course=CourseFactory.create(tenant=tenant, owner=author))
    response = as_author.send(
        "post", f"/{mine.pk}/modules/{other_module.pk}/activities", {"kind": "page", "title": "P"}
    )
    assert response.status_code == 404


def test_anonymous_requests_are_401(tenant) -> None:  # type: ignore[no-untyped-def]
    assert Client().get(API).status_code == 401
