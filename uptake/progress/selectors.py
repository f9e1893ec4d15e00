"""Reads of progress: scoped to one enrolment (and so to its tenant), N+1-safe."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Max, QuerySet

from uptake.catalog import selectors as catalog
from uptake.catalog.models import Activity, Question
from uptake.enrollment.models import Enrollment
from uptake.progress import rules
from uptake.progress.models import ActivityCompletion, Attempt


@dataclass(frozen=True)
class ActivityProgress:
    activity_id: int
    done: bool = False
    passed: bool = False
    attempts_used: int = 0
    attempts_left: int | None = None  # None = unlimited (or not a knowledge check)
    best_score: int | None = None


@dataclass(frozen=True)
class CourseProgress:
    enrollment: Enrollment
    percent: int
    status: str
    activities: dict[int, ActivityProgress] = field(default_factory=dict)  # activity id -> state

    @property
    def done_ids(self) -> set[int]:
        return {a for a, state in self.activities.items() if state.done}


def course_progress(*, enrollment: Enrollment) -> CourseProgress:
    """Per activity of the enrolment's course: done, passed, attempts used and left, best
    score. Three queries."""
    activities = list(
        Activity.objects.filter(
            tenant_id=enrollment.tenant_id, course_id=enrollment.course_id
        ).only("id", "kind", "attempts_allowed")
    )
    done = set(
        ActivityCompletion.objects.filter(
            tenant_id=enrollment.tenant_id, enrollment_id=enrollment.pk
        ).values_list("activity_id", flat=True)
    )
    attempt_stats = {
        row["activity_id"]: row
        for row in Attempt.objects.filter(
            tenant_id=enrollment.tenant_id, enrollment_id=enrollment.pk
        )
        .values("activity_id")
        .annotate(used=Count("id"), best=Max("score_percent"), passes=Count("id", filter=_passed()))
    }
    states: dict[int, ActivityProgress] = {}
    for activity in activities:
        stats = attempt_stats.get(activity.pk)
        used = stats["used"] if stats else 0
        is_quiz = activity.kind == Activity.Kind.QUIZ
        states[activity.pk] = ActivityProgress(
            activity_id=activity.pk,
            done=activity.pk in done,
            passed=bool(stats and stats["passes"]),
            attempts_used=used,
            attempts_left=rules.attempts_left(activity.attempts_allowed, used) if is_quiz else None,
            best_score=stats["best"] if stats else None,
        )
    return CourseProgress(
        enrollment=enrollment,
        percent=enrollment.progress_percent,
        status=enrollment.status,
        activities=states,
    )


def _passed():  # type: ignore[no-untyped-def]
    from django.db.models import Q

    return Q(passed=True)


def attempts_of(*, enrollment: Enrollment, activity: Activity) -> QuerySet[Attempt]:
    """The enrolment's attempts at a knowledge check, first to last."""
    return Attempt.objects.filter(
        tenant_id=enrollment.tenant_id, enrollment_id=enrollment.pk, activity_id=activity.pk
    ).order_by("number")


def attempts_used(*, enrollment: Enrollment, activity: Activity) -> int:
    return attempts_of(enrollment=enrollment, activity=activity).count()


def questions_for_attempt(
    *, enrollment: Enrollment, activity: Activity, attempt_number: int | None = None
) -> list[Question]:
    """The knowledge check's questions (choices prefetched) in the order shown for an attempt:
    the authored order, or, when the check shuffles, an order fixed by (enrolment, activity,
    attempt number). Without `attempt_number`, the next attempt's."""
    questions = catalog.questions_of(activity=activity)
    if not activity.shuffle_questions:
        return questions
    if attempt_number is None:
        attempt_number = attempts_used(enrollment=enrollment, activity=activity) + 1
    by_id = {q.pk: q for q in questions}
    order = rules.shuffled_order(
        by_id, enrollment_id=enrollment.pk, activity_id=activity.pk, attempt_number=attempt_number
    )
    return [by_id[pk] for pk in order]


def gradable(questions: list[Question]) -> list[rules.GradableQuestion]:
    """Questions (choices prefetched) as the grading rules see them."""
    return [
        rules.GradableQuestion(
            id=q.pk,
            kind=q.kind,
            points=q.points,
            choices=tuple(
                rules.GradableChoice(
                    id=c.pk, is_correct=c.is_correct, text=c.text, feedback=c.feedback
                )
                for c in q.choices.all()
            ),
            accepted_answers=tuple(str(a) for a in (q.accepted_answers or [])),
            correct_feedback=q.correct_feedback,
            incorrect_feedback=q.incorrect_feedback,
        )
        for q in questions
    ]
