"""Writes of SCORM content: upload a package, launch a SCO, commit its run-time data.

Uploading is all or nothing: the zip is checked (archive.py) and its manifest read
(manifest.py) before anything is stored; the files go to a fresh folder, and the rows are
written in one transaction; if anything fails the new files are deleted, and the previous
package's files are deleted only once the new package is committed.

The run-time data is replayed through the data model rules (datamodel.py) before it is stored.
Completion and score reach Uptake progress through progress.services.complete_activity (the
activity is done when every SCO of its package is), plus "passed"/"failed" learning events.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _

from uptake.analytics import services as analytics
from uptake.analytics.models import Verb
from uptake.catalog import services as catalog_services
from uptake.catalog.events import CourseUpdated
from uptake.catalog.models import Activity, Course
from uptake.catalog.rules import safe_filename
from uptake.core import clock
from uptake.core.actor import Actor
from uptake.core.bus import publish
from uptake.core.errors import Conflict, FieldProblem, NotFound, PermissionDenied, ValidationFailed
from uptake.enrollment.models import Enrollment
from uptake.people.models import Person
from uptake.progress import services as progress_services
from uptake.scorm import archive, datamodel, rules
from uptake.scorm.manifest import Manifest, ManifestInvalid, parse
from uptake.scorm.models import Item, Package, ScoState

logger = logging.getLogger(__name__)

SCORM_KIND = "scorm"
MAX_MANIFEST_BYTES = 5 * 1024 * 1024


def limits() -> archive.Limits:
    return archive.Limits(
        max_total_bytes=getattr(settings, "UPTAKE_SCORM_MAX_TOTAL_BYTES", 500 * 1024 * 1024),
        max_file_bytes=getattr(settings, "UPTAKE_SCORM_MAX_FILE_BYTES", 200 * 1024 * 1024),
        max_files=getattr(settings, "UPTAKE_SCORM_MAX_FILES", 10_000),
    )


def max_upload_bytes() -> int:
    return int(getattr(settings, "UPTAKE_SCORM_MAX_UPLOAD_BYTES", settings.UPTAKE_MAX_UPLOAD_BYTES))


# --- Upload --------------------------------------------------------------------------------------


def _refuse(problems: list[FieldProblem], detail: str | None = None) -> ValidationFailed:
    return ValidationFailed(
        detail or _("The SCORM package was not added: nothing was stored."), errors=problems
    )


def _problem(message: str) -> ValidationFailed:
    return _refuse([FieldProblem(message, field=archive.FIELD)])


def _open_zip(upload: File) -> zipfile.ZipFile:
    size = upload.size or 0
    if size == 0:
        raise _problem(_("The file is empty."))
    if size > max_upload_bytes():
        raise _problem(
            _("The zip is %(size)s; the limit is %(limit)s.")
            % {"size": archive.human_bytes(size), "limit": archive.human_bytes(max_upload_bytes())}
        )
    upload.seek(0)
    try:
        return zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise _problem(
            _("“%(name)s” is not a zip archive (or it is damaged).")
            % {"name": os.path.basename(upload.name or "")}
        ) from None


def _read_manifest(zf: zipfile.ZipFile, members: list[archive.Member]) -> Manifest:
    member = next(m for m in members if m.name == archive.MANIFEST)
    if member.size > MAX_MANIFEST_BYTES:
        raise _problem(_("imsmanifest.xml is larger than 5 MB."))
    try:
        xml = zf.read(member.info)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError):
        raise _problem(_("imsmanifest.xml is damaged in the zip.")) from None
    try:
        return parse(xml, {m.name for m in members})
    except ManifestInvalid as exc:
        raise _refuse(
            exc.problems, _("The SCORM package was not added: its imsmanifest.xml is not valid.")
        ) from None


def _delete_files(names: Iterable[str], directory: str = "") -> None:
    for name in names:
        with contextlib.suppress(Exception):
            default_storage.delete(name)
    if directory:
        with contextlib.suppress(Exception):
            shutil.rmtree(default_storage.path(directory))


def _require_author(actor: Actor, activity: Activity) -> None:
    if not catalog_services.can_edit(actor=actor, course=activity.course):
        raise PermissionDenied(
            _(
                "You cannot change “%(title)s”: content owners edit the courses they own, "
                "platform admins edit any course."
            )
            % {"title": activity.course.title}
        )


def upload_package(*, actor: Actor, activity: Activity, upload: File) -> Package:
    """Check, unpack and attach a SCORM 1.2 / 2004 zip to a "scorm" activity (replacing its
    package: learners' data follows items with the same identifier). ValidationFailed lists
    every problem (zip, paths, sizes, manifest) and nothing is stored; PermissionDenied for
    someone who cannot edit the course."""
    _require_author(actor, activity)
    if activity.kind != SCORM_KIND:
        raise _problem(_("Only a SCORM activity takes a SCORM package."))
    lim = limits()
    zf = _open_zip(upload)
    with zf:
        members, problems = archive.check_members(zf.infolist(), lim)
        if problems:
            raise _refuse(problems)
        manifest = _read_manifest(zf, members)
        directory = f"scorm/{activity.tenant_id}/{uuid.uuid4().hex}"
        written: list[str] = []  # every file stored so far, deleted again if anything fails
        try:
            for member in members:
                written.append(
                    archive.copy_member(
                        zf,
                        member,
                        f"{directory}/{member.name}",
                        max_file_bytes=lim.max_file_bytes,
                        problem=_problem,
                    )
                )
            with transaction.atomic():
                package = _save_package(
                    actor=actor,
                    activity=activity,
                    manifest=manifest,
                    directory=directory,
                    members=members,
                    upload=upload,
                    written=written,
                )
        except BaseException:
            _delete_files(written, directory)
            raise
    return package


def _save_package(
    *,
    actor: Actor,
    activity: Activity,
    manifest: Manifest,
    directory: str,
    members: list[archive.Member],
    upload: File,
    written: list[str],
) -> Package:
    course = Course.objects.select_for_update().get(
        tenant_id=activity.tenant_id, pk=activity.course_id
    )
    locked = Activity.objects.select_for_update().get(tenant_id=activity.tenant_id, pk=activity.pk)
    now = clock.now()
    package = Package.objects.filter(tenant_id=activity.tenant_id, activity=locked).first()
    old_files: list[str] = []
    old_dir = ""
    if package is None:
        package = Package(tenant_id=activity.tenant_id, activity=locked)
    else:
        old_dir = package.storage_dir
        old_files = [f"{old_dir}/{name}" for name in package.files]
    package.version = manifest.version
    package.edition = manifest.edition
    package.identifier = manifest.identifier[:200]
    package.title = manifest.title
    package.storage_dir = directory
    package.files = sorted(m.name for m in members)
    package.file_count = len(members)
    package.total_bytes = sum(m.size for m in members)
    package.original_name = os.path.basename(upload.name or "")[:255]
    package.uploaded_by_id = actor.person_id
    package.uploaded_at = now
    package.save()
    _replace_items(package, manifest)
    # The original zip is the activity's file (what "has a package" means to the catalogue).
    old_zip = locked.file.name if locked.file else ""
    upload.seek(0)
    locked.file.save(safe_filename(upload.name or "package.zip"), upload, save=False)
    written.append(locked.file.name or "")
    locked.save(update_fields=["file", "updated_at"])
    activity.file = locked.file
    if old_dir or old_zip:
        transaction.on_commit(
            lambda: _delete_files([*old_files, *([old_zip] if old_zip else [])], old_dir)
        )
    publish(
        CourseUpdated(
            tenant_id=course.tenant_id,
            course_id=course.pk,
            changed=("outline",),
            actor_person_id=actor.person_id,
        )
    )
    return package


def _replace_items(package: Package, manifest: Manifest) -> None:
    old = {item.identifier: item for item in Item.objects.filter(package=package)}
    kept: set[int] = set()
    for position, spec in enumerate(manifest.items):
        attrs = {
            "title": spec.title,
            "position": position,
            "level": min(spec.level, 20),
            "href": spec.href[:1000],
            "scorm_type": spec.scorm_type,
            "visible": spec.visible,
            "mastery_score": spec.mastery_score,
            "scaled_passing_score": spec.scaled_passing_score,
            "completion_threshold": spec.completion_threshold,
            "launch_data": spec.launch_data,
            "max_time_allowed": spec.max_time_allowed[:40],
            "time_limit_action": spec.time_limit_action[:40],
        }
        item = old.get(spec.identifier[:200])
        if item is None:
            created = Item.objects.create(
                tenant_id=package.tenant_id,
                package=package,
                identifier=spec.identifier[:200],
                **attrs,
            )
            kept.add(created.pk)
        else:
            for name, value in attrs.items():
                setattr(item, name, value)
            item.save()
            kept.add(item.pk)
    # Items gone from the new manifest go, with their learners' data (their SCOs are gone too).
    Item.objects.filter(package=package).exclude(pk__in=kept).delete()


def sweep_orphaned_files(*, actor: Actor, min_age_seconds: int = 86_400) -> int:
    """Delete package folders no package points to any more (left by a deleted activity or a
    crash mid-upload); folders younger than `min_age_seconds` are left alone, since an upload
    writes its files before its rows. Returns how many folders were deleted."""
    referenced = set(Package.objects.values_list("storage_dir", flat=True))
    now = clock.now()
    deleted = 0
    try:
        tenants, _files = default_storage.listdir("scorm")
    except (FileNotFoundError, NotImplementedError):
        return 0
    for tenant_dir in tenants:
        folders, _files = default_storage.listdir(f"scorm/{tenant_dir}")
        for folder in folders:
            directory = f"scorm/{tenant_dir}/{folder}"
            if directory in referenced:
                continue
            age = (now - default_storage.get_modified_time(directory)).total_seconds()
            if age < min_age_seconds:
                continue
            _delete_files([], directory)
            deleted += 1
    if deleted:
        logger.info("Deleted %d orphaned SCORM package folders", deleted)
    return deleted


# --- Run time ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Launch:
    state: ScoState
    version: str
    session_key: str
    values: dict[str, str]


def _thresholds(item: Item) -> rules.Thresholds:
    return rules.Thresholds(
        mastery_score=item.mastery_score,
        scaled_passing_score=item.scaled_passing_score,
        completion_threshold=item.completion_threshold,
    )


def _fmt(number: float | None) -> str:
    if number is None:
        return ""
    return f"{number:g}"


def lms_values(*, person: Person, item: Item, state: ScoState, version: str) -> dict[str, str]:
    """The read-only values the LMS provides to a SCO at launch."""
    name = f"{person.last_name}, {person.first_name}".strip(", ")
    learner_id = person.employee_id or str(person.pk)
    entry = state.entry if state.entry in ("ab-initio", "resume") else ""
    if version == datamodel.V12:
        return {
            "cmi.core.student_id": learner_id,
            "cmi.core.student_name": name,
            "cmi.core.credit": "credit",
            "cmi.core.entry": entry,
            "cmi.core.total_time": datamodel.format_timespan12(state.total_seconds),
            "cmi.core.lesson_mode": "normal",
            "cmi.launch_data": item.launch_data,
            "cmi.comments_from_lms": "",
            "cmi.student_data.mastery_score": _fmt(item.mastery_score),
            "cmi.student_data.max_time_allowed": item.max_time_allowed,
            "cmi.student_data.time_limit_action": item.time_limit_action,
        }
    launchable = dict(
        Item.objects.filter(package_id=item.package_id)
        .exclude(href="")
        .values_list("identifier", "position")
    )
    values = {
        "cmi.learner_id": learner_id,
        "cmi.learner_name": name,
        "cmi.credit": "credit",
        "cmi.entry": entry,
        "cmi.mode": "normal",
        "cmi.total_time": datamodel.format_duration(state.total_seconds),
        "cmi.launch_data": item.launch_data,
        "cmi.max_time_allowed": item.max_time_allowed,
        "cmi.time_limit_action": item.time_limit_action or "continue,no message",
        "adl.nav.request_valid.continue": "true"
        if any(p > item.position for p in launchable.values())
        else "false",
        "adl.nav.request_valid.previous": "true"
        if any(p < item.position for p in launchable.values())
        else "false",
    }
    for identifier in launchable:
        values[f"adl.nav.request_valid.choice.{{target={identifier}}}"] = "true"
    if item.completion_threshold is not None:
        values["cmi.completion_threshold"] = _fmt(item.completion_threshold)
    if item.scaled_passing_score is not None:
        values["cmi.scaled_passing_score"] = _fmt(item.scaled_passing_score)
    return values


def _check(enrollment: Enrollment, item: Item) -> Package:
    package = item.package
    if item.tenant_id != enrollment.tenant_id or package.activity.course_id != enrollment.course_id:
        raise NotFound(_("There is no SCORM item %(id)s in this course.") % {"id": item.pk})
    if enrollment.status == Enrollment.Status.WITHDRAWN:
        raise ValidationFailed(
            _("This enrolment was withdrawn, so progress can no longer be recorded.")
        )
    if not item.href:
        raise NotFound(
            _("“%(title)s” is a heading, not something to launch.") % {"title": item.title}
        )
    return package


def _locked_state(enrollment: Enrollment, item: Item) -> ScoState:
    """The enrolment's state row for the SCO, locked until the transaction ends (created on
    first use; get_or_create copes with two first uses at once)."""
    rows = ScoState.objects.select_for_update().filter(
        tenant_id=enrollment.tenant_id, enrollment=enrollment, item=item
    )
    state = rows.first()
    if state is None:
        ScoState.objects.get_or_create(
            tenant_id=enrollment.tenant_id, enrollment=enrollment, item=item
        )
        state = rows.get()
    return state


def _end_session(state: ScoState, version: str, item: Item) -> None:
    """Close the open session: time into the total, entry and attempt for the next launch."""
    values = dict(state.data)
    entry, seconds, new_attempt = rules.after_session(version, values)
    state.total_seconds += seconds
    for key in rules.SESSION_ONLY:
        values.pop(key, None)
    if new_attempt:
        state.attempt += 1
        state.entry = "ab-initio"
        values = {}
    else:
        state.entry = entry
    state.data = values
    state.session_key = ""


def preview_values(*, person: Person, item: Item) -> dict[str, str]:
    """What a SCO reads when an author previews it: a first launch, nothing stored."""
    state = ScoState(entry="ab-initio", total_seconds=0)
    return lms_values(person=person, item=item, state=state, version=item.package.version)


@transaction.atomic
def launch(*, actor: Actor, enrollment: Enrollment, item: Item) -> Launch:
    """Start a session of a SCO for the enrolment: the values the SCO will read (its stored data
    and the LMS's read-only ones) and a session key its commits must carry. A session left
    open (the browser closed without finishing) ends first, as if suspended. An asset (no
    run-time API) is done as soon as it is launched."""
    package = _check(enrollment, item)
    state = _locked_state(enrollment, item)
    now = clock.now()
    if state.session_key:
        # Keep the learner's place: an abandoned session counts as suspended.
        values = dict(state.data)
        values["cmi.core.exit" if package.version == datamodel.V12 else "cmi.exit"] = "suspend"
        state.data = values
        _end_session(state, package.version, item)
    state.session_key = uuid.uuid4().hex
    state.sessions += 1
    state.last_launched_at = now
    if item.scorm_type == "asset":
        state.completion_status = "completed"
    state.save()
    if item.scorm_type == "asset" and state.satisfied_at is None:
        _satisfy(actor=actor, enrollment=enrollment, state=state, package=package, now=now)
    values = {
        **lms_values(person=enrollment.person, item=item, state=state, version=package.version),
        **state.data,
    }
    return Launch(
        state=state, version=package.version, session_key=state.session_key, values=values
    )


@dataclass(frozen=True)
class Committed:
    state: ScoState
    outcome: rules.Outcome
    activity_completed: bool
    enrollment_status: str
    progress_percent: int


def _satisfy(
    *, actor: Actor, enrollment: Enrollment, state: ScoState, package: Package, now: Any
) -> bool:
    """Mark the SCO done; when every launchable item of the package is, complete the activity
    in Uptake progress (True when that happened now)."""
    state.satisfied_at = now
    state.save(update_fields=["satisfied_at", "updated_at"])
    launchable = set(
        Item.objects.filter(tenant_id=package.tenant_id, package=package)
        .exclude(href="")
        .values_list("id", flat=True)
    )
    done = set(
        ScoState.objects.filter(
            tenant_id=package.tenant_id,
            enrollment=enrollment,
            item_id__in=launchable,
            satisfied_at__isnull=False,
        ).values_list("item_id", flat=True)
    )
    if launchable - done:
        return False
    activity = Activity.objects.select_related("course").get(
        tenant_id=package.tenant_id, pk=package.activity_id
    )
    progress_services.complete_activity(actor=actor, enrollment=enrollment, activity=activity)
    return True


@transaction.atomic
def commit(
    *,
    actor: Actor,
    enrollment: Enrollment,
    item: Item,
    session_key: str,
    changes: list[tuple[str, Any]],
    finish: bool = False,
) -> Committed:
    """Store what a SCO set during its session (LMSCommit / Commit; with `finish`, LMSFinish /
    Terminate). Every change is replayed through the data model rules first; if one is refused
    nothing is stored (ValidationFailed naming each element and its error code). Conflict when
    the session has already ended (finished, or launched again elsewhere)."""
    package = _check(enrollment, item)
    state = _locked_state(enrollment, item)
    if not session_key or state.session_key != session_key:
        raise Conflict(
            _(
                "This session of “%(title)s” has ended (it was finished, or opened again in "
                "another window). Reload the page to continue."
            )
            % {"title": item.title}
        )
    version = package.version
    values = dict(state.data)
    problems = []
    strings = datamodel.error_strings(version)
    for element, value in changes:
        code = datamodel.set_value(version, values, str(element), value)
        if code:
            problems.append(
                FieldProblem(
                    _("%(element)s: error %(code)d, %(text)s")
                    % {"element": element, "code": code, "text": strings.get(code, "")},
                    field=str(element),
                )
            )
    if problems:
        raise ValidationFailed(
            _("Some values the content set are not valid; none were stored."), errors=problems
        )
    thresholds = _thresholds(item)
    if finish:
        values.update(rules.at_finish(version, values, thresholds))
    outcome = rules.outcome(version, values, thresholds)
    previous_success = state.success_status
    state.data = values
    state.completion_status = outcome.completion[:16]
    state.success_status = outcome.success
    if outcome.score_percent is not None:
        state.score_percent = outcome.score_percent
    now = clock.now()
    if finish:
        _end_session(state, version, item)
    state.save()
    if outcome.success in (rules.PASSED, rules.FAILED) and outcome.success != previous_success:
        analytics.record_event(
            tenant_id=enrollment.tenant_id,
            person_id=enrollment.person_id,
            verb=Verb.PASSED if outcome.success == rules.PASSED else Verb.FAILED,
            object_type="activity",
            object_id=package.activity_id,
            course_id=enrollment.course_id,
            value=outcome.score_percent,
            occurred_at=now,
            data={"enrollment_id": enrollment.pk, "kind": SCORM_KIND, "sco": item.identifier},
        )
    completed = False
    if outcome.satisfied and state.satisfied_at is None:
        completed = _satisfy(
            actor=actor, enrollment=enrollment, state=state, package=package, now=now
        )
    status, percent = (
        Enrollment.objects.filter(tenant_id=enrollment.tenant_id, pk=enrollment.pk)
        .values_list("status", "progress_percent")
        .get()
    )
    return Committed(
        state=state,
        outcome=outcome,
        activity_completed=completed,
        enrollment_status=status,
        progress_percent=percent,
    )
