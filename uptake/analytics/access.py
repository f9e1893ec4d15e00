"""Who may see which numbers: the viewer's scope.

Platform admins, data stewards and business sponsors see the whole organisation; managers see
their team (everyone below them) and nothing else; learners see no analytics. Ids of another
organisation, or outside a manager's team, answer 404 as if they did not exist.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _

from uptake.analytics.selectors import Scope, with_team
from uptake.core.errors import FieldProblem, NotFound, PermissionDenied, ValidationFailed
from uptake.identity.context import Viewer
from uptake.people import rules as people_rules

ANALYSTS = (
    people_rules.PLATFORM_ADMIN,
    people_rules.DATA_STEWARD,
    people_rules.BUSINESS_SPONSOR,
)
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def can_see_analytics(viewer: Viewer) -> bool:
    return viewer.has(*ANALYSTS, people_rules.MANAGER)


def is_analyst(viewer: Viewer) -> bool:
    return viewer.has(*ANALYSTS)


def scope_for(
    *,
    viewer: Viewer,
    manager_id: int | None = None,
    audience_id: int | None = None,
    department: str | None = None,
    location: str | None = None,
    hire_month: str | None = None,
    course_id: int | None = None,
    path_id: int | None = None,
) -> Scope:
    """The scope the viewer asked for, narrowed to what they may see; PermissionDenied for a
    learner, NotFound for an id outside the organisation (or the manager's team),
    ValidationFailed for a malformed hire month."""
    from uptake.audiences.models import Audience
    from uptake.catalog.models import Course
    from uptake.paths.models import LearningPath
    from uptake.people.models import Person
    from uptake.people.selectors import is_in_team

    if not can_see_analytics(viewer):
        raise PermissionDenied(
            _(
                "Adoption analytics are for platform admins, data stewards, business sponsors "
                "and managers."
            )
        )
    tenant_id = viewer.tenant_id
    if hire_month is not None and not _MONTH.match(hire_month):
        raise ValidationFailed(
            _("The hire month must be written YYYY-MM, e.g. 2025-03."),
            errors=[FieldProblem(_("Write it as YYYY-MM."), field="hire_month")],
        )

    def exists(model: Any, pk: int | None, what: str) -> None:
        if pk is not None and not model.objects.filter(tenant_id=tenant_id, pk=pk).exists():
            raise NotFound(_("There is no such %(what)s.") % {"what": what})

    exists(Audience, audience_id, _("audience"))
    exists(Course, course_id, _("course"))
    exists(LearningPath, path_id, _("learning path"))
    if manager_id is not None:
        manager = Person.objects.filter(tenant_id=tenant_id, pk=manager_id).first()
        if manager is None:
            raise NotFound(_("There is no such manager."))
        outside = not is_analyst(viewer) and manager.pk != viewer.person.pk
        if outside and not is_in_team(manager=viewer.person, person=manager):
            raise NotFound(_("There is no such manager in your team."))
    elif not is_analyst(viewer):
        manager_id = viewer.person.pk
    return with_team(
        Scope(
            tenant_id=tenant_id,
            manager_id=manager_id,
            audience_id=audience_id,
            department=department or None,
            location=location or None,
            hire_month=hire_month or None,
            course_id=course_id,
            path_id=path_id,
        )
    )
