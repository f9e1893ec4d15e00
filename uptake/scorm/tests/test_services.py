"""Uploading packages (all or nothing) and playing them (launch, commit, resume, progress)."""

from __future__ import annotations

import os
import zipfile

import pytest
from django.conf import settings

from uptake.analytics.models import LearningEvent
from uptake.catalog import services as catalog_services
from uptake.core.actor import Actor
from uptake.core.errors import Conflict, PermissionDenied, ValidationFailed
from uptake.enrollment.models import Enrollment
from uptake.progress.models import ActivityCompletion
from uptake.scorm import services
from uptake.scorm.models import Item, Package, ScoState
from uptake.scorm.tests.conftest import enrol, upload_file
from uptake.scorm.tests.packages import Package as Pkg
from uptake.scorm.tests.packages import Sco, build_zip, simple_12, simple_2004

pytestmark = pytest.mark.django_db


def _stored_files() -> list[str]:
    root = os.path.join(settings.MEDIA_ROOT)
    out = []
    for folder, _dirs, files in os.walk(root):
        out.extend(os.path.relpath(os.path.join(folder, f), root) for f in files)
    return sorted(out)


def _upload(author, activity, data: bytes, name: str = "package.zip") -> Package:
    return services.upload_package(
        actor=Actor.person(author.pk), activity=activity, upload=upload_file(data, name)
    )


def test_upload_stores_files_items_and_the_original_zip(author, scorm_activity):
    package = _upload(author, scorm_activity, simple_12().zip(), "Fire Drill.zip")
    assert (package.version, package.edition, package.title) == ("1.2", "SCORM 1.2", "Test package")
    assert package.files == ["css/site.css", "imsmanifest.xml", "index.html"]
    assert [(i.identifier, i.href, i.scorm_type) for i in Item.objects.filter(package=package)] == [
        ("sco1", "index.html", "sco")
    ]
    stored = _stored_files()
    assert f"{package.storage_dir}/index.html" in stored
    scorm_activity.refresh_from_db()
    assert scorm_activity.file.name.endswith(".zip")
    # The catalogue now sees a complete activity: the course can be published.
    problems = catalog_services.publish_problems(course=scorm_activity.course)
    assert problems == []


def test_a_scorm_activity_without_package_cannot_be_published(scorm_activity):
    problems = catalog_services.publish_problems(course=scorm_activity.course)
    assert [p.message for p in problems] == [
        "The SCORM activity “Fire drill” has no package uploaded."
    ]


def test_only_the_courses_authors_upload(learner, scorm_activity):
    with pytest.raises(PermissionDenied):
        _upload(learner, scorm_activity, simple_12().zip())
    assert not Package.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a zip at all", "is not a zip archive"),
        (b"", "The file is empty."),
        (build_zip({"imsmanifest.xml": b"<manifest>", "index.html": b""}), "not well-formed XML"),
        (build_zip({"imsmanifest.xml": b"<m/>", "../../etc/x.html": b""}), "outside the package"),
    ],
)
def test_bad_packages_are_refused_precisely_and_nothing_is_stored(
    author, scorm_activity, data, message
):
    with pytest.raises(ValidationFailed) as caught:
        _upload(author, scorm_activity, data)
    text = " ".join([caught.value.detail, *(p.message for p in caught.value.errors)])
    assert message in text
    assert "nothing was stored" in caught.value.detail or "not valid" in caught.value.detail
    assert not Package.objects.exists()
    assert _stored_files() == []
    scorm_activity.refresh_from_db()
    assert not scorm_activity.file


def test_a_damaged_member_removes_the_files_already_written(author, scorm_activity):
    data = bytearray(simple_12().zip())
    # Corrupt the last stored member's compressed bytes (its checksum then fails on reading).
    with zipfile.ZipFile(__import__("io").BytesIO(bytes(data))) as zf:
        info = zf.getinfo("css/site.css")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start] ^= 0xFF
    with pytest.raises(ValidationFailed) as caught:
        _upload(author, scorm_activity, bytes(data))
    assert "damaged" in caught.value.errors[0].message
    assert _stored_files() == []
    assert not Package.objects.exists()


def test_size_limits_come_from_settings(author, scorm_activity, settings):
    settings.UPTAKE_SCORM_MAX_FILES = 2
    with pytest.raises(ValidationFailed) as caught:
        _upload(author, scorm_activity, simple_12().zip())
    assert caught.value.errors[0].message == "The package has 3 files; at most 2 are allowed."


def test_replacing_a_package_keeps_learners_data_for_the_same_items(
    author, learner, scorm_activity, django_capture_on_commit_callbacks
):
    first = _upload(author, scorm_activity, simple_12().zip())
    old_dir = first.storage_dir
    enrollment = enrol(learner, scorm_activity.course)
    item = Item.objects.get(package=first)
    started = services.launch(actor=Actor.person(learner.pk), enrollment=enrollment, item=item)
    services.commit(
        actor=Actor.person(learner.pk),
        enrollment=enrollment,
        item=item,
        session_key=started.session_key,
        changes=[("cmi.suspend_data", "page=3")],
    )
    with django_capture_on_commit_callbacks(execute=True):
        second = _upload(author, scorm_activity, simple_12(title="Second").zip())
    assert second.pk == first.pk and second.title == "Second"
    assert not any(name.startswith(old_dir) for name in _stored_files())
    state = ScoState.objects.get(enrollment=enrollment)
    assert state.item.package_id == second.pk and state.data["cmi.suspend_data"] == "page=3"


# --- Run time ------------------------------------------------------------------------------------


def _play(learner, enrollment, item, changes, finish=False, session=None):  # type: ignore[no-untyped-def]
    actor = Actor.person(learner.pk)
    if session is None:
        session = services.launch(actor=actor, enrollment=enrollment, item=item).session_key
    return services.commit(
        actor=actor,
        enrollment=enrollment,
        item=item,
        session_key=session,
        changes=changes,
        finish=finish,
    )


def test_12_suspend_then_resume_keeps_location_data_and_adds_time(author, learner, scorm_activity):
    package = _upload(author, scorm_activity, simple_12().zip())
    item = Item.objects.get(package=package)
    enrollment = enrol(learner, scorm_activity.course)
    first = services.launch(actor=Actor.person(learner.pk), enrollment=enrollment, item=item)
    assert first.values["cmi.core.entry"] == "ab-initio"
    assert first.values["cmi.core.student_name"] == f"{learner.last_name}, {learner.first_name}"
    _play(
        learner,
        enrollment,
        item,
        [
            ("cmi.core.lesson_location", "page-2"),
            ("cmi.suspend_data", "a=1"),
            ("cmi.core.lesson_status", "incomplete"),
            ("cmi.core.exit", "suspend"),
            ("cmi.core.session_time", "0000:01:30.00"),
        ],
        finish=True,
        session=first.session_key,
    )
    again = services.launch(actor=Actor.person(learner.pk), enrollment=enrollment, item=item)
    assert again.values["cmi.core.entry"] == "resume"
    assert again.values["cmi.core.lesson_location"] == "page-2"
    assert again.values["cmi.suspend_data"] == "a=1"
    assert again.values["cmi.core.total_time"] == "0000:01:30.00"
    assert "cmi.core.exit" not in again.values
    assert not ActivityCompletion.objects.exists()


def test_a_refused_value_stores_nothing(author, learner, scorm_activity):
    package = _upload(author, scorm_activity, simple_12().zip())
    item = Item.objects.get(package=package)
    enrollment = enrol(learner, scorm_activity.course)
    with pytest.raises(ValidationFailed) as caught:
        _play(
            learner, enrollment, item, [("cmi.suspend_data", "x"), ("cmi.core.score.raw", "lots")]
        )
    assert [p.as_dict() for p in caught.value.errors] == [
        {
            "message": "cmi.core.score.raw: error 405, Incorrect data type",
            "field": "cmi.core.score.raw",
        }
    ]
    assert ScoState.objects.get(enrollment=enrollment).data == {}


def test_completing_the_only_sco_completes_activity_and_course_with_events(
    author, learner, scorm_activity
):
    package = _upload(
        author,
        scorm_activity,
        Pkg(
            version="1.2",
            scos=[Sco("s", "S", "s.html", extra="<adlcp:masteryscore>80</adlcp:masteryscore>")],
        ).zip(),
    )
    item = Item.objects.get(package=package)
    enrollment = enrol(learner, scorm_activity.course)
    done = _play(
        learner,
        enrollment,
        item,
        [
            ("cmi.core.score.raw", "90"),
            ("cmi.core.lesson_status", "completed"),
            ("cmi.core.session_time", "0000:00:10"),
        ],
        finish=True,
    )
    assert (done.outcome.success, done.outcome.score_percent) == ("passed", 90)
    assert done.activity_completed and done.enrollment_status == Enrollment.Status.COMPLETED
    assert ActivityCompletion.objects.filter(
        enrollment=enrollment, activity=scorm_activity
    ).exists()
    verbs = list(LearningEvent.objects.filter(person=learner).values_list("verb", "value"))
    assert ("passed", 90.0) in verbs
    assert ("activity_completed", None) in verbs
    assert ("course_completed", 100.0) in verbs


def test_12_mastery_score_fails_a_low_score(author, learner, scorm_activity):
    package = _upload(
        author,
        scorm_activity,
        Pkg(
            version="1.2",
            scos=[Sco("s", "S", "s.html", extra="<adlcp:masteryscore>80</adlcp:masteryscore>")],
        ).zip(),
    )
    item = Item.objects.get(package=package)
    enrollment = enrol(learner, scorm_activity.course)
    done = _play(
        learner,
        enrollment,
        item,
        [("cmi.core.score.raw", "50"), ("cmi.core.lesson_status", "completed")],
        finish=True,
    )
    assert done.outcome.success == "failed" and not done.activity_completed
    assert LearningEvent.objects.filter(person=learner, verb="failed", value=50.0).exists()


def test_2004_multi_sco_activity_completes_when_every_sco_is_done(author, learner, scorm_activity):
    package = _upload(
        author,
        scorm_activity,
        Pkg(version="2004", scos=[Sco("a", "A", "a.html"), Sco("b", "B", "b/b.html")]).zip(),
    )
    first, second = Item.objects.filter(package=package).order_by("position")
    enrollment = enrol(learner, scorm_activity.course)
    launched = services.launch(actor=Actor.person(learner.pk), enrollment=enrollment, item=first)
    assert launched.values["adl.nav.request_valid.continue"] == "true"
    assert launched.values["adl.nav.request_valid.previous"] == "false"
    assert launched.values["adl.nav.request_valid.choice.{target=b}"] == "true"
    done = _play(
        learner,
        enrollment,
        first,
        [("cmi.completion_status", "completed")],
        finish=True,
        session=launched.session_key,
    )
    assert done.state.satisfied_at is not None and not done.activity_completed
    done = _play(
        learner,
        enrollment,
        second,
        [
            ("cmi.completion_status", "completed"),
            ("cmi.success_status", "passed"),
            ("cmi.score.scaled", "0.9"),
        ],
        finish=True,
    )
    assert done.activity_completed and done.progress_percent == 100


def test_2004_normal_exit_starts_a_new_attempt_next_time(author, learner, scorm_activity):
    package = _upload(author, scorm_activity, simple_2004().zip())
    item = Item.objects.get(package=package)
    enrollment = enrol(learner, scorm_activity.course)
    _play(
        learner,
        enrollment,
        item,
        [("cmi.location", "p3"), ("cmi.exit", "normal"), ("cmi.session_time", "PT1M")],
        finish=True,
    )
    again = services.launch(actor=Actor.person(learner.pk), enrollment=enrollment, item=item)
    assert again.values["cmi.entry"] == "ab-initio"
    assert "cmi.location" not in again.values
    assert again.values["cmi.total_time"] == "PT0H1M0S"
    assert again.state.attempt == 2


def test_a_finished_session_refuses_more_commits(author, learner, scorm_activity):
    package = _upload(author, scorm_activity, simple_2004().zip())
    item = Item.objects.get(package=package)
    enrollment = enrol(learner, scorm_activity.course)
    launched = services.launch(actor=Actor.person(learner.pk), enrollment=enrollment, item=item)
    _play(learner, enrollment, item, [], finish=True, session=launched.session_key)
    with pytest.raises(Conflict):
        _play(learner, enrollment, item, [("cmi.location", "x")], session=launched.session_key)


def test_an_abandoned_session_is_resumed_at_the_next_launch(author, learner, scorm_activity):
    package = _upload(author, scorm_activity, simple_2004().zip())
    item = Item.objects.get(package=package)
    enrollment = enrol(learner, scorm_activity.course)
    _play(learner, enrollment, item, [("cmi.location", "p7"), ("cmi.session_time", "PT30S")])
    again = services.launch(actor=Actor.person(learner.pk), enrollment=enrollment, item=item)
    assert again.values["cmi.entry"] == "resume"
    assert again.values["cmi.location"] == "p7"
    assert again.values["cmi.total_time"] == "PT0H0M30S"


def test_an_asset_is_done_when_launched(author, learner, scorm_activity):
    package = _upload(
        author,
        scorm_activity,
        Pkg(version="1.2", scos=[Sco("doc", "Handout", "handout.html", scorm_type="asset")]).zip(),
    )
    item = Item.objects.get(package=package)
    enrollment = enrol(learner, scorm_activity.course)
    services.launch(actor=Actor.person(learner.pk), enrollment=enrollment, item=item)
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED


def test_sweep_deletes_only_old_folders_no_package_points_to(author, scorm_activity):
    from uptake.catalog.models import Activity

    package = _upload(author, scorm_activity, simple_12().zip())
    kept_dir = package.storage_dir
    other = Activity.objects.create(
        tenant_id=scorm_activity.tenant_id,
        module=scorm_activity.module,
        course=scorm_activity.course,
        kind="scorm",
        title="Second",
        position=1,
    )
    gone = _upload(author, other, simple_2004().zip())
    gone_dir = gone.storage_dir
    other.delete()
    assert services.sweep_orphaned_files(actor=Actor.system()) == 0  # too young yet
    assert services.sweep_orphaned_files(actor=Actor.system(), min_age_seconds=0) == 1
    stored = _stored_files()
    assert any(name.startswith(kept_dir) for name in stored)
    assert not any(name.startswith(gone_dir) for name in stored)


def test_launch_and_commit_take_few_queries(
    author, learner, scorm_activity, django_assert_max_num_queries
):
    package = _upload(author, scorm_activity, simple_2004().zip())
    item = Item.objects.select_related("package__activity").get(package=package)
    enrollment = Enrollment.objects.select_related("person", "course").get(
        pk=enrol(learner, scorm_activity.course).pk
    )
    actor = Actor.person(learner.pk)
    services.launch(actor=actor, enrollment=enrollment, item=item)
    # Savepoint, locked state, update, the package's items, release.
    with django_assert_max_num_queries(5):
        launched = services.launch(actor=actor, enrollment=enrollment, item=item)
    # Savepoint, locked state, update, enrolment status, release.
    with django_assert_max_num_queries(5):
        services.commit(
            actor=actor,
            enrollment=enrollment,
            item=item,
            session_key=launched.session_key,
            changes=[("cmi.location", "p2"), ("cmi.suspend_data", "x" * 4000)],
        )
