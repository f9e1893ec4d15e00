"""The cmi5 API and screens: who may import and launch, and what they get."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import PASSWORD, CourseFactory, PersonFactory
from uptake.cmi5.models import AssignableUnit, CourseStructure, Session
from uptake.cmi5.tests.conftest import enrol
from uptake.cmi5.tests.content import AU2, au, au_package, block, cmi5_xml
from uptake.core.actor import Actor
from uptake.identity.services import create_token

pytestmark = pytest.mark.django_db


def _bearer(person) -> dict[str, str]:  # type: ignore[no-untyped-def]
    _, raw = create_token(actor=Actor.system(), user=person.user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _post_package(client, person, course, data, name="course.zip"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/cmi5/courses/{course.pk}/structures",
        {"file": SimpleUploadedFile(name, data)},
        **_bearer(person),
    )


def test_author_imports_through_the_api_and_lists_the_structure(client, author, course):
    xml = cmi5_xml(au() + block(au(AU2, title="Quiz", attrs='moveOn="Passed"')))
    response = _post_package(client, author, course, xml, "cmi5.xml")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["title"] == "Fire safety" and body["file_count"] == 0
    assert [(a["title"], a["move_on"], a["mastery_score"]) for a in body["aus"]] == [
        ("Introduction", "CompletedAndPassed", 0.8),
        ("Quiz", "Passed", None),
    ]
    assert body["aus"][1]["block"] == body["blocks"][0]["publisher_id"]
    listed = client.get(f"/api/v1/cmi5/courses/{course.pk}/structures", **_bearer(author))
    assert [s["id"] for s in listed.json()] == [body["id"]]


def test_an_invalid_package_answers_400_with_every_problem_and_stores_nothing(
    client, author, course
):
    xml = cmi5_xml(au(attrs='moveOn="Never" masteryScore="7"'))
    response = _post_package(client, author, course, xml, "cmi5.xml")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["detail"] == "The cmi5 course was not imported: its cmi5.xml is not valid."
    assert len(body["errors"]) == 2
    assert not CourseStructure.objects.exists()
    empty = _post_package(client, author, course, b"", "cmi5.xml")
    assert empty.status_code == 400 and "empty" in empty.json()["errors"][0]["message"]
    junk = _post_package(client, author, course, b"PK\x03\x04junk", "c.zip")
    assert "not a zip archive" in junk.json()["errors"][0]["message"]


def test_learners_cannot_import_and_another_organisation_gets_404(
    client, learner, course, other_tenant
):
    assert _post_package(client, learner, course, cmi5_xml(), "cmi5.xml").status_code == 404
    stranger = PersonFactory(tenant=other_tenant)
    assert _post_package(client, stranger, course, cmi5_xml(), "cmi5.xml").status_code == 404


def test_learner_launches_through_the_api(client, author, learner, course):
    _post_package(client, author, course, au_package())
    enrollment = enrol(learner, course)
    au_row = AssignableUnit.objects.get()
    response = client.post(
        f"/api/v1/cmi5/enrollments/{enrollment.pk}/aus/{au_row.pk}/launch",
        {"mode": "Browse"},
        content_type="application/json",
        **_bearer(learner),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert "fetch=" in body["url"] and body["launch_method"] == "AnyWindow"
    assert Session.objects.get().launch_mode == "Browse"
    bad = client.post(
        f"/api/v1/cmi5/enrollments/{enrollment.pk}/aus/{au_row.pk}/launch",
        {"mode": "Sideways"},
        content_type="application/json",
        **_bearer(learner),
    )
    assert bad.status_code == 400


def test_package_files_are_served_to_enrolled_learners_only(client, author, learner, course):
    _post_package(client, author, course, au_package())
    cs = CourseStructure.objects.get()
    assert client.login(username=learner.user.username, password=PASSWORD)
    url = f"/cmi5/content/{cs.pk}/au/index.html"
    assert client.get(url).status_code == 404  # not enrolled yet
    enrol(learner, course)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert client.get(f"/cmi5/content/{cs.pk}/cmi5-secret.html").status_code == 404


def test_the_authoring_screen_imports_and_shows_problems(client, author, tenant):
    course = CourseFactory(tenant=tenant, owner=author)
    assert client.login(username=author.user.username, password=PASSWORD)
    page = client.get(f"/authoring/{course.pk}/")
    assert "Import cmi5 content" in page.content.decode()
    bad = client.post(
        f"/cmi5/courses/{course.pk}/import/",
        {"package": SimpleUploadedFile("cmi5.xml", cmi5_xml(au(url="relative.html")))},
        follow=True,
    )
    text = bad.content.decode()
    assert "its cmi5.xml is not valid" in text and "is relative" in text
    good = client.post(
        f"/cmi5/courses/{course.pk}/import/",
        {"package": SimpleUploadedFile("course.zip", au_package())},
        follow=True,
    )
    assert "cmi5 course “Fire safety” imported: 1 AU," in good.content.decode()


def test_the_record_store_answers_cors_preflights_for_aus_on_other_origins(client):
    preflight = client.options(
        "/xapi/statements",
        HTTP_ORIGIN="https://content.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type,x-experience-api-version",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "X-Experience-API-Version" in preflight["Access-Control-Allow-Headers"]
    about = client.get("/xapi/about", HTTP_ORIGIN="https://content.example.com")
    assert about.status_code == 200 and about["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in about["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in client.get("/xapi/about")
    assert "Access-Control-Allow-Origin" not in client.get(
        "/login/", HTTP_ORIGIN="https://x.example"
    )
