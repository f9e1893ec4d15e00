"""Writes to the catalogue: courses, their outline (modules, activities) and knowledge checks.

Every function takes `actor=`; a person actor must be allowed by `rules.can_edit_course` (or
`rules.can_create_course` to create), a system actor may do anything. Outline changes lock the
course row first, so concurrent edits of one course are serialised and positions stay dense.
Input problems are raised together as one ValidationFailed with a FieldProblem each.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from uptake.catalog import rules
from uptake.catalog.events import CoursePublished, CourseUpdated
from uptake.catalog.models import Activity, Choice, Course, Module, Question
from uptake.catalog.rendering import render_markdown
from uptake.catalog.rules import ChoiceSpec, Direction
from uptake.core import clock
from uptake.core.actor import Actor
from uptake.core.bus import publish
from uptake.core.errors import Conflict, FieldProblem, PermissionDenied, ValidationFailed
from uptake.people.models import Person
from uptake.people.rules import PLATFORM_ADMIN
from uptake.people.selectors import roles_of

logger = logging.getLogger(__name__)

COURSE_FIELDS = frozenset(
    {"title", "slug", "summary", "description", "language", "tags", "estimated_minutes",
     "is_open", "owner_id"}
)  # fmt: skip
ACTIVITY_FIELDS = frozenset(
    {"title", "body", "url", "required", "estimated_minutes", "pass_mark", "attempts_allowed",
     "shuffle_questions"}
)  # fmt: skip
URL_KINDS = (rules.LINK, rules.VIDEO)
FILE_KINDS = (rules.VIDEO, rules.FILE)


# --- Who may write -----------------------------------------------------------------------------


def _roles(*, actor: Actor, tenant_id: int) -> frozenset[str] | None:
    """The actor's roles in the tenant; None for the system (which may do anything)."""
    if actor.is_system:
        return None
    if actor.person_id is None:
        raise PermissionDenied(_("Only people of this organisation can edit its courses."))
    person = Person.objects.filter(tenant_id=tenant_id, pk=actor.person_id, is_active=True).first()
    if person is None:
        raise PermissionDenied(_("Only active people of this organisation can edit its courses."))
    return roles_of(person=person)


def _require_create(*, actor: Actor, tenant_id: int) -> None:
    roles = _roles(actor=actor, tenant_id=tenant_id)
    if roles is not None and not rules.can_create_course(roles):
        raise PermissionDenied(_("Only content owners and platform admins can create courses."))


def _require_edit(*, actor: Actor, course: Course) -> frozenset[str] | None:
    roles = _roles(actor=actor, tenant_id=course.tenant_id)
    if roles is not None and not rules.can_edit_course(roles, actor.person_id, course):
        raise PermissionDenied(
            _(
                "You cannot edit “%(title)s”: content owners edit the courses they own, "
                "platform admins edit any course."
            )
            % {"title": course.title}
        )
    return roles


def can_edit(*, actor: Actor, course: Course) -> bool:
    """Whether `actor` may change `course` (what the authoring screens use to show actions)."""
    try:
        _require_edit(actor=actor, course=course)
    except PermissionDenied:
        return False
    return True


def _lock_course(course: Course) -> Course:
    """Lock the course row for the rest of the transaction (serialises outline edits)."""
    return Course.objects.select_for_update().get(tenant_id=course.tenant_id, pk=course.pk)


def _raise_if(problems: Sequence[FieldProblem | None], detail: str) -> None:
    found = [p for p in problems if p is not None]
    if found:
        raise ValidationFailed(detail, errors=found)


def _outline_changed(*, actor: Actor, course: Course) -> None:
    publish(
        CourseUpdated(
            tenant_id=course.tenant_id,
            course_id=course.pk,
            changed=("outline",),
            actor_person_id=actor.person_id,
        )
    )


# --- Courses -----------------------------------------------------------------------------------


def _course_field_problems(attrs: dict[str, Any]) -> list[FieldProblem | None]:
    problems: list[FieldProblem | None] = []
    if "title" in attrs:
        problems.append(rules.title_problem(attrs["title"]))
    if "summary" in attrs and len(attrs["summary"]) > 500:
        problems.append(
            FieldProblem(_("A summary can have at most 500 characters."), field="summary")
        )
    if "language" in attrs and not (attrs["language"] or "").strip():
        problems.append(FieldProblem(_("Say which language the course is in."), field="language"))
    if "language" in attrs and len(attrs["language"] or "") > 12:
        problems.append(
            FieldProblem(_("Use a language code such as “en” or “pt-BR”."), field="language")
        )
    if "estimated_minutes" in attrs and (attrs["estimated_minutes"] or 0) < 0:
        problems.append(FieldProblem(_("Minutes cannot be negative."), field="estimated_minutes"))
    if "tags" in attrs:
        problems.extend(rules.tags_problems(attrs["tags"]))
    if "slug" in attrs:
        slug = attrs["slug"]
        if not slug or slug != slugify(slug) or len(slug) > 120:
            problems.append(
                FieldProblem(
                    _("A slug uses lower-case letters, digits and dashes (at most 120)."),
                    field="slug",
                )
            )
    return problems


def _check_owner(*, tenant_id: int, owner_id: int | None) -> None:
    if (
        owner_id is not None
        and not Person.objects.filter(tenant_id=tenant_id, pk=owner_id).exists()
    ):
        raise ValidationFailed(
            _("The owner must be a person in this organisation."),
            errors=[
                FieldProblem(_("There is no person %(id)s.") % {"id": owner_id}, field="owner_id")
            ],
        )


def create_course(
    *,
    actor: Actor,
    tenant_id: int,
    title: str,
    summary: str = "",
    description: str = "",
    language: str = "en",
    tags: Iterable[str] = (),
    estimated_minutes: int = 0,
    is_open: bool = True,
    owner_id: int | None = None,
    slug: str | None = None,
) -> Course:
    """Create a draft course owned by `owner_id` (default: the acting person).

    The slug is made unique within the tenant from the title unless given (a given slug that is
    taken is a ValidationFailed on "slug").
    """
    _require_create(actor=actor, tenant_id=tenant_id)
    attrs: dict[str, Any] = {
        "title": title.strip(),
        "summary": summary.strip(),
        "description": description,
        "language": language.strip(),
        "tags": rules.normalise_tags(tags),
        "estimated_minutes": estimated_minutes,
    }
    if slug is not None:
        attrs["slug"] = slug
    _raise_if(_course_field_problems(attrs), _("The course could not be created."))
    owner_id = owner_id if owner_id is not None else actor.person_id
    _check_owner(tenant_id=tenant_id, owner_id=owner_id)
    for _attempt in range(5):
        if slug is None:
            base = slugify(attrs["title"])[:120] or "course"
            taken = set(
                Course.objects.filter(tenant_id=tenant_id, slug__startswith=base).values_list(
                    "slug", flat=True
                )
            )
            attrs["slug"] = rules.unique_slug(attrs["title"], taken)
        try:
            # A savepoint, so a slug taken concurrently can be retried inside the caller's
            # transaction.
            with transaction.atomic():
                return Course.objects.create(
                    tenant_id=tenant_id,
                    owner_id=owner_id,
                    is_open=is_open,
                    status=Course.Status.DRAFT,
                    **attrs,
                )
        except IntegrityError:
            if slug is not None:
                break
    raise ValidationFailed(
        _("The course could not be created."),
        errors=[
            FieldProblem(
                _("Another course already uses the slug “%(slug)s”.") % {"slug": attrs["slug"]},
                field="slug",
            )
        ],
    )


@transaction.atomic
def update_course(*, actor: Actor, course: Course, **attrs: Any) -> Course:
    """Change some of a course's own fields (see COURSE_FIELDS). Only platform admins hand a
    course to another owner. Publishes CourseUpdated naming what changed (if anything did)."""
    unknown = set(attrs) - COURSE_FIELDS
    if unknown:
        raise ValidationFailed(
            _("Some fields cannot be changed here."),
            errors=[
                FieldProblem(_("This field cannot be changed."), field=name)
                for name in sorted(unknown)
            ],
        )
    roles = _require_edit(actor=actor, course=course)
    if "title" in attrs:
        attrs["title"] = (attrs["title"] or "").strip()
    if "summary" in attrs:
        attrs["summary"] = (attrs["summary"] or "").strip()
    if "tags" in attrs:
        attrs["tags"] = rules.normalise_tags(attrs["tags"] or [])
    _raise_if(_course_field_problems(attrs), _("The course could not be saved."))
    locked = _lock_course(course)
    changed = [name for name, value in attrs.items() if getattr(locked, name) != value]
    if "owner_id" in changed:
        if roles is not None and PLATFORM_ADMIN not in roles:
            raise PermissionDenied(_("Only a platform admin can hand a course to another owner."))
        _check_owner(tenant_id=course.tenant_id, owner_id=attrs["owner_id"])
    if "slug" in changed and (
        Course.objects.filter(tenant_id=course.tenant_id, slug=attrs["slug"])
        .exclude(pk=course.pk)
        .exists()
    ):
        raise ValidationFailed(
            _("The course could not be saved."),
            errors=[
                FieldProblem(
                    _("Another course already uses the slug “%(slug)s”.") % {"slug": attrs["slug"]},
                    field="slug",
                )
            ],
        )
    if not changed:
        return locked
    for name in changed:
        setattr(locked, name, attrs[name])
    locked.save(update_fields=[*changed, "updated_at"])
    publish(
        CourseUpdated(
            tenant_id=locked.tenant_id,
            course_id=locked.pk,
            changed=tuple(changed),
            actor_person_id=actor.person_id,
        )
    )
    return locked


def course_spec(course: Course) -> rules.CourseSpec:
    """The rules' view of a course loaded by `selectors.course_outline(include_questions=True)`."""
    return rules.CourseSpec(
        title=course.title,
        modules=tuple(
            rules.ModuleSpec(
                title=module.title,
                activities=tuple(activity_spec(a) for a in module.activities.all()),
            )
            for module in course.modules.all()
        ),
    )


def activity_spec(activity: Activity) -> rules.ActivitySpec:
    return rules.ActivitySpec(
        kind=activity.kind,
        title=activity.title,
        url=activity.url,
        has_file=bool(activity.file),
        pass_mark=activity.pass_mark,
        attempts_allowed=activity.attempts_allowed,
        questions=tuple(question_spec(q) for q in activity.questions.all())
        if activity.kind == rules.QUIZ
        else (),
    )


def question_spec(question: Question) -> rules.QuestionSpec:
    return rules.QuestionSpec(
        kind=question.kind,
        prompt=question.prompt,
        choices=tuple(
            ChoiceSpec(text=c.text, is_correct=c.is_correct, feedback=c.feedback)
            for c in question.choices.all()
        ),
        accepted_answers=tuple(question.accepted_answers or ()),
        points=question.points,
    )


def publish_problems(*, course: Course) -> list[FieldProblem]:
    """Every reason `course` cannot be published now (empty when it can)."""
    from uptake.catalog.selectors import course_outline

    outline = course_outline(
        tenant_id=course.tenant_id, course_id=course.pk, include_questions=True
    )
    return rules.publish_problems(course_spec(outline))


@transaction.atomic
def publish_course(*, actor: Actor, course: Course) -> Course:
    """Make a course visible to learners. ValidationFailed lists every problem if it is not
    ready (see rules.publish_problems). Publishing a published course changes nothing."""
    _require_edit(actor=actor, course=course)
    locked = _lock_course(course)
    if locked.status == Course.Status.PUBLISHED:
        return locked
    problems = publish_problems(course=locked)
    if problems:
        raise ValidationFailed(
            ngettext(
                "“%(title)s” cannot be published yet: %(n)d problem to fix.",
                "“%(title)s” cannot be published yet: %(n)d problems to fix.",
                len(problems),
            )
            % {"title": locked.title, "n": len(problems)},
            errors=problems,
        )
    locked.status = Course.Status.PUBLISHED
    locked.published_at = clock.now()
    locked.save(update_fields=["status", "published_at", "updated_at"])
    publish(
        CoursePublished(
            tenant_id=locked.tenant_id,
            course_id=locked.pk,
            published_at=locked.published_at,
            actor_person_id=actor.person_id,
        )
    )
    return locked


def _set_status(*, actor: Actor, course: Course, status: str) -> Course:
    _require_edit(actor=actor, course=course)
    locked = _lock_course(course)
    if locked.status == status:
        return locked
    locked.status = status
    locked.save(update_fields=["status", "updated_at"])
    publish(
        CourseUpdated(
            tenant_id=locked.tenant_id,
            course_id=locked.pk,
            changed=("status",),
            actor_person_id=actor.person_id,
        )
    )
    return locked


@transaction.atomic
def unpublish_course(*, actor: Actor, course: Course) -> Course:
    """Back to draft: hidden from the catalogue; enrolments and progress are kept."""
    return _set_status(actor=actor, course=course, status=Course.Status.DRAFT)


@transaction.atomic
def archive_course(*, actor: Actor, course: Course) -> Course:
    """Retire a course: hidden from the catalogue; enrolments and progress are kept."""
    return _set_status(actor=actor, course=course, status=Course.Status.ARCHIVED)


# --- Modules -----------------------------------------------------------------------------------


@transaction.atomic
def add_module(*, actor: Actor, course: Course, title: str) -> Module:
    """Add a module at the end of the course."""
    _require_edit(actor=actor, course=course)
    _raise_if([rules.title_problem(title)], _("The module could not be added."))
    locked = _lock_course(course)
    last = Module.objects.filter(tenant_id=locked.tenant_id, course=locked).aggregate(
        m=Max("position")
    )["m"]
    module = Module.objects.create(
        tenant_id=locked.tenant_id,
        course=locked,
        title=title.strip(),
        position=0 if last is None else last + 1,
    )
    _outline_changed(actor=actor, course=locked)
    return module


@transaction.atomic
def update_module(*, actor: Actor, module: Module, title: str) -> Module:
    _require_edit(actor=actor, course=module.course)
    _raise_if([rules.title_problem(title)], _("The module could not be saved."))
    module.title = title.strip()
    module.save(update_fields=["title", "updated_at"])
    _outline_changed(actor=actor, course=module.course)
    return module


def _renumber(
    model: type[Module] | type[Activity], rows: Sequence[Any], ordered_ids: list[int]
) -> None:
    """Give `rows` the dense positions 0..n-1 in the order of `ordered_ids`."""
    by_id = {row.pk: row for row in rows}
    changed = []
    for position, row_id in enumerate(ordered_ids):
        row = by_id[row_id]
        if row.position != position:
            row.position = position
            changed.append(row)
    if changed:
        model.objects.bulk_update(changed, ["position"])


@transaction.atomic
def move_module(*, actor: Actor, module: Module, direction: Direction) -> Module:
    """Swap a module with its neighbour above or below (no change at either end)."""
    _require_edit(actor=actor, course=module.course)
    _lock_course(module.course)
    modules = list(
        Module.objects.filter(tenant_id=module.tenant_id, course_id=module.course_id).order_by(
            "position", "id"
        )
    )
    _renumber(Module, modules, rules.moved([m.pk for m in modules], module.pk, direction))
    _outline_changed(actor=actor, course=module.course)
    return next(m for m in modules if m.pk == module.pk)


def _has_progress(*, tenant_id: int, activity_ids: list[int]) -> bool:
    # Completions and attempts cascade with their activity, so deleting would erase learners'
    # history: refuse instead. (Read straight from progress's tables: its public selectors
    # answer per enrolment, not per activity.)
    from uptake.progress.models import ActivityCompletion, Attempt

    if not activity_ids:
        return False
    return (
        ActivityCompletion.objects.filter(
            tenant_id=tenant_id, activity_id__in=activity_ids
        ).exists()
        or Attempt.objects.filter(tenant_id=tenant_id, activity_id__in=activity_ids).exists()
    )


@transaction.atomic
def delete_module(*, actor: Actor, module: Module) -> None:
    """Delete a module and its activities, unless a learner has progress on any of them
    (Conflict: their history is kept; make the activities optional or archive the course)."""
    _require_edit(actor=actor, course=module.course)
    course = _lock_course(module.course)
    ids = list(
        Activity.objects.filter(tenant_id=module.tenant_id, module_id=module.pk).values_list(
            "id", flat=True
        )
    )
    if _has_progress(tenant_id=module.tenant_id, activity_ids=ids):
        raise Conflict(
            _(
                "Learners have progress in the module “%(title)s”, so it cannot be deleted "
                "(their history would be lost). Make its activities optional or archive the course."
            )
            % {"title": module.title}
        )
    module.delete()
    remaining = list(
        Module.objects.filter(tenant_id=course.tenant_id, course=course).order_by("position", "id")
    )
    _renumber(Module, remaining, [m.pk for m in remaining])
    _outline_changed(actor=actor, course=course)


# --- Activities --------------------------------------------------------------------------------


def _activity_problems(*, kind: str, attrs: dict[str, Any]) -> list[FieldProblem | None]:
    problems: list[FieldProblem | None] = []
    if "title" in attrs:
        problems.append(rules.title_problem(attrs["title"]))
    if attrs.get("url"):
        if kind not in URL_KINDS:
            problems.append(
                FieldProblem(_("Only links and videos have a web address."), field="url")
            )
        else:
            problems.append(rules.url_problem(attrs["url"]))
    if "pass_mark" in attrs:
        problems.append(rules.pass_mark_problem(attrs["pass_mark"]))
    if "attempts_allowed" in attrs:
        problems.append(rules.attempts_problem(attrs["attempts_allowed"]))
    if "estimated_minutes" in attrs and (attrs["estimated_minutes"] or 0) < 0:
        problems.append(FieldProblem(_("Minutes cannot be negative."), field="estimated_minutes"))
    return problems


def _upload_problems(*, kind: str, upload: File | None) -> list[FieldProblem]:
    if upload is None:
        return []
    return rules.upload_problems(
        kind=kind,
        filename=upload.name or "",
        size=upload.size or 0,
        max_bytes=settings.UPTAKE_MAX_UPLOAD_BYTES,
    )


def _store_upload(activity: Activity, upload: File) -> None:
    old_name = activity.file.name if activity.file else ""
    activity.file.save(rules.safe_filename(upload.name or "file"), upload, save=False)
    if old_name and old_name != activity.file.name:
        storage = activity.file.storage
        # Only once the new file is committed: a rolled-back change keeps the old file.
        transaction.on_commit(lambda: storage.delete(old_name))


@transaction.atomic
def add_activity(
    *,
    actor: Actor,
    module: Module,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    upload: File | None = None,
    required: bool = True,
    estimated_minutes: int = 0,
    pass_mark: int = 80,
    attempts_allowed: int = 0,
    shuffle_questions: bool = False,
) -> Activity:
    """Add an activity at the end of a module; `body` (Markdown) is rendered and sanitised into
    body_html. Links and videos take an http(s) `url`; videos and files take an `upload`
    (extension per kind, at most settings.UPTAKE_MAX_UPLOAD_BYTES)."""
    course = module.course
    _require_edit(actor=actor, course=course)
    if kind not in rules.ACTIVITY_KINDS:
        raise ValidationFailed(
            _("The activity could not be added."),
            errors=[
                FieldProblem(_("Unknown activity type “%(kind)s”.") % {"kind": kind}, field="kind")
            ],
        )
    attrs: dict[str, Any] = {
        "title": title.strip(),
        "body": body,
        "url": url.strip(),
        "required": required,
        "estimated_minutes": estimated_minutes,
        "pass_mark": pass_mark,
        "attempts_allowed": attempts_allowed,
        "shuffle_questions": shuffle_questions,
    }
    problems = _activity_problems(kind=kind, attrs=attrs)
    problems.extend(_upload_problems(kind=kind, upload=upload))
    _raise_if(problems, _("The activity could not be added."))
    locked = _lock_course(course)
    last = Activity.objects.filter(tenant_id=module.tenant_id, module=module).aggregate(
        m=Max("position")
    )["m"]
    activity = Activity(
        tenant_id=module.tenant_id,
        module=module,
        course=locked,
        kind=kind,
        position=0 if last is None else last + 1,
        body_html=render_markdown(body),
        **attrs,
    )
    if upload is not None:
        _store_upload(activity, upload)
    activity.save()
    _outline_changed(actor=actor, course=locked)
    return activity


@transaction.atomic
def add_activities(
    *,
    actor: Actor,
    module: Module,
    kind: str,
    items: Sequence[tuple[str, str]],
    file: str = "",
) -> list[Activity]:
    """Add many activities of one kind at the end of a module at once, for content imports
    (e.g. a cmi5 course structure of 1,000+ units): one course lock, one bulk insert, one
    CourseUpdated. `items`: (title, Markdown body) in order; `file`: an already stored file
    they all point to (the imported package)."""
    _require_edit(actor=actor, course=module.course)
    problems: list[FieldProblem | None] = []
    if kind not in rules.ACTIVITY_KINDS:
        problems.append(
            FieldProblem(_("Unknown activity type “%(kind)s”.") % {"kind": kind}, field="kind")
        )
    for n, (title, _body) in enumerate(items):
        problem = rules.title_problem(title.strip())
        if problem is not None:
            problem.field = f"items[{n}].title"
        problems.append(problem)
    _raise_if(problems, _("The activities could not be added."))
    locked = _lock_course(module.course)
    last = Activity.objects.filter(tenant_id=module.tenant_id, module=module).aggregate(
        m=Max("position")
    )["m"]
    start = 0 if last is None else last + 1
    now = clock.now()
    created = Activity.objects.bulk_create(
        [
            Activity(
                tenant_id=module.tenant_id,
                module=module,
                course=locked,
                kind=kind,
                title=title.strip(),
                body=body,
                body_html=render_markdown(body),
                position=start + n,
                file=file,
                created_at=now,
                updated_at=now,
            )
            for n, (title, body) in enumerate(items)
        ]
    )
    _outline_changed(actor=actor, course=locked)
    return created


@transaction.atomic
def update_activity(
    *,
    actor: Actor,
    activity: Activity,
    upload: File | None = None,
    remove_file: bool = False,
    **attrs: Any,
) -> Activity:
    """Change some of an activity's fields (see ACTIVITY_FIELDS; its kind is fixed), replace or
    remove its file. The body is re-rendered into body_html whenever it is given."""
    unknown = set(attrs) - ACTIVITY_FIELDS
    if unknown:
        raise ValidationFailed(
            _("Some fields cannot be changed here."),
            errors=[
                FieldProblem(_("This field cannot be changed."), field=name)
                for name in sorted(unknown)
            ],
        )
    _require_edit(actor=actor, course=activity.course)
    if "title" in attrs:
        attrs["title"] = (attrs["title"] or "").strip()
    if "url" in attrs:
        attrs["url"] = (attrs["url"] or "").strip()
    problems = _activity_problems(kind=activity.kind, attrs=attrs)
    problems.extend(_upload_problems(kind=activity.kind, upload=upload))
    _raise_if(problems, _("The activity could not be saved."))
    _lock_course(activity.course)
    for name, value in attrs.items():
        setattr(activity, name, value)
    if "body" in attrs:
        activity.body_html = render_markdown(attrs["body"] or "")
    if upload is not None:
        _store_upload(activity, upload)
    elif remove_file and activity.file:
        removed: str = activity.file.name or ""
        storage = activity.file.storage
        activity.file = ""  # type: ignore[assignment]
        transaction.on_commit(lambda: storage.delete(removed))
    activity.save()
    _outline_changed(actor=actor, course=activity.course)
    return activity


@transaction.atomic
def move_activity(*, actor: Actor, activity: Activity, direction: Direction) -> Activity:
    """Swap an activity with its neighbour above or below in its module."""
    _require_edit(actor=actor, course=activity.course)
    _lock_course(activity.course)
    rows = list(
        Activity.objects.filter(
            tenant_id=activity.tenant_id, module_id=activity.module_id
        ).order_by("position", "id")
    )
    _renumber(Activity, rows, rules.moved([a.pk for a in rows], activity.pk, direction))
    _outline_changed(actor=actor, course=activity.course)
    return next(a for a in rows if a.pk == activity.pk)


@transaction.atomic
def delete_activity(*, actor: Actor, activity: Activity) -> None:
    """Delete an activity unless a learner has progress on it (Conflict: history is kept)."""
    _require_edit(actor=actor, course=activity.course)
    _lock_course(activity.course)
    if _has_progress(tenant_id=activity.tenant_id, activity_ids=[activity.pk]):
        raise Conflict(
            _(
                "Learners have progress on “%(title)s”, so it cannot be deleted (their "
                "history would be lost). Make it optional or archive the course instead."
            )
            % {"title": activity.title}
        )
    file_name: str = activity.file.name or "" if activity.file else ""
    storage = activity.file.storage
    module_id = activity.module_id
    activity.delete()
    if file_name:
        transaction.on_commit(lambda: storage.delete(file_name))
    rows = list(
        Activity.objects.filter(tenant_id=activity.tenant_id, module_id=module_id).order_by(
            "position", "id"
        )
    )
    _renumber(Activity, rows, [a.pk for a in rows])
    _outline_changed(actor=actor, course=activity.course)


# --- Questions ---------------------------------------------------------------------------------


def _question_choices(
    *, kind: str, choices: Sequence[ChoiceSpec], correct_answer: bool | None
) -> tuple[tuple[ChoiceSpec, ...], list[FieldProblem]]:
    """The choices to store for a question of `kind`. True/false questions always get exactly
    True and False (correct one from `correct_answer`, or from `choices` marked correct);
    feedback given for a choice called True/False is kept."""
    if kind != rules.TRUE_FALSE:
        return tuple(
            ChoiceSpec(c.text.strip(), c.is_correct, c.feedback.strip()) for c in choices
        ), []
    feedback = {c.text.strip().casefold(): c.feedback.strip() for c in choices}
    if correct_answer is None:
        marked = [c.text.strip().casefold() for c in choices if c.is_correct]
        if len(marked) == 1 and marked[0] in ("true", "false"):
            correct_answer = marked[0] == "true"
    if correct_answer is None:
        return (), [
            FieldProblem(_("Say whether the statement is true or false."), field="correct_answer")
        ]
    true, false = rules.true_false_choices(correct_answer=correct_answer)
    return (
        ChoiceSpec(true.text, true.is_correct, feedback.get("true", "")),
        ChoiceSpec(false.text, false.is_correct, feedback.get("false", "")),
    ), []


def _checked_question(
    *,
    kind: str,
    prompt: str,
    choices: Sequence[ChoiceSpec],
    accepted_answers: Iterable[str],
    correct_answer: bool | None,
    points: int,
    detail: str,
) -> rules.QuestionSpec:
    if kind not in rules.QUESTION_KINDS:
        raise ValidationFailed(
            detail,
            errors=[
                FieldProblem(_("Unknown question type “%(kind)s”.") % {"kind": kind}, field="kind")
            ],
        )
    # Blank rows (e.g. the spare rows of a form) are not choices.
    choices = [c for c in choices if c.text.strip() or c.is_correct or c.feedback.strip()]
    stored, problems = _question_choices(kind=kind, choices=choices, correct_answer=correct_answer)
    if problems:
        # The missing true/false answer is already reported; check the rest with a stand-in.
        stored = rules.true_false_choices(correct_answer=True)
    spec = rules.QuestionSpec(
        kind=kind,
        prompt=prompt.strip(),
        choices=stored if kind != rules.SHORT else tuple(choices),
        accepted_answers=tuple(rules.clean_accepted_answers(accepted_answers))
        if kind == rules.SHORT
        else (),
        points=points,
    )
    problems.extend(rules.question_problems(spec))
    _raise_if(problems, detail)
    return spec


def _require_quiz(activity: Activity) -> None:
    if activity.kind != rules.QUIZ:
        raise ValidationFailed(
            _("Questions belong to knowledge checks."),
            errors=[
                FieldProblem(
                    _("“%(title)s” is not a knowledge check.") % {"title": activity.title},
                    field="activity",
                )
            ],
        )


def _write_choices(question: Question, choices: Sequence[ChoiceSpec]) -> None:
    """Make the question's choices exactly `choices`, reusing existing rows in order so that
    ids already seen by learners stay stable where the choice is still there."""
    existing = list(
        Choice.objects.filter(tenant_id=question.tenant_id, question=question).order_by(
            "position", "id"
        )
    )
    keep, extra = existing[: len(choices)], existing[len(choices) :]
    for position, (row, spec) in enumerate(zip(keep, choices, strict=False)):
        row.text, row.is_correct, row.feedback, row.position = (
            spec.text,
            spec.is_correct,
            spec.feedback,
            position,
        )
    if keep:
        Choice.objects.bulk_update(keep, ["text", "is_correct", "feedback", "position"])
    if extra:
        Choice.objects.filter(pk__in=[c.pk for c in extra]).delete()
    Choice.objects.bulk_create(
        [
            Choice(
                tenant_id=question.tenant_id,
                question=question,
                text=spec.text,
                is_correct=spec.is_correct,
                feedback=spec.feedback,
                position=position,
            )
            for position, spec in enumerate(choices)
            if position >= len(keep)
        ]
    )


@transaction.atomic
def add_question(
    *,
    actor: Actor,
    activity: Activity,
    kind: str,
    prompt: str,
    choices: Sequence[ChoiceSpec] = (),
    accepted_answers: Iterable[str] = (),
    correct_answer: bool | None = None,
    correct_feedback: str = "",
    incorrect_feedback: str = "",
    points: int = 1,
) -> Question:
    """Add a question at the end of a knowledge check, with its choices, all or nothing.

    single: exactly one choice correct; multiple: at least one; true_false: the True/False
    choices are created for you from `correct_answer`; short: `accepted_answers`, no choices.
    """
    _require_edit(actor=actor, course=activity.course)
    _require_quiz(activity)
    spec = _checked_question(
        kind=kind,
        prompt=prompt,
        choices=choices,
        accepted_answers=accepted_answers,
        correct_answer=correct_answer,
        points=points,
        detail=_("The question could not be added."),
    )
    _lock_course(activity.course)
    last = Question.objects.filter(tenant_id=activity.tenant_id, activity=activity).aggregate(
        m=Max("position")
    )["m"]
    question = Question.objects.create(
        tenant_id=activity.tenant_id,
        activity=activity,
        kind=kind,
        prompt=spec.prompt,
        points=points,
        position=0 if last is None else last + 1,
        accepted_answers=list(spec.accepted_answers),
        correct_feedback=correct_feedback.strip(),
        incorrect_feedback=incorrect_feedback.strip(),
    )
    _write_choices(question, spec.choices)
    _outline_changed(actor=actor, course=activity.course)
    return question


@transaction.atomic
def update_question(
    *,
    actor: Actor,
    question: Question,
    kind: str,
    prompt: str,
    choices: Sequence[ChoiceSpec] = (),
    accepted_answers: Iterable[str] = (),
    correct_answer: bool | None = None,
    correct_feedback: str = "",
    incorrect_feedback: str = "",
    points: int = 1,
) -> Question:
    """Replace a question and its choices in one go (same rules as add_question)."""
    activity = question.activity
    _require_edit(actor=actor, course=activity.course)
    spec = _checked_question(
        kind=kind,
        prompt=prompt,
        choices=choices,
        accepted_answers=accepted_answers,
        correct_answer=correct_answer,
        points=points,
        detail=_("The question could not be saved."),
    )
    _lock_course(activity.course)
    question.kind = kind
    question.prompt = spec.prompt
    question.points = points
    question.accepted_answers = list(spec.accepted_answers)
    question.correct_feedback = correct_feedback.strip()
    question.incorrect_feedback = incorrect_feedback.strip()
    question.save()
    _write_choices(question, spec.choices)
    _outline_changed(actor=actor, course=activity.course)
    return question


@transaction.atomic
def delete_question(*, actor: Actor, question: Question) -> None:
    """Delete a question (past attempts keep their recorded answers and results)."""
    activity = question.activity
    _require_edit(actor=actor, course=activity.course)
    _lock_course(activity.course)
    question.delete()
    _outline_changed(actor=actor, course=activity.course)
