"""Import, launch, fetch, LaunchData, statements checked and moveOn applied, through Django's
test client against the real /cmi5/ and /xapi/ endpoints."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from tests.factories import PASSWORD
from uptake.catalog.models import Activity, Module
from uptake.cmi5 import rules, services
from uptake.cmi5.models import AssignableUnit, AuResult, CourseStructure, Registration, Session
from uptake.cmi5.tests.conftest import enrol, upload
from uptake.cmi5.tests.content import AU1, AU2, au, au_package, block, cmi5_xml, zip_of
from uptake.core.actor import Actor
from uptake.core.errors import Conflict, ValidationFailed
from uptake.enrollment.models import Enrollment
from uptake.xapi.models import Statement

pytestmark = pytest.mark.django_db

MOVEON = rules.CATEGORY_MOVEON


def _import(author: Any, course: Any, data: bytes, name: str = "course.zip") -> Any:
    return services.import_structure(
        actor=Actor.person(author.pk), course=course, upload=upload(data, name)
    )


def _login(person: Any) -> Client:
    client = Client()
    assert client.login(username=person.user.username, password=PASSWORD)
    return client


class AU:
    """What the tiny test AU does, through the test client."""

    def __init__(self, launch_url: str) -> None:
        parts = urlsplit(launch_url)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.url, self.q = launch_url, q
        self.actor = json.loads(q["actor"])
        self.registration = q["registration"]
        self.activity_id = q["activityId"]
        self.client = Client()
        self.auth = ""
        self.data: dict[str, Any] = {}

    def fetch(self) -> Any:
        path = urlsplit(self.q["fetch"]).path
        return self.client.post(path)

    def start(self) -> None:
        body = self.fetch().json()
        self.auth = body["auth-token"]
        self.data = self.get_state(rules.LAUNCH_DATA).json()

    def headers(self) -> dict[str, str]:
        return {
            "HTTP_AUTHORIZATION": f"Basic {self.auth}",
            "HTTP_X_EXPERIENCE_API_VERSION": "1.0.3",
        }

    def get_state(self, state_id: str) -> Any:
        return self.client.get(
            "/xapi/activities/state",
            {
                "stateId": state_id,
                "activityId": self.activity_id,
                "agent": json.dumps(self.actor),
                "registration": self.registration,
            },
            **self.headers(),
        )

    def statement(self, verb: str, result: dict[str, Any] | None = None, **kw: Any) -> dict:
        context = json.loads(json.dumps(self.data["contextTemplate"]))
        context["registration"] = self.registration
        categories = [{"id": rules.CATEGORY_CMI5}] if kw.get("defined", True) else []
        if result and ("success" in result or "completion" in result):
            categories.append({"id": MOVEON})
        if categories:
            context["contextActivities"]["category"] = categories
        st = {
            "id": str(uuid.uuid4()),
            "actor": kw.get("actor", self.actor),
            "verb": {"id": verb},
            "object": {"id": kw.get("object", self.activity_id)},
            "context": context,
            "timestamp": "2026-11-23T10:00:00.000Z",
        }
        if result:
            st["result"] = result
        return st

    def send(self, *statements: dict) -> Any:
        body = list(statements) if len(statements) > 1 else statements[0]
        return self.client.post(
            "/xapi/statements", json.dumps(body), content_type="application/json", **self.headers()
        )


def _launch(learner: Any, enrollment: Any, activity: Any, mode: str = "Normal") -> AU:
    client = _login(learner)
    response = client.post(f"/cmi5/launch/{enrollment.pk}/{activity.pk}/", {"mode": mode})
    assert response.status_code == 302, response.content
    return AU(response["Location"])


def _verbs(tenant_id: int) -> list[str]:
    return [
        json.loads(s.data)["verb"]["id"].rsplit("/", 1)[-1]
        for s in Statement.objects.filter(tenant_id=tenant_id).order_by("stored", "pk")
    ]


COMPLETED = {"completion": True, "duration": "PT1M"}
PASSED = {"success": True, "duration": "PT1M", "score": {"scaled": 0.9}}
FAILED = {"success": False, "duration": "PT1M", "score": {"scaled": 0.2}}


def test_zip_import_makes_a_module_of_au_activities_and_stores_the_files(author, course):
    imported = _import(author, course, au_package())
    cs = imported.structure
    assert cs.files == ["au/au.js", "au/index.html", "cmi5.xml"]
    assert default_storage.exists(f"{cs.storage_dir}/au/index.html")
    module = Module.objects.get(pk=cs.module_id)
    activity = Activity.objects.get(module=module)
    assert (module.title, activity.kind, activity.title) == ("Fire safety", "cmi5", "Introduction")
    assert activity.file.name  # the catalogue's publish check sees content
    au_row = AssignableUnit.objects.get()
    assert (au_row.url, au_row.is_local, au_row.move_on) == (
        "au/index.html",
        True,
        "CompletedAndPassed",
    )


def test_invalid_structure_stores_nothing(author, course):
    bad = zip_of({"cmi5.xml": cmi5_xml(au(url="au/missing.html"))})
    with pytest.raises(ValidationFailed) as exc:
        _import(author, course, bad)
    assert "its cmi5.xml is not valid" in exc.value.detail
    assert "not in the zip" in exc.value.errors[0].message
    assert (
        not CourseStructure.objects.exists() and not Module.objects.filter(course=course).exists()
    )


def test_unsafe_zip_is_refused_with_every_problem(author, course):
    bad = zip_of({"cmi5.xml": cmi5_xml(), "../evil.html": "x", "run.exe": "x"})
    with pytest.raises(ValidationFailed) as exc:
        _import(author, course, bad)
    messages = [p.message for p in exc.value.errors]
    assert len(messages) == 2 and "outside the package" in messages[0]
    assert not CourseStructure.objects.exists()


def test_standalone_xml_import_and_the_same_course_twice_is_a_conflict(author, course):
    imported = _import(author, course, cmi5_xml(), "cmi5.xml")
    assert imported.structure.files == [] and not imported.aus[0].is_local
    with pytest.raises(Conflict):
        _import(author, course, cmi5_xml(), "cmi5.xml")


def test_fetch_url_gives_the_token_once_then_the_error_json(author, course, learner):
    imported = _import(author, course, au_package())
    enrollment = enrol(learner, course)
    au_client = _launch(learner, enrollment, imported.aus[0].activity)
    first = au_client.fetch()
    assert first.status_code == 200 and first["Content-Type"] == "application/json"
    key, secret = base64.b64decode(first.json()["auth-token"]).decode().split(":")
    assert key.startswith("c5_") and secret
    second = au_client.fetch()
    assert second.status_code == 200
    assert second.json() == {
        "error-code": "1",
        "error-text": "The authorization token has already been returned.",
    }
    assert Client().post("/cmi5/fetch/not-a-token").json()["error-code"] == "2"
    assert Client().get(urlsplit(au_client.q["fetch"]).path).status_code == 405


def test_launch_url_and_launch_data_document(author, course, learner, settings):
    imported = _import(
        author,
        course,
        au_package(
            extra="<launchParameters>p=1</launchParameters><entitlementKey>ek-1</entitlementKey>"
        ),
    )
    enrollment = enrol(learner, course)
    activity = imported.aus[0].activity
    au_client = _launch(learner, enrollment, activity)
    au_row = imported.aus[0]
    assert au_client.url.startswith(
        f"http://testserver/cmi5/content/{au_row.structure_id}/au/index.html?"
    )
    assert au_client.q["endpoint"] == "http://testserver/xapi/"
    assert au_client.actor == {
        "objectType": "Agent",
        "account": {"homePage": settings.UPTAKE_BASE_URL, "name": "E-100"},
    }
    assert au_client.activity_id == f"{settings.UPTAKE_BASE_URL}/cmi5/aus/{au_row.pk}"
    registration = Registration.objects.get()
    assert au_client.registration == str(registration.registration)
    session = Session.objects.get()
    au_client.start()
    assert au_client.data == {
        "contextTemplate": {
            "contextActivities": {"grouping": [{"objectType": "Activity", "id": AU1}]},
            "extensions": {rules.EXT_SESSION: str(session.session_id)},
        },
        "launchMode": "Normal",
        "moveOn": "CompletedAndPassed",
        "masteryScore": 0.8,
        "launchParameters": "p=1",
        "entitlementKey": {"courseStructure": "ek-1"},
        "returnURL": f"http://testserver/cmi5/return/{enrollment.pk}/{activity.pk}/",
    }
    launched = json.loads(Statement.objects.get().data)
    assert launched["verb"]["id"] == rules.LAUNCHED
    ext = launched["context"]["extensions"]
    assert ext[rules.EXT_LAUNCH_MODE] == "Normal" and ext[rules.EXT_MOVE_ON] == "CompletedAndPassed"
    assert ext[rules.EXT_MASTERY] == 0.8 and ext[rules.EXT_LAUNCH_PARAMETERS] == "p=1"
    assert ext[rules.EXT_LAUNCH_URL].endswith("/au/index.html")
    # The AU may read its launch data but not change it.
    put = au_client.client.put(
        "/xapi/activities/state?stateId=LMS.LaunchData&activityId="
        + au_client.activity_id
        + "&agent="
        + json.dumps(au_client.actor)
        + "&registration="
        + au_client.registration,
        "{}",
        content_type="application/json",
        **au_client.headers(),
    )
    assert put.status_code == 403


def test_round_trip_satisfies_the_au_and_the_course_and_completes_uptake_progress(
    author, course, learner
):
    imported = _import(author, course, au_package())
    enrollment = enrol(learner, course)
    au_client = _launch(learner, enrollment, imported.aus[0].activity)
    au_client.start()
    assert au_client.send(au_client.statement(rules.INITIALIZED)).status_code == 200
    assert au_client.send(au_client.statement(rules.COMPLETED, COMPLETED)).status_code == 200
    enrollment.refresh_from_db()
    assert enrollment.status != Enrollment.Status.COMPLETED  # CompletedAndPassed: not yet
    assert au_client.send(au_client.statement(rules.PASSED, PASSED)).status_code == 200
    assert (
        au_client.send(au_client.statement(rules.TERMINATED, {"duration": "PT2M"})).status_code
        == 200
    )
    assert _verbs(course.tenant_id) == [
        "launched", "initialized", "completed", "passed", "satisfied", "terminated"
    ]  # fmt: skip
    satisfied = json.loads(
        Statement.objects.filter(tenant_id=course.tenant_id).order_by("-stored", "-pk")[1].data
    )
    cs = imported.structure
    assert satisfied["object"]["id"] == services.course_object_id(cs)
    assert satisfied["object"]["definition"]["type"] == rules.TYPE_COURSE
    assert satisfied["context"]["registration"] == au_client.registration
    session = Session.objects.get()
    assert satisfied["context"]["extensions"][rules.EXT_SESSION] == str(session.session_id)
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.progress_percent) == (Enrollment.Status.COMPLETED, 100)
    result = AuResult.objects.get()
    assert result.satisfied_at is not None and result.score_scaled == 0.9
    assert session.terminated_at is not None
    # After terminated, the session takes nothing more.
    late = au_client.send(
        au_client.statement("http://adlnet.gov/expapi/verbs/experienced", defined=False)
    )
    assert late.status_code == 403


@pytest.mark.parametrize(
    ("move_on", "sent", "satisfied"),
    [
        ("Completed", ["completed"], True),
        ("Completed", ["passed"], False),
        ("Passed", ["passed"], True),
        ("Passed", ["failed", "completed"], False),
        ("CompletedOrPassed", ["passed"], True),
        ("CompletedOrPassed", ["completed"], True),
        ("CompletedOrPassed", ["failed"], False),
        ("CompletedAndPassed", ["completed"], False),
        ("CompletedAndPassed", ["completed", "passed"], True),
        ("NotApplicable", [], True),
    ],
)
def test_move_on_criteria(author, course, learner, move_on, sent, satisfied):
    imported = _import(author, course, au_package(attrs=f'moveOn="{move_on}" masteryScore="0.5"'))
    enrollment = enrol(learner, course)
    au_client = _launch(learner, enrollment, imported.aus[0].activity)
    au_client.start()
    results = {"completed": COMPLETED, "passed": PASSED, "failed": FAILED}
    verbs = {"completed": rules.COMPLETED, "passed": rules.PASSED, "failed": rules.FAILED}
    statements = [au_client.statement(rules.INITIALIZED)]
    statements += [au_client.statement(verbs[v], results[v]) for v in sent]
    assert au_client.send(*statements).status_code == 200
    enrollment.refresh_from_db()
    assert (enrollment.status == Enrollment.Status.COMPLETED) is satisfied
    assert ("satisfied" in _verbs(course.tenant_id)) is satisfied


def test_block_and_course_satisfied_statements(author, course, learner):
    xml = cmi5_xml(
        block(au(AU1, url="au/index.html", attrs='moveOn="Completed"'))
        + au(AU2, title="Quiz", url="au/index.html", attrs='moveOn="Passed"')
    )
    imported = _import(author, course, zip_of({"cmi5.xml": xml, "au/index.html": "x"}))
    enrollment = enrol(learner, course)
    first = _launch(learner, enrollment, imported.aus[0].activity)
    first.start()
    first.send(first.statement(rules.INITIALIZED), first.statement(rules.COMPLETED, COMPLETED))
    satisfied = [
        json.loads(s.data)["object"]["definition"]["type"]
        for s in Statement.objects.filter(data__contains="satisfied")
    ]
    assert satisfied == [rules.TYPE_BLOCK]
    second = _launch(learner, enrollment, imported.aus[1].activity)  # abandons the first session
    second.start()
    second.send(second.statement(rules.INITIALIZED), second.statement(rules.PASSED, PASSED))
    assert _verbs(course.tenant_id) == [
        "launched", "initialized", "completed", "satisfied", "abandoned", "launched",
        "initialized", "passed", "satisfied",
    ]  # fmt: skip
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED


def test_abandoned_session_gets_its_statement_and_its_token_stops_working(author, course, learner):
    imported = _import(author, course, au_package())
    enrollment = enrol(learner, course)
    first = _launch(learner, enrollment, imported.aus[0].activity)
    first.start()
    first.send(first.statement(rules.INITIALIZED))
    _launch(learner, enrollment, imported.aus[0].activity)
    abandoned = json.loads(Statement.objects.filter(data__contains="abandoned").get().data)
    assert abandoned["verb"]["id"] == rules.ABANDONED
    assert abandoned["result"]["duration"].startswith("PT")
    assert first.send(first.statement(rules.TERMINATED)).status_code == 401  # revoked


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda a: [a.statement(rules.COMPLETED, COMPLETED)], "first statement of an AU session"),
        (
            lambda a: [a.statement(rules.INITIALIZED), a.statement(rules.INITIALIZED)],
            "already sent",
        ),
        (
            lambda a: [a.statement(rules.INITIALIZED, actor={"mbox": "mailto:x@example.com"})],
            "The actor must be",
        ),
        (
            lambda a: [a.statement(rules.INITIALIZED, object="https://example.com/other")],
            "must be the AU",
        ),
        (lambda a: [a.statement(rules.INITIALIZED), a.statement(rules.SATISFIED)], "Only the LMS"),
        (
            lambda a: [
                a.statement(rules.INITIALIZED),
                a.statement(rules.PASSED, {"success": True, "score": {"scaled": 0.3}}),
            ],
            "below the masteryScore",
        ),
        (
            lambda a: [
                a.statement(rules.INITIALIZED),
                a.statement(rules.FAILED, FAILED),
                a.statement(rules.PASSED, PASSED),
            ],
            "Only one of passed and failed",
        ),
        (
            lambda a: [
                a.statement(rules.INITIALIZED),
                a.statement(rules.COMPLETED, {"completion": False}),
            ],
            "needs result.completion true",
        ),
        (
            lambda a: [
                a.statement(rules.INITIALIZED),
                {
                    **a.statement(rules.COMPLETED, COMPLETED),
                    "context": {"registration": a.registration},
                },
            ],
            "session id",
        ),
    ],
)
def test_statements_breaking_cmi5_rules_are_refused_with_403_and_not_stored(
    author, course, learner, build, reason
):
    imported = _import(author, course, au_package())
    enrollment = enrol(learner, course)
    au_client = _launch(learner, enrollment, imported.aus[0].activity)
    au_client.start()
    before = Statement.objects.count()
    response = au_client.send(*build(au_client))
    assert response.status_code == 403, response.content
    assert reason in response.json()["error"]["message"]
    assert Statement.objects.count() == before


def test_completed_twice_in_a_registration_and_review_mode_are_refused(author, course, learner):
    imported = _import(author, course, au_package(attrs='moveOn="Passed"'))
    enrollment = enrol(learner, course)
    activity = imported.aus[0].activity
    first = _launch(learner, enrollment, activity)
    first.start()
    first.send(
        first.statement(rules.INITIALIZED),
        first.statement(rules.COMPLETED, COMPLETED),
        first.statement(rules.TERMINATED),
    )
    second = _launch(learner, enrollment, activity)
    second.start()
    second.send(second.statement(rules.INITIALIZED))
    again = second.send(second.statement(rules.COMPLETED, COMPLETED))
    assert again.status_code == 403 and "already completed" in again.json()["error"]["message"]
    review = _launch(learner, enrollment, activity, mode="Review")
    review.start()
    assert review.data["launchMode"] == "Review"
    review.send(review.statement(rules.INITIALIZED))
    refused = review.send(review.statement(rules.PASSED, PASSED))
    assert refused.status_code == 403 and "Review mode" in refused.json()["error"]["message"]


def test_an_au_token_reads_only_its_own_registration(author, course, learner):
    imported = _import(author, course, au_package())
    enrollment = enrol(learner, course)
    au_client = _launch(learner, enrollment, imported.aus[0].activity)
    au_client.start()
    everything = au_client.client.get("/xapi/statements", **au_client.headers())
    assert everything.status_code == 403
    own = au_client.client.get(
        "/xapi/statements", {"registration": au_client.registration}, **au_client.headers()
    )
    assert own.status_code == 200 and len(own.json()["statements"]) == 1
    other_agent = au_client.client.get(
        "/xapi/activities/state",
        {
            "activityId": au_client.activity_id,
            "agent": '{"mbox":"mailto:boss@example.com"}',
            "stateId": "x",
        },
        **au_client.headers(),
    )
    assert other_agent.status_code == 403


def test_a_structure_of_more_than_1000_aus_imports_in_a_fixed_number_of_queries(
    author, course, django_assert_max_num_queries
):
    xml = cmi5_xml("".join(au(f"https://example.com/au/{n}", title=f"AU {n}") for n in range(1001)))
    with django_assert_max_num_queries(80):
        imported = _import(author, course, xml, "cmi5.xml")
    assert len(imported.aus) == 1001
    assert Activity.objects.filter(course=course, kind="cmi5").count() == 1001
    assert [a.position for a in Activity.objects.filter(course=course).order_by("position")][
        -1
    ] == 1000


def test_files_of_a_deleted_structure_are_swept_but_not_live_ones(author, course):
    kept = _import(author, course, au_package()).structure
    other = _import(
        author,
        course,
        zip_of({"cmi5.xml": cmi5_xml(course_id="https://example.com/c2"), "x.html": "x"}),
    ).structure
    directory = other.storage_dir
    Module.objects.filter(pk=other.module_id).delete()
    assert default_storage.exists(f"{directory}/x.html")
    assert services.sweep_orphaned_files(actor=Actor.system(), min_age_seconds=0) == 1
    assert not default_storage.exists(f"{directory}/x.html")
    assert default_storage.exists(f"{kept.storage_dir}/au/index.html")
