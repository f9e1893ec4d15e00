"""Reads of learning paths: tenant-scoped and N+1-safe. A person's view of a path: the steps
that apply to them, each locked / unlocked / in progress / completed, what unlocks the next
one, and progress in percent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from uptake.core import clock
from uptake.core.errors import NotFound
from uptake.enrollment.models import Enrollment
from uptake.paths import rules
from uptake.paths.models import LearningPath, PathEnrollment, PathStep
from uptake.people.models import Person


@dataclass(frozen=True)
class StepView:
    step: PathStep
    state: str
    unlock_hint: str
    enrollment: Enrollment | None

    @property
    def is_locked(self) -> bool:
        return self.state == rules.LOCKED


@dataclass(frozen=True)
class PersonPath:
    path: LearningPath
    steps: list[StepView]
    progress_percent: int

    @property
    def next_hint(self) -> str:
        """What unlocks the next locked step ("" when none is locked)."""
        for view in self.steps:
            if view.is_locked:
                return view.unlock_hint
        return ""

    @property
    def is_complete(self) -> bool:
        return bool(self.steps) and all(v.state == rules.COMPLETED for v in self.steps)


def _steps_prefetch() -> Prefetch:
    return Prefetch(
        "steps",
        queryset=PathStep.objects.select_related("course")
        .prefetch_related("prerequisites")
        .order_by("position", "id"),
        to_attr="ordered_steps",
    )


def list_paths(*, tenant_id: int, status: str | None = None) -> QuerySet[LearningPath]:
    qs = LearningPath.objects.filter(tenant_id=tenant_id).select_related("owner")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("title")


def get_path(*, tenant_id: int, path_id: int) -> LearningPath:
    """The path with its steps (courses and prerequisites) in `ordered_steps`; NotFound else."""
    path = (
        LearningPath.objects.filter(tenant_id=tenant_id, pk=path_id)
        .prefetch_related(_steps_prefetch())
        .first()
    )
    if path is None:
        raise NotFound(_("There is no learning path %(id)s.") % {"id": path_id})
    return path


def get_step(*, tenant_id: int, step_id: int) -> PathStep:
    step = PathStep.objects.filter(tenant_id=tenant_id, pk=step_id).select_related("path").first()
    if step is None:
        raise NotFound(_("There is no path step %(id)s.") % {"id": step_id})
    return step


def _attributes(person: Person, steps: Iterable[PathStep]) -> dict[str, Any] | None:
    conditions = [s.condition for s in steps if s.condition]
    if not conditions:
        return None
    from uptake.audiences import rules as audience_rules
    from uptake.audiences.compile import load_facts

    used: set[str] = set()
    for condition in conditions:
        used |= audience_rules.attributes_used(condition)
    return load_facts(tenant_id=person.tenant_id, person_ids=[person.pk], used=used).get(
        person.pk, {}
    )


def _applies(step: PathStep, attrs: dict[str, Any] | None) -> bool:
    if not step.condition:
        return True
    from uptake.audiences import rules as audience_rules

    return bool(audience_rules.matches(step.condition, attrs or {}, clock.today()))


def _build(path: LearningPath, *, person: Person, enrollments: dict[int, Enrollment]) -> PersonPath:
    steps: list[PathStep] = getattr(path, "ordered_steps", None) or list(
        path.steps.select_related("course").prefetch_related("prerequisites")
    )
    attrs = _attributes(person, steps)
    applicable = [s for s in steps if _applies(s, attrs)]
    infos = [
        rules.StepInfo(
            id=s.pk,
            title=s.course.title,
            position=s.position,
            required=s.required,
            prerequisite_ids=frozenset(p.pk for p in s.prerequisites.all()),
        )
        for s in applicable
    ]
    completed, started = set(), set()
    for s in applicable:
        e = enrollments.get(s.course_id)
        if e is None:
            continue
        if e.status == Enrollment.Status.COMPLETED:
            completed.add(s.pk)
        elif e.status == Enrollment.Status.IN_PROGRESS:
            started.add(s.pk)
    states = rules.step_states(
        infos, order_mode=path.order_mode, completed=completed, in_progress=started
    )
    by_id = {s.pk: s for s in applicable}
    views = [
        StepView(
            step=by_id[st.step.id],
            state=st.state,
            unlock_hint=st.unlock_hint,
            enrollment=enrollments.get(by_id[st.step.id].course_id),
        )
        for st in states
    ]
    return PersonPath(path=path, steps=views, progress_percent=rules.progress_percent(states))


def _enrollments(person: Person, course_ids: Iterable[int]) -> dict[int, Enrollment]:
    return {
        e.course_id: e
        for e in Enrollment.objects.filter(
            tenant_id=person.tenant_id, person=person, course_id__in=set(course_ids)
        ).exclude(status=Enrollment.Status.WITHDRAWN)
    }


def path_for_person(*, person: Person, path: LearningPath) -> PersonPath:
    """The steps of `path` that apply to `person`, with their state and what unlocks them."""
    if path.tenant_id != person.tenant_id:
        raise NotFound(_("There is no learning path %(id)s.") % {"id": path.pk})
    if not hasattr(path, "ordered_steps"):
        path = get_path(tenant_id=path.tenant_id, path_id=path.pk)
    courses = [s.course_id for s in path.ordered_steps]  # type: ignore[attr-defined]
    return _build(path, person=person, enrollments=_enrollments(person, courses))


def my_paths(*, person: Person) -> list[PersonPath]:
    """The paths the person is on (active), in title order: a fixed number of queries."""
    paths = list(
        LearningPath.objects.filter(
            tenant_id=person.tenant_id,
            enrollments__person=person,
            enrollments__is_active=True,
        )
        .prefetch_related(_steps_prefetch())
        .order_by("title")
    )
    courses = [s.course_id for p in paths for s in p.ordered_steps]  # type: ignore[attr-defined]
    enrollments = _enrollments(person, courses)
    return [_build(p, person=person, enrollments=enrollments) for p in paths]


def locked_reason(*, enrollment: Enrollment) -> str | None:
    """Why the course player must refuse this enrolment's course now, or None: it is a locked
    step of a path the person is on ("Complete “Product basics” to unlock (path “Sales
    Starter”)")."""
    if enrollment.status == Enrollment.Status.COMPLETED:
        return None
    on_paths = PathEnrollment.objects.filter(
        tenant_id=enrollment.tenant_id,
        person_id=enrollment.person_id,
        is_active=True,
        path__steps__course_id=enrollment.course_id,
    ).values_list("path_id", flat=True)
    if not on_paths.exists():
        return None
    person = enrollment.person
    for person_path in [
        p
        for p in my_paths(person=person)
        if any(s.step.course_id == enrollment.course_id for s in p.steps)
    ]:
        for view in person_path.steps:
            if view.step.course_id == enrollment.course_id and view.is_locked:
                return _("%(hint)s (learning path “%(path)s”).") % {
                    "hint": view.unlock_hint,
                    "path": person_path.path.title,
                }
    return None


def people_on_path_with_course(*, tenant_id: int, person_id: int, course_id: int) -> list[int]:
    """Ids of the active paths of this person that have `course_id` as a step."""
    return list(
        PathEnrollment.objects.filter(
            tenant_id=tenant_id,
            person_id=person_id,
            is_active=True,
            path__steps__course_id=course_id,
        ).values_list("path_id", flat=True)
    )
