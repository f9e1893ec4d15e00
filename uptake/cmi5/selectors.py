"""Reads of cmi5 content: always scoped to a tenant, N+1-safe."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from uptake.catalog.models import Activity, Course
from uptake.cmi5.models import AssignableUnit, AuResult, CourseStructure, Registration, Session
from uptake.core.errors import NotFound
from uptake.enrollment.models import Enrollment
from uptake.identity.context import Viewer
from uptake.scorm import selectors as scorm_selectors


def structures_of(*, course: Course) -> list[CourseStructure]:
    return list(
        CourseStructure.objects.filter(tenant_id=course.tenant_id, course=course)
        .prefetch_related("aus", "blocks")
        .order_by("created_at")
    )


def get_structure(*, tenant_id: int, structure_id: int) -> CourseStructure:
    found = (
        CourseStructure.objects.filter(tenant_id=tenant_id, pk=structure_id)
        .select_related("course")
        .first()
    )
    if found is None:
        raise NotFound(_("There is no cmi5 course %(id)s.") % {"id": structure_id})
    return found


def get_au(*, tenant_id: int, au_id: int) -> AssignableUnit:
    found = (
        AssignableUnit.objects.filter(tenant_id=tenant_id, pk=au_id)
        .select_related("structure", "activity")
        .first()
    )
    if found is None:
        raise NotFound(_("There is no cmi5 AU %(id)s.") % {"id": au_id})
    return found


def au_for_activity(*, activity: Activity) -> AssignableUnit | None:
    return (
        AssignableUnit.objects.filter(tenant_id=activity.tenant_id, activity_id=activity.pk)
        .select_related("structure")
        .first()
    )


def may_open_content(*, viewer: Viewer, structure: CourseStructure) -> bool:
    """Enrolled learners (any status but withdrawn) and the course's authors see its files."""
    return scorm_selectors.may_open_course_files(viewer=viewer, course=structure.course)


@dataclass(frozen=True)
class Player:
    au: AssignableUnit
    registration: Registration | None
    result: AuResult | None
    last_session: Session | None

    @property
    def satisfied(self) -> bool:
        return self.result is not None and self.result.satisfied_at is not None


def player(*, enrollment: Enrollment, activity: Activity) -> Player | None:
    """The AU behind a cmi5 activity with the enrolment's registration, result and latest
    session (None when the activity has no AU)."""
    au = au_for_activity(activity=activity)
    if au is None:
        return None
    registration = Registration.objects.filter(
        tenant_id=enrollment.tenant_id, enrollment=enrollment, structure_id=au.structure_id
    ).first()
    result = session = None
    if registration is not None:
        result = AuResult.objects.filter(
            tenant_id=enrollment.tenant_id, registration=registration, au=au
        ).first()
        session = (
            Session.objects.filter(tenant_id=enrollment.tenant_id, registration=registration, au=au)
            .order_by("-launched_at", "-pk")
            .first()
        )
    return Player(au=au, registration=registration, result=result, last_session=session)


def registration_of(*, enrollment: Enrollment, structure: CourseStructure) -> Registration | None:
    return Registration.objects.filter(
        tenant_id=enrollment.tenant_id, enrollment=enrollment, structure=structure
    ).first()
