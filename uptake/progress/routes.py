"""The progress API (/api/v1/progress): a learner completes activities and submits knowledge
checks in their own enrolments. Another person's or organisation's enrolment answers 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from uptake.catalog import selectors as catalog
from uptake.catalog.models import Activity
from uptake.core.errors import NotFound
from uptake.enrollment import selectors as enrolments
from uptake.enrollment.models import Enrollment
from uptake.identity.context import Viewer, viewer_for
from uptake.progress import rules, selectors, services

router = Router()


class EnrollmentStateOut(Schema):
    id: int
    status: str
    progress_percent: int
    started_at: dt.datetime | None
    completed_at: dt.datetime | None


class ActivityStateOut(Schema):
    activity_id: int
    done: bool
    passed: bool
    attempts_used: int
    attempts_left: int | None
    best_score: int | None


class CourseProgressOut(Schema):
    enrollment: EnrollmentStateOut
    activities: list[ActivityStateOut]


class AnswersIn(Schema):
    answers: dict[str, Any]


class QuestionResultOut(Schema):
    question_id: int
    correct: bool
    feedback: str


class AttemptOut(Schema):
    id: int
    number: int
    score_percent: int
    passed: bool
    submitted_at: dt.datetime
    results: list[QuestionResultOut]
    attempts_left: int | None
    enrollment: EnrollmentStateOut


def _own(viewer: Viewer, enrollment_id: int) -> Enrollment:
    enrollment = enrolments.get_enrollment(tenant_id=viewer.tenant_id, enrollment_id=enrollment_id)
    # Another person's enrolment is "not found", so ids cannot be probed.
    if enrollment.person_id != viewer.person.pk:
        raise NotFound(f"There is no enrolment {enrollment_id}.")
    return enrollment


def _activity(viewer: Viewer, activity_id: int) -> Activity:
    return catalog.get_activity(tenant_id=viewer.tenant_id, activity_id=activity_id)


@router.get("/enrollments/{int:enrollment_id}", response=CourseProgressOut)
def course_progress(request: HttpRequest, enrollment_id: int) -> Any:
    """My progress in one enrolment, per activity."""
    viewer = viewer_for(request)
    result = selectors.course_progress(enrollment=_own(viewer, enrollment_id))
    return {"enrollment": result.enrollment, "activities": list(result.activities.values())}


@router.post(
    "/enrollments/{int:enrollment_id}/activities/{int:activity_id}/complete",
    response=EnrollmentStateOut,
)
def complete_activity(request: HttpRequest, enrollment_id: int, activity_id: int) -> Any:
    """Mark an activity complete by hand (not a knowledge check, not SCORM or cmi5 content,
    which complete themselves); returns the enrolment's new state."""
    viewer = viewer_for(request)
    return services.mark_complete(
        actor=viewer.actor,
        enrollment=_own(viewer, enrollment_id),
        activity=_activity(viewer, activity_id),
    )


@router.post(
    "/enrollments/{int:enrollment_id}/activities/{int:activity_id}/attempts",
    response={201: AttemptOut},
)
def submit_attempt(
    request: HttpRequest, enrollment_id: int, activity_id: int, payload: AnswersIn
) -> Any:
    """Submit answers to a knowledge check (keyed by question id: a list of choice ids,
    "true"/"false", or text). Returns the score, pass, feedback per question, attempts left and
    the enrolment's new percent and status."""
    viewer = viewer_for(request)
    activity = _activity(viewer, activity_id)
    attempt = services.submit_attempt(
        actor=viewer.actor,
        enrollment=_own(viewer, enrollment_id),
        activity=activity,
        answers=payload.answers,
    )
    return 201, {
        "id": attempt.pk,
        "number": attempt.number,
        "score_percent": attempt.score_percent,
        "passed": attempt.passed,
        "submitted_at": attempt.submitted_at,
        "results": [
            {"question_id": int(qid), "correct": r["correct"], "feedback": r["feedback"]}
            for qid, r in attempt.results.items()
        ],
        "attempts_left": rules.attempts_left(activity.attempts_allowed, attempt.number),
        "enrollment": attempt.enrollment,
    }
