"""Reads of SCORM content: always scoped to a tenant, N+1-safe."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from uptake.catalog import rules as catalog_rules
from uptake.catalog.models import Activity, Course
from uptake.core.errors import NotFound
from uptake.enrollment.models import Enrollment
from uptake.identity.context import Viewer
from uptake.scorm.models import Item, Package, ScoState


def package_for(*, activity: Activity) -> Package | None:
    """The activity's package (or None before one is uploaded)."""
    return Package.objects.filter(tenant_id=activity.tenant_id, activity_id=activity.pk).first()


def items_of(*, package: Package) -> list[Item]:
    return list(
        Item.objects.filter(tenant_id=package.tenant_id, package=package).order_by("position")
    )


def get_item(*, tenant_id: int, item_id: int) -> Item:
    item = (
        Item.objects.filter(tenant_id=tenant_id, pk=item_id)
        .select_related("package", "package__activity")
        .first()
    )
    if item is None:
        raise NotFound(_("There is no SCORM item %(id)s.") % {"id": item_id})
    return item


def get_package(*, tenant_id: int, package_id: int) -> Package:
    package = (
        Package.objects.filter(tenant_id=tenant_id, pk=package_id)
        .select_related("activity", "activity__course")
        .first()
    )
    if package is None:
        raise NotFound(_("There is no SCORM package %(id)s.") % {"id": package_id})
    return package


def may_open_content(*, viewer: Viewer, package: Package) -> bool:
    """Enrolled learners (any status but withdrawn) and the course's authors see its files."""
    return may_open_course_files(viewer=viewer, course=package.activity.course)


def may_open_course_files(*, viewer: Viewer, course: Course) -> bool:
    """Whether the viewer may open files of a course's packaged content (SCORM, cmi5): its
    authors, and learners enrolled in it (any status but withdrawn)."""
    if course.tenant_id != viewer.tenant_id:
        return False
    if catalog_rules.can_edit_course(viewer.roles, viewer.person.pk, course):
        return True
    return (
        Enrollment.objects.filter(tenant_id=viewer.tenant_id, person=viewer.person, course=course)
        .exclude(status=Enrollment.Status.WITHDRAWN)
        .exists()
    )


@dataclass(frozen=True)
class TocRow:
    item: Item
    state: ScoState | None

    @property
    def done(self) -> bool:
        return self.state is not None and self.state.satisfied_at is not None


@dataclass(frozen=True)
class Player:
    package: Package
    rows: list[TocRow]
    current: Item | None
    previous: Item | None
    next: Item | None

    @property
    def multi(self) -> bool:
        return sum(1 for row in self.rows if row.item.href) > 1


def player(
    *, enrollment: Enrollment | None, activity: Activity, item_id: int | None
) -> Player | None:
    """The package's table of contents with the enrolment's state per item (none for an
    author's preview), the item to show (`item_id`, else the first not done, else the first),
    and its launchable neighbours. None when the activity has no package yet. Three queries."""
    package = package_for(activity=activity)
    if package is None:
        return None
    items = items_of(package=package)
    states = (
        {
            s.item_id: s
            for s in ScoState.objects.filter(
                tenant_id=enrollment.tenant_id, enrollment=enrollment, item__package=package
            )
        }
        if enrollment is not None
        else {}
    )
    rows = [TocRow(item=item, state=states.get(item.pk)) for item in items]
    launchable = [row.item for row in rows if row.item.href]
    current = next((i for i in launchable if i.pk == item_id), None)
    if current is None:
        current = next(
            (row.item for row in rows if row.item.href and not row.done),
            launchable[0] if launchable else None,
        )
    index = launchable.index(current) if current is not None else -1
    return Player(
        package=package,
        rows=rows,
        current=current,
        previous=launchable[index - 1] if index > 0 else None,
        next=launchable[index + 1] if 0 <= index < len(launchable) - 1 else None,
    )


def states_of(*, enrollment: Enrollment) -> list[ScoState]:
    """Every SCO state of an enrolment, with items."""
    return list(
        ScoState.objects.filter(tenant_id=enrollment.tenant_id, enrollment=enrollment)
        .select_related("item")
        .order_by("item__package_id", "item__position")
    )
