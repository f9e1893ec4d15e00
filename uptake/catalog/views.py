"""Authoring screens: courses, their outline, activities and knowledge checks.

Thin: parse a form, make one service or selector call, render. A ValidationFailed re-renders the
form with every problem beside its field (status 400); a refused delete comes back as a message.
Other domain errors (403/404) are rendered by the web error middleware.
"""

from __future__ import annotations

import os
from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from uptake.catalog import rules, selectors, services
from uptake.catalog.forms import (
    ActivityForm,
    CourseForm,
    ModuleForm,
    NewActivityForm,
    QuestionForm,
    apply_problems,
)
from uptake.catalog.models import Activity, Course, Question
from uptake.catalog.rendering import embed_video, render_markdown
from uptake.core.errors import Conflict, FieldProblem, NotFound, PermissionDenied, ValidationFailed
from uptake.identity.context import Viewer
from uptake.identity.decorators import viewer_required
from uptake.people.rules import CONTENT_OWNER, PLATFORM_ADMIN

AUTHORS = (PLATFORM_ADMIN, CONTENT_OWNER)
# Served inline (shown by the browser); every other upload is downloaded.
INLINE_EXTENSIONS = frozenset({"mp4", "webm", "ogg", "pdf", "png", "jpg"})


def _viewer(request: HttpRequest) -> Viewer:
    return request.viewer  # type: ignore[attr-defined,no-any-return]


def _editable_course(viewer: Viewer, course_id: int) -> Course:
    course = selectors.get_course(tenant_id=viewer.tenant_id, course_id=course_id)
    if not rules.can_edit_course(viewer.roles, viewer.person.pk, course):
        raise PermissionDenied(_("Only the course's owner or a platform admin can edit it."))
    return course


def _direction(request: HttpRequest) -> rules.Direction:
    return "up" if request.POST.get("direction") == "up" else "down"


# --- Courses -----------------------------------------------------------------------------------


@viewer_required(*AUTHORS)
def courses(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    status = request.GET.get("status") or None
    if status not in Course.Status.values:
        status = None
    q = request.GET.get("q", "")
    rows = list(
        selectors.courses_for_authoring(
            tenant_id=viewer.tenant_id, viewer=viewer, q=q, status=status
        )
    )
    items = [
        {"course": c, "can_edit": rules.can_edit_course(viewer.roles, viewer.person.pk, c)}
        for c in rows
    ]
    return render(
        request,
        "catalog/courses.html",
        {
            "items": items,
            "q": q,
            "status": status or "",
            "statuses": Course.Status.choices,
            "can_create": rules.can_create_course(viewer.roles),
        },
    )


@viewer_required(*AUTHORS)
@require_http_methods(["GET", "POST"])
def course_new(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    form = CourseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            course = services.create_course(
                actor=viewer.actor, tenant_id=viewer.tenant_id, **form.course_attrs()
            )
        except ValidationFailed as exc:
            apply_problems(form, exc)
        else:
            messages.success(request, _("Course created. Now add its modules and activities."))
            return redirect("catalog:course_edit", course_id=course.pk)
    status = 400 if form.is_bound else 200
    return render(request, "catalog/course_new.html", {"form": form}, status=status)


def _course_edit_page(
    request: HttpRequest,
    course: Course,
    *,
    form: CourseForm | None = None,
    module_form: ModuleForm | None = None,
    publish_problems: list[FieldProblem] | None = None,
    status: int = 200,
) -> HttpResponse:
    viewer = _viewer(request)
    outline = selectors.course_outline(tenant_id=viewer.tenant_id, course_id=course.pk)
    return render(
        request,
        "catalog/course_edit.html",
        {
            "course": outline,
            "form": form or CourseForm(initial=CourseForm.initial_for(outline)),
            "module_form": module_form or ModuleForm(),
            "activity_kinds": Activity.Kind.choices,
            "publish_problems": publish_problems,
        },
        status=status,
    )


@viewer_required(*AUTHORS)
@require_http_methods(["GET", "POST"])
def course_edit(request: HttpRequest, course_id: int) -> HttpResponse:
    viewer = _viewer(request)
    course = _editable_course(viewer, course_id)
    if request.method != "POST":
        return _course_edit_page(request, course)
    form = CourseForm(request.POST)
    if form.is_valid():
        try:
            services.update_course(actor=viewer.actor, course=course, **form.course_attrs())
        except ValidationFailed as exc:
            apply_problems(form, exc)
        else:
            messages.success(request, _("Course saved."))
            return redirect("catalog:course_edit", course_id=course.pk)
    return _course_edit_page(request, course, form=form, status=400)


@viewer_required(*AUTHORS)
@require_POST
def course_publish(request: HttpRequest, course_id: int) -> HttpResponse:
    viewer = _viewer(request)
    course = _editable_course(viewer, course_id)
    try:
        services.publish_course(actor=viewer.actor, course=course)
    except ValidationFailed as exc:
        return _course_edit_page(request, course, publish_problems=exc.errors, status=400)
    messages.success(request, _("“%(title)s” is published.") % {"title": course.title})
    return redirect("catalog:course_edit", course_id=course.pk)


@viewer_required(*AUTHORS)
@require_POST
def course_status(request: HttpRequest, course_id: int) -> HttpResponse:
    """Unpublish (back to draft) or archive."""
    viewer = _viewer(request)
    course = _editable_course(viewer, course_id)
    if request.POST.get("action") == "archive":
        services.archive_course(actor=viewer.actor, course=course)
        messages.success(request, _("Course archived."))
    else:
        services.unpublish_course(actor=viewer.actor, course=course)
        messages.success(request, _("Course unpublished: it is a draft again."))
    return redirect("catalog:course_edit", course_id=course.pk)


# --- Modules -----------------------------------------------------------------------------------


@viewer_required(*AUTHORS)
@require_POST
def module_add(request: HttpRequest, course_id: int) -> HttpResponse:
    viewer = _viewer(request)
    course = _editable_course(viewer, course_id)
    form = ModuleForm(request.POST)
    if form.is_valid():
        try:
            services.add_module(actor=viewer.actor, course=course, title=form.cleaned_data["title"])
        except ValidationFailed as exc:
            apply_problems(form, exc)
        else:
            return redirect(reverse("catalog:course_edit", args=[course.pk]) + "#modules")
    return _course_edit_page(request, course, module_form=form, status=400)


@viewer_required(*AUTHORS)
@require_POST
def module_update(request: HttpRequest, module_id: int) -> HttpResponse:
    viewer = _viewer(request)
    module = selectors.get_module(tenant_id=viewer.tenant_id, module_id=module_id)
    form = ModuleForm(request.POST)
    if form.is_valid():
        services.update_module(actor=viewer.actor, module=module, title=form.cleaned_data["title"])
        messages.success(request, _("Module renamed."))
    else:
        messages.error(request, _("A module needs a title."))
    return redirect(
        reverse("catalog:course_edit", args=[module.course_id]) + f"#module-{module.pk}"
    )


@viewer_required(*AUTHORS)
@require_POST
def module_move(request: HttpRequest, module_id: int) -> HttpResponse:
    viewer = _viewer(request)
    module = selectors.get_module(tenant_id=viewer.tenant_id, module_id=module_id)
    services.move_module(actor=viewer.actor, module=module, direction=_direction(request))
    return redirect(
        reverse("catalog:course_edit", args=[module.course_id]) + f"#module-{module.pk}"
    )


@viewer_required(*AUTHORS)
@require_POST
def module_delete(request: HttpRequest, module_id: int) -> HttpResponse:
    viewer = _viewer(request)
    module = selectors.get_module(tenant_id=viewer.tenant_id, module_id=module_id)
    try:
        services.delete_module(actor=viewer.actor, module=module)
    except Conflict as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Module deleted."))
    return redirect(reverse("catalog:course_edit", args=[module.course_id]) + "#modules")


# --- Activities --------------------------------------------------------------------------------


@viewer_required(*AUTHORS)
@require_POST
def activity_add(request: HttpRequest, module_id: int) -> HttpResponse:
    viewer = _viewer(request)
    module = selectors.get_module(tenant_id=viewer.tenant_id, module_id=module_id)
    form = NewActivityForm(request.POST)
    if form.is_valid():
        try:
            activity = services.add_activity(
                actor=viewer.actor,
                module=module,
                kind=form.cleaned_data["kind"],
                title=form.cleaned_data["title"],
            )
        except ValidationFailed as exc:
            messages.error(request, "; ".join(p.message for p in exc.errors) or exc.detail)
        else:
            return redirect("catalog:activity_edit", activity_id=activity.pk)
    else:
        messages.error(request, _("Choose a type and give the activity a title."))
    return redirect(
        reverse("catalog:course_edit", args=[module.course_id]) + f"#module-{module.pk}"
    )


def _activity_page(
    request: HttpRequest, activity: Activity, form: ActivityForm, *, status: int = 200
) -> HttpResponse:
    file_url = reverse("catalog:activity_file", args=[activity.pk]) if activity.file else None
    return render(
        request,
        "catalog/activity_edit.html",
        {
            "activity": activity,
            "course": activity.course,
            "form": form,
            "file_url": file_url,
            "file_name": os.path.basename(activity.file.name or "") if activity.file else "",
            "video": embed_video(title=activity.title, file_url=file_url, url=activity.url)
            if activity.kind == rules.VIDEO
            else "",
            "questions": selectors.questions_of(activity=activity)
            if activity.kind == rules.QUIZ
            else [],
            "question_kinds": Question.Kind.choices,
        },
        status=status,
    )


@viewer_required(*AUTHORS)
@require_http_methods(["GET", "POST"])
def activity_edit(request: HttpRequest, activity_id: int) -> HttpResponse:
    viewer = _viewer(request)
    activity = selectors.get_activity(tenant_id=viewer.tenant_id, activity_id=activity_id)
    _editable_course(viewer, activity.course_id)
    if request.method != "POST":
        form = ActivityForm(initial=ActivityForm.initial_for(activity), kind=activity.kind)
        return _activity_page(request, activity, form)
    form = ActivityForm(request.POST, request.FILES, kind=activity.kind)
    if form.is_valid():
        try:
            services.update_activity(actor=viewer.actor, activity=activity, **form.activity_attrs())
        except ValidationFailed as exc:
            apply_problems(form, exc)
            # The instance may hold unsaved values; show what is stored.
            activity = selectors.get_activity(tenant_id=viewer.tenant_id, activity_id=activity_id)
        else:
            messages.success(request, _("Activity saved."))
            return redirect("catalog:activity_edit", activity_id=activity.pk)
    return _activity_page(request, activity, form, status=400)


@viewer_required(*AUTHORS)
@require_POST
def activity_move(request: HttpRequest, activity_id: int) -> HttpResponse:
    viewer = _viewer(request)
    activity = selectors.get_activity(tenant_id=viewer.tenant_id, activity_id=activity_id)
    services.move_activity(actor=viewer.actor, activity=activity, direction=_direction(request))
    return redirect(
        reverse("catalog:course_edit", args=[activity.course_id]) + f"#activity-{activity.pk}"
    )


@viewer_required(*AUTHORS)
@require_POST
def activity_delete(request: HttpRequest, activity_id: int) -> HttpResponse:
    viewer = _viewer(request)
    activity = selectors.get_activity(tenant_id=viewer.tenant_id, activity_id=activity_id)
    course_id = activity.course_id
    try:
        services.delete_activity(actor=viewer.actor, activity=activity)
    except Conflict as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Activity deleted."))
    return redirect(reverse("catalog:course_edit", args=[course_id]) + "#modules")


@viewer_required(*AUTHORS)
@require_POST
def markdown_preview(request: HttpRequest) -> HttpResponse:
    """The sanitised HTML of the posted `body` (or `description`), for the htmx preview."""
    text = request.POST.get("body", request.POST.get("description", ""))
    return render(request, "catalog/_preview.html", {"html": render_markdown(text)})


# --- Questions ---------------------------------------------------------------------------------


def _question_page(
    request: HttpRequest,
    activity: Activity,
    form: QuestionForm,
    *,
    status: int = 200,
    question: Any = None,
) -> HttpResponse:
    return render(
        request,
        "catalog/question_form.html",
        {"activity": activity, "course": activity.course, "form": form, "question": question},
        status=status,
    )


@viewer_required(*AUTHORS)
@require_http_methods(["GET", "POST"])
def question_new(request: HttpRequest, activity_id: int) -> HttpResponse:
    viewer = _viewer(request)
    activity = selectors.get_activity(tenant_id=viewer.tenant_id, activity_id=activity_id)
    _editable_course(viewer, activity.course_id)
    if activity.kind != rules.QUIZ:
        raise NotFound(_("Only knowledge checks have questions."))
    if request.method != "POST":
        kind = request.GET.get("kind")
        initial = {"kind": kind if kind in rules.QUESTION_KINDS else rules.SINGLE}
        return _question_page(request, activity, QuestionForm(initial=initial))
    form = QuestionForm(request.POST)
    if form.is_valid():
        try:
            services.add_question(actor=viewer.actor, activity=activity, **form.question_attrs())
        except ValidationFailed as exc:
            apply_problems(form, exc)
        else:
            messages.success(request, _("Question added."))
            return redirect(reverse("catalog:activity_edit", args=[activity.pk]) + "#questions")
    return _question_page(request, activity, form, status=400)


@viewer_required(*AUTHORS)
@require_http_methods(["GET", "POST"])
def question_edit(request: HttpRequest, question_id: int) -> HttpResponse:
    viewer = _viewer(request)
    question = selectors.get_question(tenant_id=viewer.tenant_id, question_id=question_id)
    activity = question.activity
    _editable_course(viewer, activity.course_id)
    if request.method != "POST":
        return _question_page(request, activity, QuestionForm(question=question), question=question)
    form = QuestionForm(request.POST, question=question)
    if form.is_valid():
        try:
            services.update_question(actor=viewer.actor, question=question, **form.question_attrs())
        except ValidationFailed as exc:
            apply_problems(form, exc)
        else:
            messages.success(request, _("Question saved."))
            return redirect(reverse("catalog:activity_edit", args=[activity.pk]) + "#questions")
    return _question_page(request, activity, form, status=400, question=question)


@viewer_required(*AUTHORS)
@require_POST
def question_delete(request: HttpRequest, question_id: int) -> HttpResponse:
    viewer = _viewer(request)
    question = selectors.get_question(tenant_id=viewer.tenant_id, question_id=question_id)
    activity_id = question.activity_id
    services.delete_question(actor=viewer.actor, question=question)
    messages.success(request, _("Question deleted."))
    return redirect(reverse("catalog:activity_edit", args=[activity_id]) + "#questions")


# --- Files -------------------------------------------------------------------------------------


def _may_see_files(viewer: Viewer, course: Course) -> bool:
    if course.status != Course.Status.DRAFT:
        return True
    if rules.can_edit_course(viewer.roles, viewer.person.pk, course):
        return True
    from uptake.enrollment.selectors import enrollment_for

    return enrollment_for(person=viewer.person, course=course) is not None


# FileResponse streams; the guard passes any response through unchanged.
@viewer_required()  # type: ignore[arg-type]
def activity_file(request: HttpRequest, activity_id: int) -> FileResponse:
    """An activity's uploaded file, for signed-in people of the activity's tenant only (media
    files are never served publicly). A draft course's files only for those who can edit it or
    are enrolled in it."""
    viewer = _viewer(request)
    activity = selectors.get_activity(tenant_id=viewer.tenant_id, activity_id=activity_id)
    if not activity.file or not _may_see_files(viewer, activity.course):
        raise NotFound(_("There is no file for this activity."))
    name = os.path.basename(activity.file.name or "")
    response = FileResponse(
        activity.file.open("rb"),
        as_attachment=rules.file_extension(name) not in INLINE_EXTENSIONS,
        filename=name,
    )
    response["Cache-Control"] = "private, max-age=3600"
    return response
