"""The catalogue API (/api/v1/courses): parse, one selector or service call, render.

Learners see published courses, and never the answer key: `is_correct`, per-choice `feedback`,
`accepted_answers` and the question feedback are null unless the viewer may edit the course.
Ids of another tenant's rows answer 404, as if they did not exist.
"""

# No `from __future__ import annotations` here: django-ninja's pagination reads the route's
# annotations at import time and cannot resolve them as strings.
import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from uptake.catalog import rules, selectors, services
from uptake.catalog.models import Activity, Course
from uptake.catalog.rules import ChoiceSpec
from uptake.core.errors import NotFound
from uptake.identity.context import viewer_for

router = Router()


# --- Schemas -----------------------------------------------------------------------------------


class CourseOut(Schema):
    id: int
    title: str
    slug: str
    summary: str
    status: str
    language: str
    tags: list[str]
    estimated_minutes: int
    is_open: bool
    owner_id: int | None
    published_at: dt.datetime | None
    updated_at: dt.datetime


class ChoiceOut(Schema):
    id: int
    text: str


class QuestionOut(Schema):
    id: int
    kind: str
    prompt: str
    position: int
    points: int
    choices: list[ChoiceOut]


class ActivityOut(Schema):
    id: int
    module_id: int
    kind: str
    title: str
    position: int
    required: bool
    estimated_minutes: int
    body_html: str
    url: str
    file_url: str | None
    pass_mark: int
    attempts_allowed: int
    shuffle_questions: bool
    questions: list[QuestionOut]

    # The resolvers also see the learner view re-validated as a dict (see course_detail).
    @staticmethod
    def resolve_file_url(obj: Activity | dict[str, Any]) -> str | None:
        if isinstance(obj, dict):
            return obj.get("file_url")
        return reverse("catalog:activity_file", args=[obj.pk]) if obj.file else None

    @staticmethod
    def resolve_questions(obj: Activity | dict[str, Any]) -> list[Any]:
        if isinstance(obj, dict):
            return list(obj.get("questions") or [])
        return list(obj.questions.all()) if obj.kind == rules.QUIZ else []


class ModuleOut(Schema):
    id: int
    title: str
    position: int
    activities: list[ActivityOut]


class CourseDetailOut(CourseOut):
    description: str
    modules: list[ModuleOut]


# What only the course's editors see (the answer key). Learners get the learner schemas above,
# validated into these with the extra fields left null.


class AuthorChoiceOut(ChoiceOut):
    is_correct: bool | None = None
    feedback: str | None = None


class AuthorQuestionOut(QuestionOut):
    accepted_answers: list[str] | None = None
    correct_feedback: str | None = None
    incorrect_feedback: str | None = None
    choices: list[AuthorChoiceOut]  # type: ignore[assignment]


class AuthorActivityOut(ActivityOut):
    body: str | None = None
    questions: list[AuthorQuestionOut]  # type: ignore[assignment]


class AuthorModuleOut(ModuleOut):
    activities: list[AuthorActivityOut]  # type: ignore[assignment]


class AuthorCourseDetailOut(CourseDetailOut):
    modules: list[AuthorModuleOut]  # type: ignore[assignment]


class ModuleSummaryOut(Schema):
    id: int
    course_id: int
    title: str
    position: int


class CourseFilters(Schema):
    q: str = ""
    tag: str | None = None
    status: Course.Status | None = None
    language: str | None = None


class CourseIn(Schema):
    title: str = Field(..., max_length=200)
    summary: str = Field("", max_length=500)
    description: str = ""
    language: str = Field("en", max_length=12)
    tags: list[str] = []
    estimated_minutes: int = Field(0, ge=0)
    is_open: bool = True
    slug: str | None = Field(None, max_length=120)


class CoursePatch(Schema):
    title: str | None = Field(None, max_length=200)
    summary: str | None = Field(None, max_length=500)
    description: str | None = None
    language: str | None = Field(None, max_length=12)
    tags: list[str] | None = None
    estimated_minutes: int | None = Field(None, ge=0)
    is_open: bool | None = None
    slug: str | None = Field(None, max_length=120)
    owner_id: int | None = None


class ModuleIn(Schema):
    title: str = Field(..., max_length=200)


class ActivityIn(Schema):
    kind: Activity.Kind
    title: str = Field(..., max_length=200)
    body: str = ""
    url: str = Field("", max_length=1000)
    required: bool = True
    estimated_minutes: int = Field(0, ge=0)
    pass_mark: int = Field(80, ge=0, le=100)
    attempts_allowed: int = Field(0, ge=0, le=1000)
    shuffle_questions: bool = False


class ActivityPatch(Schema):
    title: str | None = Field(None, max_length=200)
    body: str | None = None
    url: str | None = Field(None, max_length=1000)
    required: bool | None = None
    estimated_minutes: int | None = Field(None, ge=0)
    pass_mark: int | None = Field(None, ge=0, le=100)
    attempts_allowed: int | None = Field(None, ge=0, le=1000)
    shuffle_questions: bool | None = None


class ChoiceIn(Schema):
    text: str = Field(..., max_length=500)
    is_correct: bool = False
    feedback: str = ""


class QuestionIn(Schema):
    kind: str = Field(..., description="single | multiple | true_false | short")
    prompt: str
    points: int = Field(1, ge=0, le=100)
    choices: list[ChoiceIn] = []
    accepted_answers: list[str] = []
    correct_answer: bool | None = Field(
        None, description="true_false only: whether the statement is true"
    )
    correct_feedback: str = ""
    incorrect_feedback: str = ""


# --- Routes ------------------------------------------------------------------------------------


@router.get("", response=list[CourseOut])
@paginate(LimitOffsetPagination)
def list_courses(request: HttpRequest, filters: Query[CourseFilters]) -> Any:
    """Published courses for learners; every course for content owners and platform admins.
    Filter with `q` (title, summary, tags), `tag`, `language`, and (authors) `status`."""
    viewer = viewer_for(request)
    return selectors.courses_visible_to(
        viewer=viewer,
        q=filters.q,
        tag=filters.tag,
        status=filters.status,
        language=filters.language,
    )


@router.get("/{course_id}", response=AuthorCourseDetailOut)
def course_detail(request: HttpRequest, course_id: int) -> Any:
    """A course with its modules and activities in order. Knowledge-check questions come with
    their choices; the answer key only for people who may edit the course."""
    viewer = viewer_for(request)
    course = selectors.course_outline(
        tenant_id=viewer.tenant_id,
        course_id=course_id,
        published_only=not rules.can_author(viewer.roles),
        include_questions=True,
    )
    if rules.can_edit_course(viewer.roles, viewer.person.pk, course):
        return AuthorCourseDetailOut.from_orm(course)
    # Serialised through the learner schema first, so the answer key never leaves the server.
    return CourseDetailOut.from_orm(course).dict()


@router.post("", response={201: CourseOut})
def create_course(request: HttpRequest, payload: CourseIn) -> Any:
    viewer = viewer_for(request)
    course = services.create_course(
        actor=viewer.actor, tenant_id=viewer.tenant_id, **payload.dict()
    )
    return 201, course


@router.patch("/{course_id}", response=CourseOut)
def update_course(request: HttpRequest, course_id: int, payload: CoursePatch) -> Any:
    viewer = viewer_for(request)
    course = selectors.get_course(tenant_id=viewer.tenant_id, course_id=course_id)
    return services.update_course(
        actor=viewer.actor, course=course, **payload.dict(exclude_unset=True)
    )


@router.post("/{course_id}/publish", response=CourseOut)
def publish_course(request: HttpRequest, course_id: int) -> Any:
    """Publish; 400 with one entry in `errors` per problem if the course is not ready."""
    viewer = viewer_for(request)
    course = selectors.get_course(tenant_id=viewer.tenant_id, course_id=course_id)
    return services.publish_course(actor=viewer.actor, course=course)


@router.post("/{course_id}/modules", response={201: ModuleSummaryOut})
def add_module(request: HttpRequest, course_id: int, payload: ModuleIn) -> Any:
    viewer = viewer_for(request)
    course = selectors.get_course(tenant_id=viewer.tenant_id, course_id=course_id)
    return 201, services.add_module(actor=viewer.actor, course=course, title=payload.title)


@router.post("/{course_id}/modules/{module_id}/activities", response={201: AuthorActivityOut})
def add_activity(request: HttpRequest, course_id: int, module_id: int, payload: ActivityIn) -> Any:
    """Add a page, link, video (by URL) or knowledge check; files are uploaded in the
    authoring screens."""
    viewer = viewer_for(request)
    module = selectors.get_module(tenant_id=viewer.tenant_id, module_id=module_id)
    if module.course_id != course_id:
        raise NotFound(
            _("Course %(course)s has no module %(module)s.")
            % {"course": course_id, "module": module_id}
        )
    activity = services.add_activity(actor=viewer.actor, module=module, **payload.dict())
    return 201, activity


@router.patch("/activities/{activity_id}", response=AuthorActivityOut)
def update_activity(request: HttpRequest, activity_id: int, payload: ActivityPatch) -> Any:
    viewer = viewer_for(request)
    activity = selectors.get_activity(tenant_id=viewer.tenant_id, activity_id=activity_id)
    return services.update_activity(
        actor=viewer.actor, activity=activity, **payload.dict(exclude_unset=True)
    )


@router.post("/activities/{activity_id}/questions", response={201: AuthorQuestionOut})
def add_question(request: HttpRequest, activity_id: int, payload: QuestionIn) -> Any:
    """Add a question to a knowledge check. true_false: give `correct_answer` (the True and
    False choices are created); short: give `accepted_answers`."""
    viewer = viewer_for(request)
    activity = selectors.get_activity(tenant_id=viewer.tenant_id, activity_id=activity_id)
    data = payload.dict()
    choices = [ChoiceSpec(**c) for c in data.pop("choices")]
    question = services.add_question(actor=viewer.actor, activity=activity, choices=choices, **data)
    return 201, question
