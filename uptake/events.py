"""The whole reactive graph on one screen: domain event -> handlers (run on commit, in order).

Handlers are one service call each; slow or external work is enqueued as a task.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from uptake.analytics import handlers as analytics
from uptake.assignments import handlers as assignments
from uptake.audiences import handlers as audiences
from uptake.audiences.events import AudienceMembershipChanged
from uptake.catalog.events import CourseUpdated
from uptake.enrollment.events import (
    EnrollmentCompleted,
    EnrollmentDueDateChanged,
    EnrollmentWithdrawn,
)
from uptake.nudges import handlers as nudges
from uptake.paths import handlers as paths
from uptake.paths.events import PathStepsChanged, PathStepUnlocked
from uptake.people.events import PeopleImported, PersonChanged, PersonCreated, PersonDeactivated
from uptake.progress import handlers as progress

SUBSCRIPTIONS: dict[type, list[Callable[[Any], None]]] = {
    PersonCreated: [audiences.on_person_created],
    PersonChanged: [audiences.on_person_changed, analytics.on_person_changed],
    PersonDeactivated: [audiences.on_person_deactivated, analytics.on_person_deactivated],
    PeopleImported: [audiences.on_people_imported, analytics.on_people_imported],
    AudienceMembershipChanged: [assignments.apply_membership_change],
    EnrollmentCompleted: [paths.announce_unlocked_steps],
    PathStepsChanged: [assignments.reapply_path_assignments],
    CourseUpdated: [progress.on_course_updated],
    PathStepUnlocked: [nudges.remember_unlocked_step],
    EnrollmentDueDateChanged: [nudges.update_calendar_invite],
    EnrollmentWithdrawn: [nudges.cancel_calendar_invite],
}
