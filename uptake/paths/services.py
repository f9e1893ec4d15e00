"""Writes of learning paths: the path, its steps, prerequisites and conditions, publishing,
and putting people on a path (enrolments in the steps' courses that apply to them).

Permission is checked by the interfaces (platform admins and content owners edit paths)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Sum
from django.utils.text import slugify
from django.utils.translation import gettext as _

from uptake.catalog.models import Course
from uptake.core import bulk, clock
from uptake.core.actor import Actor
from uptake.core.bus import publish
from uptake.core.errors import FieldProblem, NotFound, ValidationFailed
from uptake.enrollment import services as enrollment_services
from uptake.enrollment.models import Enrollment
from uptake.enrollment.services import BulkEnrollResult
from uptake.paths import rules
from uptake.paths.events import PathStepsChanged
from uptake.paths.models import LearningPath, PathEnrollment, PathStep
from uptake.people.models import Person

EDITABLE = ("title", "slug", "description", "order_mode", "owner", "language")


def _check_order_mode(value: str) -> None:
    if value not in LearningPath.OrderMode.values:
        raise ValidationFailed(
            _("Order must be “sequential” or “free”."),
            errors=[FieldProblem(_("Unknown order."), field="order_mode")],
        )


def _check_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationFailed(
            _("A path needs a title."), errors=[FieldProblem(_("Required."), field="title")]
        )
    return title


def _unique_slug(*, tenant_id: int, base: str) -> str:
    base = slugify(base)[:100] or "path"
    taken = set(
        LearningPath.objects.filter(tenant_id=tenant_id, slug__startswith=base).values_list(
            "slug", flat=True
        )
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def check_condition(condition: Any) -> Any:
    """Validate a step condition (an audience rule); None means the step applies to everyone.

    Raises the audience rules' ValidationFailed naming the exact problem."""
    if condition in (None, "", {}):
        return None
    from uptake.audiences import rules as audience_rules

    return audience_rules.validate(condition)


def parse_condition(text: str) -> Any:
    """Parse a condition written in the audience rule syntax (None for empty text)."""
    if not (text or "").strip():
        return None
    from uptake.audiences import rules as audience_rules

    return audience_rules.parse(text)


def condition_text(condition: Any) -> str:
    """A stored condition in the audience rule syntax ("" for none)."""
    if not condition:
        return ""
    from uptake.audiences import rules as audience_rules

    return audience_rules.to_text(condition)


def _refresh_minutes(path: LearningPath) -> None:
    total = path.steps.aggregate(m=Sum("course__estimated_minutes"))["m"] or 0
    if total != path.estimated_minutes:
        path.estimated_minutes = total
        path.save(update_fields=["estimated_minutes", "updated_at"])


@transaction.atomic
def create_path(
    *,
    actor: Actor,
    tenant_id: int,
    title: str,
    slug: str = "",
    description: str = "",
    order_mode: str = LearningPath.OrderMode.SEQUENTIAL,
    owner: Person | None = None,
    language: str = "en",
) -> LearningPath:
    """Create a draft path. The slug defaults to the title's and is made unique."""
    title = _check_title(title)
    _check_order_mode(order_mode)
    if owner is not None and owner.tenant_id != tenant_id:
        raise NotFound(_("There is no person %(id)s.") % {"id": owner.pk})
    return LearningPath.objects.create(
        tenant_id=tenant_id,
        title=title,
        slug=_unique_slug(tenant_id=tenant_id, base=slug or title),
        description=description,
        order_mode=order_mode,
        owner=owner,
        language=language or "en",
    )


@transaction.atomic
def update_path(*, actor: Actor, path: LearningPath, **attrs: Any) -> LearningPath:
    """Change a path's title, slug, description, order, owner or language."""
    unknown = set(attrs) - set(EDITABLE)
    if unknown:
        raise ValidationFailed(
            _("These cannot be changed: %(names)s.") % {"names": ", ".join(sorted(unknown))}
        )
    if "title" in attrs:
        attrs["title"] = _check_title(attrs["title"])
    if "order_mode" in attrs:
        _check_order_mode(attrs["order_mode"])
    if "slug" in attrs:
        slug = slugify(attrs["slug"] or "")
        if not slug:
            raise ValidationFailed(
                _("The slug cannot be empty."), errors=[FieldProblem(_("Required."), field="slug")]
            )
        if LearningPath.objects.filter(tenant_id=path.tenant_id, slug=slug).exclude(pk=path.pk):
            raise ValidationFailed(
                _("Another path already uses the slug “%(slug)s”.") % {"slug": slug},
                errors=[FieldProblem(_("Already used."), field="slug")],
            )
        attrs["slug"] = slug
    owner = attrs.get("owner")
    if owner is not None and owner.tenant_id != path.tenant_id:
        raise NotFound(_("There is no person %(id)s.") % {"id": owner.pk})
    for name, value in attrs.items():
        setattr(path, name, value)
    path.save()
    return path


def _check_course(path: LearningPath, course: Course) -> None:
    if course.tenant_id != path.tenant_id:
        raise NotFound(_("There is no course %(id)s.") % {"id": course.pk})


@transaction.atomic
def add_step(
    *,
    actor: Actor,
    path: LearningPath,
    course: Course,
    required: bool = True,
    condition: Any = None,
) -> PathStep:
    """Append a course as the path's last step. ValidationFailed if it is already a step."""
    _check_course(path, course)
    condition = check_condition(condition)
    last = path.steps.aggregate(p=Max("position"))["p"]
    try:
        with transaction.atomic():
            step = PathStep.objects.create(
                tenant_id=path.tenant_id,
                path=path,
                course=course,
                position=0 if last is None else last + 1,
                required=required,
                condition=condition,
            )
    except IntegrityError:
        raise ValidationFailed(
            _("“%(title)s” is already a step of this path.") % {"title": course.title},
            errors=[FieldProblem(_("Already a step."), field="course_id")],
        ) from None
    _refresh_minutes(path)
    _announce_steps_changed(path)
    return step


def _announce_steps_changed(path: LearningPath) -> None:
    if path.status == LearningPath.Status.PUBLISHED:
        publish(PathStepsChanged(tenant_id=path.tenant_id, path_id=path.pk))


@transaction.atomic
def update_step(
    *,
    actor: Actor,
    step: PathStep,
    required: bool | None = None,
    condition: Any = ...,
) -> PathStep:
    """Change whether a step is required and its condition (pass condition=None to clear)."""
    fields = ["updated_at"]
    if required is not None:
        step.required = required
        fields.append("required")
    if condition is not ...:
        step.condition = check_condition(condition)
        fields.append("condition")
    step.save(update_fields=fields)
    if condition is not ...:
        _announce_steps_changed(step.path)
    return step


@transaction.atomic
def move_step(*, actor: Actor, step: PathStep, position: int) -> list[PathStep]:
    """Move a step to `position` (0-based, clamped); the others keep their order.
    Returns the steps in their new order."""
    steps = list(PathStep.objects.select_for_update().filter(path_id=step.path_id))
    steps.sort(key=lambda s: (s.position, s.pk))
    moving = next(s for s in steps if s.pk == step.pk)
    steps.remove(moving)
    steps.insert(max(0, min(position, len(steps))), moving)
    for index, s in enumerate(steps):
        s.position = index
    PathStep.objects.bulk_update(steps, ["position"])
    step.position = moving.position
    return steps


@transaction.atomic
def remove_step(*, actor: Actor, step: PathStep) -> None:
    """Remove a step (its prerequisites links go with it); the others close the gap.
    Enrolments already made in its course are kept."""
    path = step.path
    step.delete()
    steps = list(PathStep.objects.filter(path=path).order_by("position", "id"))
    for index, s in enumerate(steps):
        s.position = index
    PathStep.objects.bulk_update(steps, ["position"])
    _refresh_minutes(path)


@transaction.atomic
def set_prerequisites(*, actor: Actor, step: PathStep, prerequisite_ids: list[int]) -> PathStep:
    """Replace a step's prerequisites with other steps of the same path.

    ValidationFailed for a step of another path, the step itself, or a cycle, which is named
    ("Product basics → Pricing → Product basics")."""
    wanted = set(int(i) for i in prerequisite_ids)
    siblings = {
        s.pk: s
        for s in PathStep.objects.select_for_update()
        .filter(path_id=step.path_id)
        .select_related("course")
    }
    if step.pk in wanted:
        raise ValidationFailed(
            _("A step cannot be its own prerequisite."),
            errors=[
                FieldProblem(_("Remove this step from its prerequisites."), field="prerequisites")
            ],
        )
    foreign = sorted(wanted - set(siblings))
    if foreign:
        raise ValidationFailed(
            _("Prerequisites must be steps of the same path."),
            errors=[
                FieldProblem(_("Not a step of this path."), field="prerequisites", row=i)
                for i in foreign
            ],
        )
    graph: dict[int, set[int]] = {pk: set() for pk in siblings}
    through = PathStep.prerequisites.through
    for from_id, to_id in through.objects.filter(from_pathstep__path_id=step.path_id).values_list(
        "from_pathstep_id", "to_pathstep_id"
    ):
        graph[from_id].add(to_id)
    graph[step.pk] = wanted
    cycle = rules.find_cycle(graph)
    if cycle:
        names = {pk: s.course.title for pk, s in siblings.items()}
        described = rules.describe_cycle(cycle, names)
        raise ValidationFailed(
            _("These prerequisites would make a cycle: %(cycle)s.") % {"cycle": described},
            errors=[FieldProblem(described, field="prerequisites")],
        )
    step.prerequisites.set([siblings[i] for i in wanted])
    return step


@transaction.atomic
def publish_path(*, actor: Actor, path: LearningPath) -> LearningPath:
    """Publish a path: it needs at least one step and every step's course published."""
    steps = list(path.steps.select_related("course"))
    if not steps:
        raise ValidationFailed(
            _("Add at least one step before publishing “%(title)s”.") % {"title": path.title},
            errors=[FieldProblem(_("No steps."), field="steps")],
        )
    drafts = [s for s in steps if s.course.status != Course.Status.PUBLISHED]
    if drafts:
        raise ValidationFailed(
            _("Publish these courses first: %(titles)s.")
            % {"titles": ", ".join(f"“{s.course.title}”" for s in drafts)},
            errors=[
                FieldProblem(_("This course is not published."), field="steps", row=s.pk)
                for s in drafts
            ],
        )
    if path.status != LearningPath.Status.PUBLISHED:
        path.status = LearningPath.Status.PUBLISHED
        path.published_at = clock.now()
        path.save(update_fields=["status", "published_at", "updated_at"])
    _refresh_minutes(path)
    return path


# --- People on a path --------------------------------------------------------------------------


def applicable_people(
    *, step: PathStep, person_ids: list[int], facts: dict[int, dict[str, Any]] | None = None
) -> list[int]:
    """Of `person_ids`, those the step applies to (everyone when it has no condition).
    `facts` (person id -> audience facts) may be loaded once for many steps."""
    if not step.condition:
        return list(person_ids)
    from uptake.audiences import rules as audience_rules

    if facts is None:
        facts = _facts(step.tenant_id, person_ids, [step])
    today = clock.today()
    return [
        pid
        for pid in person_ids
        if pid in facts and audience_rules.matches(step.condition, facts[pid], today)
    ]


def _facts(
    tenant_id: int, person_ids: list[int], steps: list[PathStep]
) -> dict[int, dict[str, Any]]:
    """What the steps' conditions read about these people, in a few bulk queries."""
    from uptake.audiences import rules as audience_rules
    from uptake.audiences.compile import load_facts

    used: set[str] = set()
    for s in steps:
        if s.condition:
            used |= audience_rules.attributes_used(s.condition)
    return load_facts(tenant_id=tenant_id, person_ids=person_ids, used=used)


@transaction.atomic(savepoint=False)  # all or nothing with the caller: no savepoint
def enroll_people_in_path(
    *,
    actor: Actor,
    tenant_id: int,
    path: LearningPath,
    due_by_person: dict[int, dt.datetime | None],
    source: str = Enrollment.Source.RULE,
    active_ids: Collection[int] | None = None,
) -> dict[int, BulkEnrollResult]:
    """Put people on a published path: each is enrolled in every step's course that applies to
    them (locked steps too: they are shown locked), with their due date. Idempotent; a person
    who had left the path is put back. Returns the enrolment result per course id."""
    if path.tenant_id != tenant_id:
        raise NotFound(_("There is no path %(id)s.") % {"id": path.pk})
    if path.status != LearningPath.Status.PUBLISHED:
        raise ValidationFailed(
            _("“%(title)s” is not published, so no one can be put on it.") % {"title": path.title}
        )
    ids = list(due_by_person)
    if not ids:
        return {}
    now = clock.now()
    bulk.insert_rows(
        PathEnrollment,
        [
            "tenant",
            "path",
            "person",
            "is_active",
            "due_at",
            "enrolled_at",
            "created_at",
            "updated_at",
        ],
        [(tenant_id, path.pk, pid, True, due, now, now, now) for pid, due in due_by_person.items()],
        ignore_conflicts=True,
    )
    for start in range(0, len(ids), 5000):
        PathEnrollment.objects.filter(
            path=path, person_id__in=ids[start : start + 5000], is_active=False
        ).update(is_active=True, enrolled_at=now, updated_at=now)
    steps = list(path.steps.select_related("course"))
    facts = _facts(tenant_id, ids, steps) if any(s.condition for s in steps) else None
    results: dict[int, BulkEnrollResult] = {}
    for step in steps:
        who = applicable_people(step=step, person_ids=ids, facts=facts)
        if not who:
            continue
        results[step.course_id] = enrollment_services.enroll_people_due(
            actor=actor,
            tenant_id=tenant_id,
            due_by_person={pid: due_by_person[pid] for pid in who},
            course=step.course,
            source=source,
            active_ids=active_ids,
        )
    return results


@transaction.atomic(savepoint=False)  # all or nothing with the caller: no savepoint
def leave_path(*, actor: Actor, tenant_id: int, path: LearningPath, person_ids: list[int]) -> int:
    """Take people off a path whose step enrolments are all withdrawn (a rule withdrew them);
    people with a live step enrolment stay on it. Returns how many left."""
    course_ids = list(path.steps.values_list("course_id", flat=True))
    left = 0
    for start in range(0, len(person_ids), 5000):
        chunk = person_ids[start : start + 5000]
        live = set(
            Enrollment.objects.filter(
                tenant_id=tenant_id, course_id__in=course_ids, person_id__in=chunk
            )
            .exclude(status=Enrollment.Status.WITHDRAWN)
            .values_list("person_id", flat=True)
        )
        gone = [pid for pid in chunk if pid not in live]
        left += PathEnrollment.objects.filter(
            tenant_id=tenant_id, path=path, person_id__in=gone, is_active=True
        ).update(is_active=False, updated_at=clock.now())
    return left


def announce_unlocked_steps(*, tenant_id: int, person_id: int, course_id: int) -> int:
    """After `course_id` was completed: publish PathStepUnlocked for every step of the person's
    paths that was waiting for it and is now open. Returns how many were announced."""
    from uptake.core.bus import publish
    from uptake.paths import selectors
    from uptake.paths.events import PathStepUnlocked

    person = Person.objects.filter(tenant_id=tenant_id, pk=person_id).first()
    if person is None:
        return 0
    announced = 0
    for view in selectors.my_paths(person=person):
        completed_step = next((s for s in view.steps if s.step.course_id == course_id), None)
        if completed_step is None:
            continue
        # The state before: the same path as if this course were not completed yet.
        infos = {
            s.step.pk: rules.StepInfo(
                id=s.step.pk,
                title=s.step.course.title,
                position=s.step.position,
                required=s.step.required,
                prerequisite_ids=frozenset(p.pk for p in s.step.prerequisites.all()),
            )
            for s in view.steps
        }
        done = {s.step.pk for s in view.steps if s.state == rules.COMPLETED}
        before = rules.step_states(
            list(infos.values()),
            order_mode=view.path.order_mode,
            completed=done - {completed_step.step.pk},
        )
        after = rules.step_states(
            list(infos.values()), order_mode=view.path.order_mode, completed=done
        )
        by_id = {s.step.pk: s for s in view.steps}
        for state in rules.newly_unlocked(before, after):
            step_view = by_id[state.step.id]
            publish(
                PathStepUnlocked(
                    tenant_id=tenant_id,
                    path_id=view.path.pk,
                    step_id=state.step.id,
                    person_id=person_id,
                    course_id=step_view.step.course_id,
                    enrollment_id=step_view.enrollment.pk if step_view.enrollment else None,
                )
            )
            announced += 1
    return announced
