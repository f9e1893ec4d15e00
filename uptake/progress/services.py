"""Writes of progress: open an activity, complete it, submit a knowledge-check attempt.

Each service locks the enrolment row (select_for_update) for the whole change, so two tabs or
double clicks cannot interleave (attempt numbers, completion). Learning events are written in
the same transaction; domain events are published on commit.

Withdrawn enrolments refuse progress. Completed enrolments stay completed: learners may open,
redo and retake, but nothing makes them regress.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from uptake.analytics import selectors as analytics_selectors
from uptake.analytics import services as analytics
from uptake.analytics.models import Verb
from uptake.catalog.models import Activity
from uptake.core import clock
from uptake.core.actor import Actor
from uptake.core.bus import publish
from uptake.core.errors import FieldProblem, NotFound, ValidationFailed
from uptake.enrollment.events import EnrollmentCompleted
from uptake.enrollment.models import Enrollment
from uptake.progress import rules
from uptake.progress import selectors as progress_selectors
from uptake.progress.events import ActivityCompleted, AttemptSubmitted
from uptake.progress.models import ActivityCompletion, Attempt

_SYNCED_FIELDS = (
    "status",
    "started_at",
    "completed_at",
    "last_activity_id",
    "last_activity_at",
    "progress_percent",
    "updated_at",
)


def _check_activity(enrollment: Enrollment, activity: Activity) -> None:
    if activity.tenant_id != enrollment.tenant_id or activity.course_id != enrollment.course_id:
        raise NotFound(_("There is no activity %(id)s in this course.") % {"id": activity.pk})


def _lock(enrollment: Enrollment) -> Enrollment:
    """The enrolment row, locked until the transaction ends; refuses a withdrawn one."""
    locked = (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("person")
        .get(pk=enrollment.pk, tenant_id=enrollment.tenant_id)
    )
    if locked.status == Enrollment.Status.WITHDRAWN:
        raise ValidationFailed(
            _(
                "This enrolment was withdrawn, so progress can no longer be recorded. Ask your "
                "manager or an admin to assign the course again."
            )
        )
    return locked


def _sync(source: Enrollment, target: Enrollment) -> None:
    """Keep the caller's instance in step with the saved row."""
    if source is target:
        return
    for name in _SYNCED_FIELDS:
        setattr(target, name, getattr(source, name))


def _event(
    enrollment: Enrollment,
    verb: str,
    *,
    now: dt.datetime,
    object_type: str = "activity",
    object_id: int | None = None,
    value: float | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    analytics.record_event(
        tenant_id=enrollment.tenant_id,
        person_id=enrollment.person_id,
        verb=verb,
        object_type=object_type,
        object_id=object_id,
        course_id=enrollment.course_id,
        value=value,
        occurred_at=now,
        data={"enrollment_id": enrollment.pk, **(data or {})},
    )


def _start(enrollment: Enrollment, now: dt.datetime) -> None:
    """First progress: assigned -> in progress."""
    if enrollment.status == Enrollment.Status.ASSIGNED:
        enrollment.status = Enrollment.Status.IN_PROGRESS
    if enrollment.started_at is None:
        enrollment.started_at = now


def _start_of_day(now: dt.datetime, time_zone: str) -> dt.datetime:
    try:
        tz: dt.tzinfo = zoneinfo.ZoneInfo(time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = dt.UTC
    local = now.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _record_active_session(enrollment: Enrollment, now: dt.datetime) -> None:
    """At most one "active_session" per person per day (the person's own day)."""
    since = _start_of_day(now, enrollment.person.time_zone)
    if analytics_selectors.has_event_since(
        tenant_id=enrollment.tenant_id,
        person_id=enrollment.person_id,
        verb=Verb.ACTIVE_SESSION,
        since=since,
    ):
        return
    analytics.record_event(
        tenant_id=enrollment.tenant_id,
        person_id=enrollment.person_id,
        verb=Verb.ACTIVE_SESSION,
        object_type="session",
        object_id=None,
        course_id=enrollment.course_id,
        occurred_at=now,
    )


def _mark_done(
    enrollment: Enrollment, activity: Activity, *, now: dt.datetime, data: dict[str, Any]
) -> bool:
    """Record the activity as done once; True when it is newly done."""
    _obj, created = ActivityCompletion.objects.get_or_create(
        enrollment=enrollment,
        activity=activity,
        defaults={"tenant_id": enrollment.tenant_id, "completed_at": now},
    )
    if created:
        _event(enrollment, Verb.ACTIVITY_COMPLETED, now=now, object_id=activity.pk, data=data)
        publish(
            ActivityCompleted(
                tenant_id=enrollment.tenant_id,
                enrollment_id=enrollment.pk,
                person_id=enrollment.person_id,
                course_id=enrollment.course_id,
                activity_id=activity.pk,
            )
        )
    return created


def _recompute(enrollment: Enrollment, *, now: dt.datetime) -> None:
    """Progress percent from the required activities, and completion when every required
    activity is done and every required knowledge check passed. Completed never regresses."""
    if enrollment.status == Enrollment.Status.COMPLETED:
        return
    required = list(
        Activity.objects.filter(
            tenant_id=enrollment.tenant_id, course_id=enrollment.course_id, required=True
        ).values_list("id", "kind")
    )
    required_ids = [pk for pk, _kind in required]
    quiz_ids = [pk for pk, kind in required if kind == Activity.Kind.QUIZ]
    done = set(
        ActivityCompletion.objects.filter(
            tenant_id=enrollment.tenant_id, enrollment_id=enrollment.pk
        ).values_list("activity_id", flat=True)
    )
    passed = set(
        Attempt.objects.filter(
            tenant_id=enrollment.tenant_id,
            enrollment_id=enrollment.pk,
            activity_id__in=quiz_ids,
            passed=True,
        ).values_list("activity_id", flat=True)
    )
    satisfied = {pk for pk in required_ids if (pk in passed if pk in quiz_ids else pk in done)}
    enrollment.progress_percent = rules.course_percent(len(satisfied), len(required_ids))
    if rules.is_course_complete(
        required_activity_ids=required_ids,
        done_activity_ids=done,
        required_quiz_ids=quiz_ids,
        passed_quiz_ids=passed,
    ):
        enrollment.status = Enrollment.Status.COMPLETED
        enrollment.completed_at = now
        enrollment.progress_percent = 100
        _event(
            enrollment,
            Verb.COURSE_COMPLETED,
            now=now,
            object_type="course",
            object_id=enrollment.course_id,
            value=100.0,
        )
        publish(
            EnrollmentCompleted(
                tenant_id=enrollment.tenant_id,
                enrollment_id=enrollment.pk,
                person_id=enrollment.person_id,
                course_id=enrollment.course_id,
                completed_at=now,
            )
        )


def _save(enrollment: Enrollment) -> None:
    enrollment.save(
        update_fields=[
            "status",
            "started_at",
            "completed_at",
            "last_activity",
            "last_activity_at",
            "progress_percent",
            "updated_at",
        ]
    )


@transaction.atomic
def open_activity(*, actor: Actor, enrollment: Enrollment, activity: Activity) -> Enrollment:
    """The learner opened an activity: remember it ("continue where I left off"), move a
    not-started enrolment to in progress, record "launched" (and the day's active session).

    NotFound for an activity of another course; ValidationFailed for a withdrawn enrolment."""
    _check_activity(enrollment, activity)
    locked = _lock(enrollment)
    now = clock.now()
    _start(locked, now)
    locked.last_activity = activity
    locked.last_activity_at = now
    _save(locked)
    _event(locked, Verb.LAUNCHED, now=now, object_id=activity.pk, data={"kind": activity.kind})
    _record_active_session(locked, now)
    _sync(locked, enrollment)
    return locked


@transaction.atomic
def complete_activity(*, actor: Actor, enrollment: Enrollment, activity: Activity) -> Enrollment:
    """Mark a (non-quiz) activity done (idempotent) and recompute the course's progress; the
    last required one completes the course (status, completed_at, "course_completed",
    EnrollmentCompleted). ValidationFailed for a knowledge check (pass it instead) or a
    withdrawn enrolment; NotFound for an activity of another course."""
    _check_activity(enrollment, activity)
    if activity.kind == Activity.Kind.QUIZ:
        raise ValidationFailed(
            _("A knowledge check is completed by passing it, not by marking it complete.")
        )
    locked = _lock(enrollment)
    now = clock.now()
    _start(locked, now)
    locked.last_activity = activity
    locked.last_activity_at = now
    _mark_done(locked, activity, now=now, data={"kind": activity.kind})
    _recompute(locked, now=now)
    _save(locked)
    _sync(locked, enrollment)
    return locked


# Kinds whose content reports its own completion (SCORM runtime, cmi5 "satisfied"): a learner
# cannot mark them complete by hand.
COMPLETED_BY_CONTENT = frozenset({"scorm", "cmi5"})


def mark_complete(*, actor: Actor, enrollment: Enrollment, activity: Activity) -> Enrollment:
    """A learner marks an activity done by hand (the player's button, the API):
    `complete_activity`, except for a knowledge check (passed by answering it) and content that
    reports its own completion (SCORM, cmi5): ValidationFailed."""
    if activity.kind in COMPLETED_BY_CONTENT:
        _check_activity(enrollment, activity)
        raise ValidationFailed(
            _("“%(title)s” is completed by the content itself, not by marking it complete.")
            % {"title": activity.title}
        )
    return complete_activity(actor=actor, enrollment=enrollment, activity=activity)


def _answer_problems(questions: list[Any], problems: rules.AnswerProblems) -> ValidationFailed:
    position = {q.pk: n for n, q in enumerate(questions, start=1)}
    errors = [
        FieldProblem(_("Question %(n)d is not answered.") % {"n": position[qid]}, field=str(qid))
        for qid in problems.unanswered
    ] + [
        FieldProblem(
            _("The answer to question %(n)d is not one of its choices.") % {"n": position[qid]},
            field=str(qid),
        )
        for qid in problems.invalid
    ]
    if problems.unanswered:
        numbers = ", ".join(str(position[qid]) for qid in problems.unanswered)
        detail = ngettext(
            "Answer every question before submitting: question %(numbers)s is not answered.",
            "Answer every question before submitting: questions %(numbers)s are not answered.",
            len(problems.unanswered),
        ) % {"numbers": numbers}
    else:
        detail = _("Some answers do not fit their question; please answer again.")
    return ValidationFailed(detail, errors=errors)


@transaction.atomic
def submit_attempt(
    *, actor: Actor, enrollment: Enrollment, activity: Activity, answers: dict[str, Any]
) -> Attempt:
    """Grade and keep one attempt at a knowledge check.

    `answers` is keyed by str(question id): a list of choice ids (single, multiple), "true" or
    "false" (true_false), text (short). The attempt number is attempts used + 1, taken under a
    lock on the enrolment. A pass counts towards course completion (the check is then done).
    Writes "attempt_submitted" and "passed"/"failed". ValidationFailed when no attempts are
    left, a question is unanswered (each one listed) or an answer does not fit its question,
    or the enrolment is withdrawn; NotFound for an activity of another course. The returned
    attempt's `enrollment` is the updated enrolment (percent, status)."""
    _check_activity(enrollment, activity)
    if activity.kind != Activity.Kind.QUIZ:
        raise ValidationFailed(_("Only a knowledge check takes answers."))
    locked = _lock(enrollment)
    used = progress_selectors.attempts_used(enrollment=locked, activity=activity)
    if not rules.can_attempt(activity.attempts_allowed, used):
        raise ValidationFailed(
            ngettext(
                "You have used your %(count)d attempt at “%(title)s”.",
                "You have used all %(count)d attempts at “%(title)s”.",
                activity.attempts_allowed,
            )
            % {"count": activity.attempts_allowed, "title": activity.title}
        )
    number = used + 1
    questions = progress_selectors.questions_for_attempt(
        enrollment=locked, activity=activity, attempt_number=number
    )
    specs = progress_selectors.gradable(questions)
    answers = {str(k): v for k, v in (answers or {}).items()}
    problems = rules.answer_problems(specs, answers)
    if problems:
        raise _answer_problems(questions, problems)
    result = rules.grade(specs, answers, pass_mark=activity.pass_mark)
    now = clock.now()
    attempt = Attempt.objects.create(
        tenant_id=locked.tenant_id,
        enrollment=locked,
        activity=activity,
        number=number,
        answers={str(q.pk): answers[str(q.pk)] for q in questions},
        results=result.results_as_dict(),
        score_percent=result.score_percent,
        passed=result.passed,
        submitted_at=now,
    )
    _start(locked, now)
    locked.last_activity = activity
    locked.last_activity_at = now
    data = {"attempt": number, "attempt_id": attempt.pk}
    _event(
        locked,
        Verb.ATTEMPT_SUBMITTED,
        now=now,
        object_id=activity.pk,
        value=float(result.score_percent),
        data=data,
    )
    _event(
        locked,
        Verb.PASSED if result.passed else Verb.FAILED,
        now=now,
        object_id=activity.pk,
        value=float(result.score_percent),
        data=data,
    )
    if result.passed:
        _mark_done(locked, activity, now=now, data={"kind": activity.kind, **data})
    _recompute(locked, now=now)
    _save(locked)
    publish(
        AttemptSubmitted(
            tenant_id=locked.tenant_id,
            enrollment_id=locked.pk,
            person_id=locked.person_id,
            course_id=locked.course_id,
            activity_id=activity.pk,
            attempt_id=attempt.pk,
            number=number,
            score_percent=result.score_percent,
            passed=result.passed,
        )
    )
    _sync(locked, enrollment)
    attempt.enrollment = locked
    return attempt


# --- Course outline changes --------------------------------------------------------------------


@transaction.atomic
def recompute_course(*, tenant_id: int, course_id: int) -> int:
    """Bring every open enrolment of a course in line with its current outline (an author
    added, removed or made optional a required activity): percent recomputed in bulk; an
    enrolment whose remaining requirements are now all met completes (with its event), exactly
    as if the learner had just finished. Completed and withdrawn ones are left alone. Returns
    how many enrolments changed."""
    from uptake.core import bulk

    open_rows = list(
        Enrollment.objects.filter(
            tenant_id=tenant_id,
            course_id=course_id,
            status__in=[Enrollment.Status.ASSIGNED, Enrollment.Status.IN_PROGRESS],
        ).values_list("pk", "progress_percent")
    )
    if not open_rows:
        return 0
    required = list(
        Activity.objects.filter(tenant_id=tenant_id, course_id=course_id, required=True)
        .order_by()
        .values_list("id", "kind")
    )
    quiz_ids = {pk for pk, kind in required if kind == Activity.Kind.QUIZ}
    other_ids = {pk for pk, _kind in required} - quiz_ids
    ids = [pk for pk, _percent in open_rows]
    satisfied: dict[int, set[int]] = {pk: set() for pk in ids}
    if other_ids:
        for enrollment_id, activity_id in bulk.rows_for(
            ActivityCompletion.objects.filter(tenant_id=tenant_id, activity_id__in=other_ids),
            "enrollment_id",
            ids,
            "enrollment_id",
            "activity_id",
            scan=False,
        ):
            satisfied[enrollment_id].add(activity_id)
    if quiz_ids:
        for enrollment_id, activity_id in bulk.rows_for(
            Attempt.objects.filter(tenant_id=tenant_id, activity_id__in=quiz_ids, passed=True),
            "enrollment_id",
            ids,
            "enrollment_id",
            "activity_id",
            scan=False,
        ):
            satisfied[enrollment_id].add(activity_id)
    total = len(required)
    now = clock.now()
    changed: list[tuple[int, list[Any]]] = []
    now_complete: list[int] = []
    for pk, percent in open_rows:
        if total and len(satisfied[pk]) == total:
            now_complete.append(pk)
            continue
        new = rules.course_percent(len(satisfied[pk]), total)
        if new != percent:
            changed.append((pk, [new, now]))
    bulk.update_rows(Enrollment, ["progress_percent", "updated_at"], changed)
    for pk in now_complete:  # rare: the usual per-enrolment path, locked, with its events
        enrollment = _lock(Enrollment.objects.get(pk=pk))
        _recompute(enrollment, now=now)
        _save(enrollment)
    return len(changed) + len(now_complete)
