"""Reads of the catalogue: always scoped to one tenant, N+1-safe.

A course, module, activity or question of another tenant is never returned: looking one up by id
raises NotFound, exactly as for an id that does not exist.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from uptake.catalog import rules
from uptake.catalog.models import Activity, Choice, Course, Module, Question
from uptake.core.errors import NotFound

if TYPE_CHECKING:
    from uptake.identity.context import Viewer


def _with_tag(qs: QuerySet[Course], tag: str) -> QuerySet[Course]:
    """Courses carrying `tag` (tags are stored normalised, see rules.normalise_tags)."""
    tag = rules.normalise_tags([tag])[0] if tag.strip() else ""
    if not tag:
        return qs
    if connection.features.supports_json_field_contains:
        return qs.filter(tags__contains=[tag])
    # SQLite has no JSON containment: match the element as it is serialised, quotes included,
    # so "sales" does not match "presales".
    return qs.filter(tags__icontains=json.dumps(tag))


def _matching(qs: QuerySet[Course], q: str) -> QuerySet[Course]:
    q = q.strip()
    if not q:
        return qs
    return qs.filter(Q(title__icontains=q) | Q(summary__icontains=q) | Q(tags__icontains=q))


def published_courses(*, tenant_id: int) -> QuerySet[Course]:
    """Courses learners can see in the tenant's catalogue, by title."""
    return Course.objects.filter(tenant_id=tenant_id, status=Course.Status.PUBLISHED).order_by(
        "title", "id"
    )


def search_catalog(
    *, tenant_id: int, q: str = "", tag: str | None = None, language: str | None = None
) -> QuerySet[Course]:
    """Published courses whose title, summary or tags contain `q` (case-insensitive), optionally
    carrying `tag` and written in `language`."""
    qs = _matching(published_courses(tenant_id=tenant_id), q)
    if tag:
        qs = _with_tag(qs, tag)
    if language:
        qs = qs.filter(language=language)
    return qs


def courses_for_authoring(
    *,
    tenant_id: int,
    viewer: Viewer,
    q: str = "",
    tag: str | None = None,
    status: str | None = None,
) -> QuerySet[Course]:
    """Every course of the tenant in any status, for content owners and platform admins (others
    get none), with `module_count` and `activity_count` annotated and the owner loaded."""
    if not rules.can_author(viewer.roles) or viewer.tenant_id != tenant_id:
        return Course.objects.none()
    qs = _matching(Course.objects.filter(tenant_id=tenant_id), q)
    if tag:
        qs = _with_tag(qs, tag)
    if status:
        qs = qs.filter(status=status)
    return (
        qs.select_related("owner")
        .annotate(
            module_count=Count("modules", distinct=True),
            activity_count=Count("activities", distinct=True),
        )
        .order_by("title", "id")
    )


def courses_visible_to(
    *,
    viewer: Viewer,
    q: str = "",
    tag: str | None = None,
    status: str | None = None,
    language: str | None = None,
) -> QuerySet[Course]:
    """What the course list shows a viewer: every course for authors (filterable by status),
    published courses for everyone else."""
    if rules.can_author(viewer.roles):
        qs = courses_for_authoring(
            tenant_id=viewer.tenant_id, viewer=viewer, q=q, tag=tag, status=status
        )
        return qs.filter(language=language) if language else qs
    if status and status != Course.Status.PUBLISHED:
        return Course.objects.none()
    return search_catalog(tenant_id=viewer.tenant_id, q=q, tag=tag, language=language)


def get_course(*, tenant_id: int, course_id: int, published_only: bool = False) -> Course:
    """One course of the tenant; NotFound if it is another tenant's, missing, or (with
    `published_only`) not published."""
    qs = Course.objects.filter(tenant_id=tenant_id, pk=course_id)
    if published_only:
        qs = qs.filter(status=Course.Status.PUBLISHED)
    course = qs.select_related("owner").first()
    if course is None:
        raise NotFound(_("There is no course %(id)s.") % {"id": course_id})
    return course


def _activities_prefetch(*, include_questions: bool) -> Prefetch:
    activities = Activity.objects.order_by("position", "id")
    if include_questions:
        activities = activities.prefetch_related(
            Prefetch(
                "questions",
                queryset=Question.objects.order_by("position", "id").prefetch_related(
                    Prefetch("choices", queryset=Choice.objects.order_by("position", "id"))
                ),
            )
        )
    return Prefetch("activities", queryset=activities)


def course_outline(
    *,
    tenant_id: int,
    course_id: int,
    published_only: bool = False,
    include_questions: bool = False,
) -> Course:
    """A course with `modules.all()` and each module's `activities.all()` prefetched in order
    (3 queries; 5 with `include_questions`, which also prefetches questions and their choices)."""
    qs = Course.objects.filter(tenant_id=tenant_id, pk=course_id)
    if published_only:
        qs = qs.filter(status=Course.Status.PUBLISHED)
    course = (
        qs.select_related("owner")
        .prefetch_related(
            Prefetch(
                "modules",
                queryset=Module.objects.order_by("position", "id").prefetch_related(
                    _activities_prefetch(include_questions=include_questions)
                ),
            )
        )
        .first()
    )
    if course is None:
        raise NotFound(_("There is no course %(id)s.") % {"id": course_id})
    return course


def get_activity(*, tenant_id: int, activity_id: int) -> Activity:
    """One activity of the tenant with its module and course loaded; NotFound otherwise."""
    activity = (
        Activity.objects.filter(tenant_id=tenant_id, pk=activity_id)
        .select_related("module", "course", "course__owner")
        .first()
    )
    if activity is None:
        raise NotFound(_("There is no activity %(id)s.") % {"id": activity_id})
    return activity


def get_module(*, tenant_id: int, module_id: int) -> Module:
    """One module of the tenant with its course loaded; NotFound otherwise."""
    module = (
        Module.objects.filter(tenant_id=tenant_id, pk=module_id)
        .select_related("course", "course__owner")
        .first()
    )
    if module is None:
        raise NotFound(_("There is no module %(id)s.") % {"id": module_id})
    return module


def get_question(*, tenant_id: int, question_id: int) -> Question:
    """One question of the tenant with its activity and course loaded; NotFound otherwise."""
    question = (
        Question.objects.filter(tenant_id=tenant_id, pk=question_id)
        .select_related("activity", "activity__course", "activity__course__owner")
        .prefetch_related(Prefetch("choices", queryset=Choice.objects.order_by("position", "id")))
        .first()
    )
    if question is None:
        raise NotFound(_("There is no question %(id)s.") % {"id": question_id})
    return question


def required_activity_ids(*, course: Course) -> list[int]:
    """Ids of the course's required activities in learning order (module, then activity)."""
    return list(
        Activity.objects.filter(tenant_id=course.tenant_id, course_id=course.pk, required=True)
        .order_by("module__position", "module_id", "position", "id")
        .values_list("id", flat=True)
    )


def questions_of(*, activity: Activity) -> list[Question]:
    """The activity's questions in order, each with `choices.all()` prefetched in order."""
    return list(
        Question.objects.filter(tenant_id=activity.tenant_id, activity_id=activity.pk)
        .order_by("position", "id")
        .prefetch_related(Prefetch("choices", queryset=Choice.objects.order_by("position", "id")))
    )
