"""The SCORM API, the package files and the screens: who may do what, and what they get."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import (
    PASSWORD,
    PersonFactory,
    grant,
)
from uptake.core.actor import Actor
from uptake.identity.services import create_token
from uptake.people.rules import CONTENT_OWNER
from uptake.scorm import services
from uptake.scorm.models import Item, Package
from uptake.scorm.tests.conftest import enrol, upload_file
from uptake.scorm.tests.packages import build_zip, simple_12, simple_2004

pytestmark = pytest.mark.django_db


def _bearer(person) -> dict[str, str]:  # type: ignore[no-untyped-def]
    _, raw = create_token(actor=Actor.system(), user=person.user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _uploaded(author, activity, data=None) -> Package:  # type: ignore[no-untyped-def]
    return services.upload_package(
        actor=Actor.person(author.pk),
        activity=activity,
        upload=upload_file(data or simple_12().zip()),
    )


def test_author_uploads_a_package_through_the_api(client, author, scorm_activity):
    response = client.post(
        f"/api/v1/scorm/activities/{scorm_activity.pk}/package",
        {"file": SimpleUploadedFile("p.zip", simple_2004().zip(), content_type="application/zip")},
        **_bearer(author),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["version"], body["edition"], body["file_count"]) == (
        "2004",
        "SCORM 2004 4th Edition",
        2,
    )
    assert [i["identifier"] for i in body["items"]] == ["sco1"]
    again = client.get(f"/api/v1/scorm/activities/{scorm_activity.pk}/package", **_bearer(author))
    assert again.json()["id"] == body["id"]


def test_a_bad_zip_answers_400_problem_json_with_each_problem(client, author, scorm_activity):
    data = build_zip({"imsmanifest.xml": b"<m/>", "../x.html": b"", "run.exe": b"MZ"})
    response = client.post(
        f"/api/v1/scorm/activities/{scorm_activity.pk}/package",
        {"file": SimpleUploadedFile("p.zip", data)},
        **_bearer(author),
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"] == "The SCORM package was not added: nothing was stored."
    assert len(problem["errors"]) == 2
    assert all(e["field"] == "package" for e in problem["errors"])
    assert not Package.objects.exists()


def test_learners_and_other_tenants_cannot_upload_or_read_packages(
    client, learner, other_tenant, scorm_activity
):
    stranger = grant(PersonFactory(tenant=other_tenant), CONTENT_OWNER)
    for person in (learner, stranger):
        url = f"/api/v1/scorm/activities/{scorm_activity.pk}/package"
        assert (
            client.post(
                url, {"file": SimpleUploadedFile("p.zip", simple_12().zip())}, **_bearer(person)
            ).status_code
            == 404
        )
        assert client.get(url, **_bearer(person)).status_code == 404
    assert not Package.objects.exists()


def test_api_launch_and_commit_round_trip(client, author, learner, scorm_activity):
    package = _uploaded(author, scorm_activity)
    item = Item.objects.get(package=package)
    enrollment = enrol(learner, scorm_activity.course)
    headers = _bearer(learner)
    base = f"/api/v1/scorm/enrollments/{enrollment.pk}/items/{item.pk}"
    launched = client.post(f"{base}/launch", **headers).json()
    assert launched["version"] == "1.2"
    assert launched["content_url"] == f"/scorm/content/{package.pk}/index.html"
    assert launched["values"]["cmi.core.entry"] == "ab-initio"
    bad = client.post(
        f"{base}/commit",
        {"session": launched["session"], "changes": [["cmi.core.lesson_status", "done"]]},
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 400
    assert (
        bad.json()["errors"][0]["message"]
        == "cmi.core.lesson_status: error 405, Incorrect data type"
    )
    done = client.post(
        f"{base}/commit",
        {
            "session": launched["session"],
            "finish": True,
            "changes": [["cmi.core.lesson_status", "passed"], ["cmi.core.score.raw", "88"]],
        },
        content_type="application/json",
        **headers,
    )
    assert done.status_code == 200, done.content
    assert done.json() | {"total_seconds": 0} == {
        "completion_status": "completed",
        "success_status": "passed",
        "score_percent": 88.0,
        "total_seconds": 0,
        "satisfied": True,
        "activity_completed": True,
        "enrollment_status": "completed",
        "progress_percent": 100,
    }
    ended = client.post(
        f"{base}/commit",
        {"session": launched["session"], "changes": []},
        content_type="application/json",
        **headers,
    )
    assert ended.status_code == 409
    states = client.get(f"/api/v1/scorm/enrollments/{enrollment.pk}/states", **headers).json()
    assert [(s["identifier"], s["satisfied"], s["score_percent"]) for s in states] == [
        ("sco1", True, 88.0)
    ]


def test_another_persons_enrolment_answers_404(client, author, learner, tenant, scorm_activity):
    package = _uploaded(author, scorm_activity)
    item = Item.objects.get(package=package)
    enrollment = enrol(learner, scorm_activity.course)
    other = PersonFactory(tenant=tenant)
    response = client.post(
        f"/api/v1/scorm/enrollments/{enrollment.pk}/items/{item.pk}/launch", **_bearer(other)
    )
    assert response.status_code == 404


def _log_in(client, person) -> None:  # type: ignore[no-untyped-def]
    assert client.login(username=person.user.username, password=PASSWORD)


def test_package_files_are_served_to_enrolled_learners_with_their_types(
    client, author, learner, scorm_activity
):
    package = _uploaded(author, scorm_activity)
    enrol(learner, scorm_activity.course)
    _log_in(client, learner)
    page = client.get(f"/scorm/content/{package.pk}/index.html")
    assert page.status_code == 200
    assert page["Content-Type"] == "text/html; charset=utf-8"
    assert page["X-Frame-Options"] == "SAMEORIGIN"
    assert b"".join(page.streaming_content) == b"<html><body>SCO</body></html>"
    css = client.get(f"/scorm/content/{package.pk}/css/site.css")
    assert css["Content-Type"] == "text/css; charset=utf-8"
    assert client.get(f"/scorm/content/{package.pk}/css/../index.html").status_code == 404
    assert client.get(f"/scorm/content/{package.pk}/nothing.html").status_code == 404


def test_package_files_are_hidden_from_the_unenrolled_and_anonymous(
    client, author, tenant, other_tenant, scorm_activity
):
    package = _uploaded(author, scorm_activity)
    url = f"/scorm/content/{package.pk}/index.html"
    assert client.get(url).status_code == 302  # to the login page
    _log_in(client, PersonFactory(tenant=tenant))
    assert client.get(url).status_code == 404
    _log_in(client, PersonFactory(tenant=other_tenant))
    assert client.get(url).status_code == 404
    _log_in(client, author)
    assert client.get(url).status_code == 200


def test_authoring_screen_uploads_and_shows_each_problem(client, author, scorm_activity):
    _log_in(client, author)
    edit = client.get(f"/authoring/activities/{scorm_activity.pk}/")
    assert b"SCORM package (.zip)" in edit.content
    bad = client.post(
        f"/scorm/activities/{scorm_activity.pk}/package/",
        {"package": SimpleUploadedFile("p.zip", build_zip({"index.html": b""}))},
        follow=True,
    )
    assert "The zip has no imsmanifest.xml at its top" in bad.content.decode()
    good = client.post(
        f"/scorm/activities/{scorm_activity.pk}/package/",
        {"package": SimpleUploadedFile("p.zip", simple_12().zip())},
        follow=True,
    )
    text = good.content.decode()
    assert "SCORM 1.2 package “Test package” uploaded: 3 files." in text
    assert "Replace the package (.zip)" in text


def test_player_page_shows_the_content_frame_and_loads_the_api(
    client, author, learner, scorm_activity
):
    _uploaded(author, scorm_activity)
    enrollment = enrol(learner, scorm_activity.course)
    _log_in(client, learner)
    page = client.get(f"/learn/{enrollment.pk}/{scorm_activity.pk}/").content.decode()
    assert 'id="scorm-frame"' in page
    assert "scorm/scorm-api.js" in page
    assert f"/api/v1/scorm/enrollments/{enrollment.pk}/items/" in page
    assert "Mark as complete" not in page
    refused = client.post(f"/learn/{enrollment.pk}/{scorm_activity.pk}/complete/")
    assert refused.status_code == 400


def test_multi_sco_player_lists_the_contents_and_moves_between_parts(
    client, author, learner, scorm_activity
):
    from uptake.scorm.tests.packages import browser_2004

    _uploaded(author, scorm_activity, browser_2004().zip())
    enrollment = enrol(learner, scorm_activity.course)
    _log_in(client, learner)
    first, second = Item.objects.order_by("position")
    page = client.get(f"/learn/{enrollment.pk}/{scorm_activity.pk}/").content.decode()
    assert "Contents of this package" in page and "Next part" in page
    assert f"items/{first.pk}/launch" in page
    page = client.get(
        f"/learn/{enrollment.pk}/{scorm_activity.pk}/?item={second.pk}"
    ).content.decode()
    assert f"items/{second.pk}/launch" in page and "Previous part" in page


def test_content_urls_quote_the_path_and_keep_the_query():
    from uptake.scorm.routes import content_url

    package = Package(pk=7)
    assert content_url(package, "my lesson/ä.html?x=1#top") == (
        "/scorm/content/7/my%20lesson/%C3%A4.html?x=1#top"
    )


def test_a_locked_path_step_cannot_be_launched_through_the_api(
    client, author, learner, tenant, scorm_activity
):
    from uptake.assignments.tests import builders
    from uptake.assignments.tests.builders import SYSTEM
    from uptake.enrollment.models import Enrollment
    from uptake.paths import services as path_services

    package = _uploaded(author, scorm_activity)
    item = Item.objects.get(package=package)
    first = builders.course_with_page(tenant, "Basics", estimated_minutes=5)
    path = builders.path_of(tenant, "Starter", first, scorm_activity.course)
    path_services.enroll_people_in_path(
        actor=SYSTEM, tenant_id=tenant.pk, path=path, due_by_person={learner.pk: None}
    )
    enrollment = Enrollment.objects.get(person=learner, course=scorm_activity.course)
    response = client.post(
        f"/api/v1/scorm/enrollments/{enrollment.pk}/items/{item.pk}/launch", **_bearer(learner)
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "Complete “Basics” to unlock (learning path “Starter”)."


def test_authors_preview_a_package_without_anything_recorded(
    client, author, learner, scorm_activity
):
    package = _uploaded(author, scorm_activity)
    _log_in(client, author)
    page = client.get(f"/scorm/activities/{scorm_activity.pk}/preview/").content.decode()
    assert "nothing you do here is recorded" in page
    assert "data-preview=" in page and f"/scorm/content/{package.pk}/index.html" in page
    assert "/launch" not in page
    _log_in(client, learner)
    assert client.get(f"/scorm/activities/{scorm_activity.pk}/preview/").status_code == 403


def test_files_linked_with_the_wrong_case_are_still_served(client, author, learner, scorm_activity):
    package = _uploaded(author, scorm_activity)
    enrol(learner, scorm_activity.course)
    _log_in(client, learner)
    assert client.get(f"/scorm/content/{package.pk}/CSS/Site.css").status_code == 200


def test_the_back_office_lists_packages_items_and_states(client, author, learner, scorm_activity):
    package = _uploaded(author, scorm_activity)
    item = Item.objects.get(package=package)
    enrollment = enrol(learner, scorm_activity.course)
    services.launch(actor=Actor.person(learner.pk), enrollment=enrollment, item=item)
    author.user.is_staff = author.user.is_superuser = True
    author.user.save()
    _log_in(client, author)
    for model in ("package", "item", "scostate"):
        assert client.get(f"/admin/scorm/{model}/").status_code == 200
    assert client.get(f"/admin/scorm/package/{package.pk}/change/").status_code == 200


def test_a_scorm_activity_cannot_be_marked_complete_by_hand(
    client, author, learner, scorm_activity
):
    """Only the content completes it: the progress API and the player's button refuse."""
    _uploaded(author, scorm_activity)
    enrollment = enrol(learner, scorm_activity.course)
    url = f"/api/v1/progress/enrollments/{enrollment.pk}/activities/{scorm_activity.pk}/complete"
    refused = client.post(url, **_bearer(learner))
    assert refused.status_code == 400, refused.content
    assert refused["Content-Type"].startswith("application/problem+json")
    assert "completed by the content itself" in refused.json()["detail"]
    client.login(username=learner.user.username, password=PASSWORD)
    page = client.post(f"/learn/{enrollment.pk}/{scorm_activity.pk}/complete/")
    assert page.status_code == 400
    assert "completed by the content itself" in page.content.decode()
    enrollment.refresh_from_db()
    assert enrollment.progress_percent == 0
