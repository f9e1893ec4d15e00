"""Writes of cmi5 content: import a course structure, launch an AU, hand out the session's
xAPI token (fetch URL), and react to the statements an AU sends.

Import is all or nothing: the upload (package.py) and cmi5.xml (structure.py) are checked
before anything is stored; zip members go to a fresh folder, then the rows (a module of "cmi5"
activities, blocks, AUs) are written in one transaction; any failure deletes the new files.

Launch follows section 8 and 10 of the specification: a registration per learner and course
structure, an open session of the registration is abandoned (statement), a new session with a
one-time fetch token, the LMS.LaunchData state document, the "launched" statement, and the AU
URL with endpoint, fetch, actor, registration and activityId. The statements the LMS writes go
through the record store (`uptake.xapi.services`) under the tenant's cmi5 LMS credential.

While the AU runs, its statements (sent with the session's credential) are checked against the
cmi5 rules (rules.check_all; refused: PermissionDenied, 403, nothing stored); accepted ones move
the session and the AU result on, and moveOn satisfied completes the Uptake activity
(`progress.services.complete_activity`) and writes "satisfied" for blocks and the course.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from uptake.analytics import services as analytics
from uptake.analytics.models import Verb
from uptake.catalog import services as catalog_services
from uptake.catalog.models import Course
from uptake.catalog.rules import safe_filename
from uptake.cmi5 import package, rules, structure
from uptake.cmi5.models import (
    AssignableUnit,
    AuResult,
    Block,
    CourseStructure,
    Registration,
    Session,
)
from uptake.core import clock
from uptake.core.actor import Actor
from uptake.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from uptake.enrollment.models import Enrollment
from uptake.people.models import Person
from uptake.progress import services as progress_services
from uptake.xapi import rules as xapi_rules
from uptake.xapi import services as xapi
from uptake.xapi.models import Credential, Document

logger = logging.getLogger(__name__)

CMI5_KIND = "cmi5"
SESSION_KEY_PREFIX = "c5_"  # xAPI credentials handed out by a fetch URL (one per session)
LMS_KEY_PREFIX = "c5lms_"  # the tenant's credential for the statements the LMS writes


# --- identifiers ---------------------------------------------------------------------------------


def _base() -> str:
    return str(settings.UPTAKE_BASE_URL).rstrip("/")


def au_activity_id(au: AssignableUnit) -> str:
    """The LMS's activity id of an AU (never the publisher's id, 8.1.5); the same for every
    registration."""
    return f"{_base()}/cmi5/aus/{au.pk}"


def block_object_id(block: Block) -> str:
    return f"{_base()}/cmi5/blocks/{block.pk}"


def course_object_id(cs: CourseStructure) -> str:
    return f"{_base()}/cmi5/courses/{cs.pk}"


def actor_for(person: Person) -> dict[str, Any]:
    """The learner as an xAPI Agent: an account on Uptake named by the employee id (no name or
    email: the AU need not see personal data)."""
    return {
        "objectType": "Agent",
        "account": {"homePage": _base(), "name": person.employee_id or f"person-{person.pk}"},
    }


def is_session_credential(credential: Credential) -> bool:
    return credential.key.startswith(SESSION_KEY_PREFIX)


def lms_credential(tenant_id: int) -> Credential:
    """The credential (authority) of the statements Uptake writes as the cmi5 LMS. Its secret is
    never known to anyone: it is only used inside the process."""
    key = f"{LMS_KEY_PREFIX}{tenant_id}"
    found = Credential.objects.filter(key=key).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Credential.objects.create(
                tenant_id=tenant_id,
                name="Uptake cmi5 LMS",
                key=key,
                secret_hash=xapi.hash_secret(secrets.token_hex(32)),
                can_read=False,
                can_write=False,
            )
    except IntegrityError:
        return Credential.objects.get(key=key)


def _write_statements(tenant_id: int, statements: list[dict[str, Any]]) -> None:
    xapi.store_statements(
        actor=Actor.system("cmi5"), credential=lms_credential(tenant_id), statements=statements
    )


# --- import --------------------------------------------------------------------------------------


def _title(text: structure.Text, fallback: str) -> str:
    return (text.default or fallback).strip()[:200] or fallback[:200]


@dataclass(frozen=True)
class Imported:
    structure: CourseStructure
    aus: list[AssignableUnit]


def import_structure(*, actor: Actor, course: Course, upload: Any) -> Imported:
    """Import a cmi5 course package (cmi5.xml, or a zip with cmi5.xml at its root and the AU
    files) into `course` as a new module whose activities are the AUs, in order. All or
    nothing: ValidationFailed lists every problem; Conflict when the same cmi5 course (id) is
    already in this course; PermissionDenied for someone who cannot edit the course."""
    if not catalog_services.can_edit(actor=actor, course=course):
        raise PermissionDenied(
            _(
                "You cannot change “%(title)s”: content owners edit the courses they own, "
                "platform admins edit any course."
            )
            % {"title": course.title}
        )
    opened = package.open_upload(upload)
    try:
        try:
            parsed = structure.parse(opened.xml, opened.files)
        except structure.StructureInvalid as exc:
            raise package.refuse(
                exc.problems, _("The cmi5 course was not imported: its cmi5.xml is not valid.")
            ) from None
        if CourseStructure.objects.filter(
            tenant_id=course.tenant_id, course=course, publisher_id=parsed.id
        ).exists():
            raise Conflict(
                _(
                    "The cmi5 course “%(id)s” is already imported into “%(course)s”: delete its "
                    "module first to import it again."
                )
                % {"id": parsed.id, "course": course.title}
            )
        directory = f"cmi5/{course.tenant_id}/{uuid.uuid4().hex}"
        written: list[str] = []
        if opened.zip is not None:
            written = package.extract(opened, directory)
        try:
            xml_name = default_storage.save(
                f"{directory}/_structure/{safe_filename(upload.name or 'cmi5.xml')}",
                ContentFile(opened.xml),
            )
            written.append(xml_name)
            with transaction.atomic():
                imported = _save(
                    actor=actor,
                    course=course,
                    parsed=parsed,
                    opened=opened,
                    directory=directory,
                    xml_name=xml_name,
                    original=os.path.basename(upload.name or "")[:255],
                )
        except BaseException:
            package.delete_files(written, directory)
            raise
    finally:
        if opened.zip is not None:
            opened.zip.close()
    return imported


def _save(
    *,
    actor: Actor,
    course: Course,
    parsed: structure.CourseStructure,
    opened: package.Upload,
    directory: str,
    xml_name: str,
    original: str,
) -> Imported:
    module = catalog_services.add_module(
        actor=actor, course=course, title=_title(parsed.title, "cmi5 course")
    )
    cs = CourseStructure.objects.create(
        tenant_id=course.tenant_id,
        course=course,
        module=module,
        publisher_id=parsed.id,
        title=_title(parsed.title, "cmi5 course"),
        description=parsed.description.default,
        storage_dir=directory,
        files=sorted(opened.files or []),
        xml=opened.xml.decode("utf-8", errors="replace"),
        original_name=original,
        imported_by_id=actor.person_id,
    )
    now = clock.now()
    blocks: dict[str, Block] = {}
    for position, spec in enumerate(parsed.blocks):
        blocks[spec.id] = Block.objects.create(
            tenant_id=course.tenant_id,
            structure=cs,
            parent=blocks.get(spec.parent),
            publisher_id=spec.id,
            title=_title(spec.title, spec.id),
            description=spec.description.default,
            position=position,
        )
    activities = catalog_services.add_activities(
        actor=actor,
        module=module,
        kind=CMI5_KIND,
        items=[(_title(a.title, a.id), a.description.default) for a in parsed.aus],
        # The imported cmi5.xml is the activities' file: what "has content" means to the
        # catalogue's publish check (as a SCORM activity's zip).
        file=xml_name,
    )
    aus = AssignableUnit.objects.bulk_create(
        [
            AssignableUnit(
                tenant_id=course.tenant_id,
                structure=cs,
                block=blocks.get(au_spec.block),
                activity=activity,
                publisher_id=au_spec.id,
                title=_title(au_spec.title, au_spec.id),
                description=au_spec.description.default,
                url=au_spec.url,
                is_local=au_spec.relative,
                launch_method=au_spec.launch_method,
                move_on=au_spec.move_on,
                mastery_score=au_spec.mastery_score,
                launch_parameters=au_spec.launch_parameters,
                entitlement_key=au_spec.entitlement_key,
                activity_type=au_spec.activity_type,
                position=position,
                created_at=now,
                updated_at=now,
            )
            for position, (au_spec, activity) in enumerate(zip(parsed.aus, activities, strict=True))
        ]
    )
    return Imported(structure=cs, aus=aus)


# --- launch --------------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Launched:
    session: Session
    url: str  # the AU's URL with the cmi5 launch parameters
    launch_method: str


def content_path(cs: CourseStructure, url: str) -> str:
    """Where a package file of the AU is served (same origin), query and fragment kept."""
    parts = urlsplit(url)
    path = structure.relative_path(url)
    return urlunsplit(("", "", f"/cmi5/content/{cs.pk}/{quote(path, safe='/')}", parts.query, ""))


def _lock_registration(enrollment: Enrollment, cs: CourseStructure) -> tuple[Registration, bool]:
    rows = Registration.objects.select_for_update().filter(
        tenant_id=enrollment.tenant_id, structure=cs, enrollment=enrollment
    )
    found = rows.first()
    if found is not None:
        return found, False
    try:
        with transaction.atomic():
            created = Registration.objects.create(
                tenant_id=enrollment.tenant_id,
                structure=cs,
                enrollment=enrollment,
                registration=uuid.uuid4(),
            )
        return rows.get(pk=created.pk), True
    except IntegrityError:
        return rows.get(), False


def _check_launch(enrollment: Enrollment, au: AssignableUnit) -> None:
    if au.tenant_id != enrollment.tenant_id or au.structure.course_id != enrollment.course_id:
        raise NotFound(_("There is no cmi5 AU %(id)s in this course.") % {"id": au.pk})
    if enrollment.status == Enrollment.Status.WITHDRAWN:
        raise ValidationFailed(
            _("This enrolment was withdrawn, so progress can no longer be recorded.")
        )


@transaction.atomic
def launch(
    *,
    actor: Actor,
    enrollment: Enrollment,
    au: AssignableUnit,
    server_url: str,
    return_url: str,
    mode: str = rules.NORMAL,
) -> Launched:
    """Start a session of the AU for the enrolment's learner; `server_url` (scheme and host the
    learner's browser uses) makes the endpoint, fetch and package URLs. Review and Browse modes
    record no result."""
    if mode not in (rules.NORMAL, rules.BROWSE, rules.REVIEW):
        raise ValidationFailed(_("launchMode must be Normal, Browse or Review."))
    _check_launch(enrollment, au)
    cs = au.structure
    registration, created = _lock_registration(enrollment, cs)
    now = clock.now()
    person = enrollment.person
    agent = actor_for(person)
    reg = str(registration.registration)
    if created:
        # 9.6.1: moveOn is evaluated at registration (NotApplicable AUs are satisfied now).
        _evaluate(actor=actor, registration=registration, session_id=str(uuid.uuid4()), now=now)
    for old in (
        Session.objects.select_for_update()
        .filter(
            tenant_id=registration.tenant_id,
            registration=registration,
            terminated_at__isnull=True,
            abandoned_at__isnull=True,
        )
        .select_related("au")
    ):
        _abandon(old, agent=agent, registration=reg, now=now)
    token = secrets.token_urlsafe(32)
    session = Session.objects.create(
        tenant_id=registration.tenant_id,
        registration=registration,
        au=au,
        session_id=uuid.uuid4(),
        launch_mode=mode,
        fetch_hash=_hash(token),
        launched_at=now,
    )
    server = server_url.rstrip("/")
    activity_id = au_activity_id(au)
    au_url = f"{server}{content_path(cs, au.url)}" if au.is_local else au.url
    launch_url = au_url.split("?", 1)[0].split("#", 1)[0]
    mastery = float(au.mastery_score) if au.mastery_score is not None else None
    document = rules.launch_data(
        publisher_id=au.publisher_id,
        session_id=str(session.session_id),
        launch_mode=mode,
        move_on=au.move_on,
        return_url=return_url,
        mastery_score=mastery,
        launch_parameters=au.launch_parameters,
        entitlement_key=au.entitlement_key,
    )
    xapi.save_document(
        actor=actor,
        tenant_id=registration.tenant_id,
        key=xapi.DocumentKey(
            kind=Document.Kind.STATE,
            activity_id=activity_id,
            agent_key=xapi_rules.agent_key(agent),
            registration=reg,
            document_id=rules.LAUNCH_DATA,
        ),
        content=json.dumps(document).encode(),
        content_type="application/json",
        merge=False,
    )
    _write_statements(
        registration.tenant_id,
        [
            rules.launched_statement(
                actor=agent,
                activity_id=activity_id,
                publisher_id=au.publisher_id,
                registration=reg,
                session_id=str(session.session_id),
                launch_mode=mode,
                launch_url=launch_url,
                move_on=au.move_on,
                mastery_score=mastery,
                launch_parameters=au.launch_parameters,
                when=now,
            )
        ],
    )
    if mode == rules.NORMAL:
        analytics.record_event(
            tenant_id=enrollment.tenant_id,
            person_id=enrollment.person_id,
            verb=Verb.LAUNCHED,
            object_type="activity",
            object_id=au.activity_id,
            course_id=enrollment.course_id,
            occurred_at=now,
            data={"enrollment_id": enrollment.pk, "kind": CMI5_KIND},
        )
    params = {
        "endpoint": f"{server}/xapi/",
        "fetch": f"{server}/cmi5/fetch/{token}",
        "actor": json.dumps(agent, separators=(",", ":")),
        "registration": reg,
        "activityId": activity_id,
    }
    parts = urlsplit(au_url)
    # 13.1.4: a query string of the AU's url is merged with the launch parameters.
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    url = urlunsplit(
        (
            parts.scheme,
            parts.netloc,
            parts.path,
            urlencode([*query, *params.items()]),
            parts.fragment,
        )
    )
    return Launched(session=session, url=url, launch_method=au.launch_method)


def _abandon(
    session: Session, *, agent: dict[str, Any], registration: str, now: dt.datetime
) -> None:
    """9.3.6: a session still open at the next launch ends as abandoned; its token stops
    working."""
    last = session.last_statement_at or session.launched_at
    session.abandoned_at = now
    session.save(update_fields=["abandoned_at", "updated_at"])
    if session.credential_id is not None:
        Credential.objects.filter(pk=session.credential_id).update(revoked_at=now)
    _write_statements(
        session.tenant_id,
        [
            rules.abandoned_statement(
                actor=agent,
                activity_id=au_activity_id(session.au),
                publisher_id=session.au.publisher_id,
                registration=registration,
                session_id=str(session.session_id),
                seconds=(last - session.launched_at).total_seconds(),
                when=now,
            )
        ],
    )


# --- fetch URL -----------------------------------------------------------------------------------


class FetchRefused(DomainError):
    """8.2.3: answered with HTTP 200 and {"error-code", "error-text"}."""

    status = 200
    code = "cmi5-fetch"

    def __init__(self, error_code: int, detail: str) -> None:
        super().__init__(detail)
        self.error_code = error_code


SESSION_HOURS = 24  # a session's token stops working this long after launch, whatever happens


@transaction.atomic
def fetch_token(*, token: str) -> str:
    """The session's authorization token (base64 of an xAPI key and secret), once. A second
    call, an ended or expired session: FetchRefused(1); an unknown token: FetchRefused(2)."""
    session = (
        Session.objects.select_for_update()
        .filter(fetch_hash=_hash(token or ""))
        .select_related("registration")
        .first()
    )
    if session is None:
        raise FetchRefused(2, _("This fetch URL is not valid."))
    now = clock.now()
    if session.fetched_at is not None:
        raise FetchRefused(1, _("The authorization token has already been returned."))
    if not session.open or now - session.launched_at > dt.timedelta(hours=SESSION_HOURS):
        raise FetchRefused(1, _("This AU session has ended; launch the AU again."))
    secret = secrets.token_hex(24)
    credential = Credential.objects.create(
        tenant_id=session.tenant_id,
        name=f"cmi5 session {session.session_id}",
        key=SESSION_KEY_PREFIX + secrets.token_hex(12),
        secret_hash=xapi.hash_secret(secret),
        can_read=True,
        can_write=True,
    )
    session.fetched_at = now
    session.credential = credential
    session.save(update_fields=["fetched_at", "credential", "updated_at"])
    return base64.b64encode(f"{credential.key}:{secret}".encode()).decode()


# --- statements from the AU ----------------------------------------------------------------------


def session_for(credential: Credential) -> Session | None:
    return (
        Session.objects.filter(tenant_id=credential.tenant_id, credential=credential)
        .select_related("registration", "registration__enrollment__person", "au")
        .first()
    )


def _view(session: Session, result: AuResult | None) -> rules.SessionView:
    au = session.au
    return rules.SessionView(
        actor=actor_for(session.registration.enrollment.person),
        activity_id=au_activity_id(au),
        publisher_id=au.publisher_id,
        registration=str(session.registration.registration),
        session_id=str(session.session_id),
        launch_mode=session.launch_mode,
        mastery_score=float(au.mastery_score) if au.mastery_score is not None else None,
        initialized=session.initialized_at is not None,
        terminated=session.terminated_at is not None,
        abandoned=session.abandoned_at is not None,
        session_verbs=frozenset(session.verbs),
        completed=result is not None and result.completed_at is not None,
        passed=result is not None and result.passed_at is not None,
    )


def _result(session: Session) -> AuResult:
    rows = AuResult.objects.select_for_update().filter(
        tenant_id=session.tenant_id, registration=session.registration, au=session.au
    )
    found = rows.first()
    if found is None:
        AuResult.objects.get_or_create(
            tenant_id=session.tenant_id, registration=session.registration, au=session.au
        )
        found = rows.get()
    return found


def statements_received(
    *, actor: Actor, credential: Credential, statements: list[dict[str, Any]]
) -> None:
    """Check and apply the statements an AU sent with its session's credential (called by the
    record store inside the transaction that stores them). PermissionDenied (403) when one
    breaks the cmi5 rules: the whole request is refused and nothing is stored."""
    found = session_for(credential)
    if found is None:
        raise PermissionDenied(_("This credential belongs to no cmi5 session."))
    session = (
        Session.objects.select_for_update()
        .select_related("registration", "registration__enrollment__person", "au", "au__structure")
        .get(pk=found.pk)
    )
    result = _result(session)
    view = _view(session, result)
    if clock.now() - session.launched_at > dt.timedelta(hours=SESSION_HOURS):
        raise PermissionDenied(_("This AU session has expired; launch the AU again."))
    refused = rules.check_all(statements, view)
    if refused is not None:
        n, reason = refused
        where = f"statement {n}: " if len(statements) > 1 else ""
        raise PermissionDenied(where + reason)
    now = clock.now()
    enrollment = session.registration.enrollment
    for st in statements:
        view = rules.apply(st, view)
        verb = st["verb"]["id"]
        if not rules.is_cmi5_defined(st):
            continue
        if verb == rules.INITIALIZED:
            session.initialized_at = now
        elif verb == rules.TERMINATED:
            session.terminated_at = now
        elif verb == rules.COMPLETED:
            result.completed_at = now
        elif verb in (rules.PASSED, rules.FAILED):
            scaled = ((st.get("result") or {}).get("score") or {}).get("scaled")
            if scaled is not None:
                result.score_scaled = float(scaled)
            if verb == rules.PASSED:
                result.passed_at = now
            else:
                result.failed_at = now
            analytics.record_event(
                tenant_id=enrollment.tenant_id,
                person_id=enrollment.person_id,
                verb=Verb.PASSED if verb == rules.PASSED else Verb.FAILED,
                object_type="activity",
                object_id=session.au.activity_id,
                course_id=enrollment.course_id,
                value=round(float(scaled) * 100, 2) if scaled is not None else None,
                occurred_at=now,
                data={"enrollment_id": enrollment.pk, "kind": CMI5_KIND},
            )
    session.verbs = sorted(view.session_verbs)
    session.last_statement_at = now
    session.save(
        update_fields=[
            "initialized_at",
            "terminated_at",
            "verbs",
            "last_statement_at",
            "updated_at",
        ]
    )
    result.save()
    _evaluate(
        # The learner's progress moves on their behalf (the record store's actor is the token).
        actor=Actor.person(enrollment.person_id, label=actor.label),
        registration=session.registration,
        session_id=str(session.session_id),
        now=now,
    )


def _evaluate(
    *, actor: Actor, registration: Registration, session_id: str, now: dt.datetime
) -> None:
    """Apply moveOn to every AU of the registration's course structure: newly satisfied AUs
    complete their Uptake activity; newly satisfied blocks and the course get a "satisfied"
    statement (in the session that caused it, 9.3.9)."""
    cs = registration.structure
    aus = list(
        AssignableUnit.objects.filter(tenant_id=cs.tenant_id, structure=cs).select_related(
            "activity"
        )
    )
    results = {
        r.au_id: r
        for r in AuResult.objects.select_for_update().filter(
            tenant_id=cs.tenant_id, registration=registration
        )
    }
    enrollment = registration.enrollment
    satisfied: set[int] = set()
    for au in aus:
        res = results.get(au.pk)
        met = rules.move_on_met(
            au.move_on,
            completed=res is not None and res.completed_at is not None,
            passed=res is not None and res.passed_at is not None,
        )
        if not met:
            continue
        satisfied.add(au.pk)
        if res is None:
            res = AuResult.objects.create(tenant_id=cs.tenant_id, registration=registration, au=au)
        if res.satisfied_at is None:
            res.satisfied_at = now
            res.save(update_fields=["satisfied_at", "updated_at"])
            if enrollment.status != Enrollment.Status.WITHDRAWN:
                progress_services.complete_activity(
                    actor=actor, enrollment=enrollment, activity=au.activity
                )
    blocks = list(Block.objects.filter(tenant_id=cs.tenant_id, structure=cs))
    done_blocks = rules.satisfied_blocks(
        {b.pk: b.parent_id for b in blocks}, {au.pk: au.block_id for au in aus}, satisfied
    )
    agent = actor_for(enrollment.person)
    reg = str(registration.registration)
    statements = []
    already = set(registration.satisfied_blocks)
    for block in blocks:
        if block.pk in done_blocks and block.pk not in already:
            statements.append(
                rules.satisfied_statement(
                    actor=agent,
                    object_id=block_object_id(block),
                    object_type=rules.TYPE_BLOCK,
                    name={"und": block.title},
                    publisher_id=block.publisher_id,
                    registration=reg,
                    session_id=session_id,
                    when=now,
                )
            )
            already.add(block.pk)
    top_done = (
        bool(aus)
        and all((au.pk in satisfied) for au in aus if au.block_id is None)
        and all(b.pk in done_blocks for b in blocks if b.parent_id is None)
    )
    course_now = top_done and registration.course_satisfied_at is None
    if course_now:
        statements.append(
            rules.satisfied_statement(
                actor=agent,
                object_id=course_object_id(cs),
                object_type=rules.TYPE_COURSE,
                name={"und": cs.title},
                publisher_id=cs.publisher_id,
                registration=reg,
                session_id=session_id,
                when=now,
            )
        )
        registration.course_satisfied_at = now
    if statements:
        registration.satisfied_blocks = sorted(already)
        registration.save(update_fields=["satisfied_blocks", "course_satisfied_at", "updated_at"])
        _write_statements(cs.tenant_id, statements)


# --- housekeeping --------------------------------------------------------------------------------


def sweep_orphaned_files(*, actor: Actor, min_age_seconds: int = 86_400) -> int:
    """Delete package folders no course structure points to any more (its module was deleted,
    or an import crashed); folders younger than `min_age_seconds` are left alone, since an
    import writes its files before its rows. Returns how many folders were deleted."""
    referenced = set(CourseStructure.objects.values_list("storage_dir", flat=True))
    now = clock.now()
    deleted = 0
    try:
        tenants, _files = default_storage.listdir("cmi5")
    except (FileNotFoundError, NotImplementedError):
        return 0
    for tenant_dir in tenants:
        folders, _files = default_storage.listdir(f"cmi5/{tenant_dir}")
        for folder in folders:
            directory = f"cmi5/{tenant_dir}/{folder}"
            if directory in referenced:
                continue
            if (
                now - default_storage.get_modified_time(directory)
            ).total_seconds() < min_age_seconds:
                continue
            package.delete_files([], directory)
            deleted += 1
    if deleted:
        logger.info("Deleted %d orphaned cmi5 package folders", deleted)
    return deleted
