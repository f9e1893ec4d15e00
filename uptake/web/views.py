"""Learner and manager screens: parse the request, make one domain call, render.

Every view here is guarded by `viewer_required` (anonymous users go to the login page) and
reads only the viewer's tenant through the apps' selectors; a learner reaches only their own
enrolments (any other id is a 404, never a 403, so ids cannot be probed).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from uptake.catalog import selectors as catalog
from uptake.catalog.models import Activity, Course
from uptake.core import clock
from uptake.core.errors import NotFound, PermissionDenied, ValidationFailed
from uptake.enrollment import rules as enrolment_rules
from uptake.enrollment import selectors as enrolments
from uptake.enrollment import services as enrolment_services
from uptake.enrollment.models import Enrollment
from uptake.identity.context import Viewer
from uptake.identity.decorators import viewer_required
from uptake.paths import selectors as paths
from uptake.people import rules as roles
from uptake.people import services as people_services
from uptake.progress import selectors as progress
from uptake.progress import services as progress_services
from uptake.web import display
from uptake.web.forms import PreferencesForm, ThrottledAuthenticationForm

CATALOGUE_PAGE_SIZE = 24


def _viewer(request: HttpRequest) -> Viewer:
    viewer: Viewer = request.viewer  # type: ignore[attr-defined]
    return viewer


def _set_language_cookie(response: HttpResponse, language: str) -> None:
    """LocaleMiddleware reads this cookie: the UI speaks the person's language from now on."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


# --- Login -----------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """Django's login with throttling: a locked-out attempt answers 429 with Retry-After."""

    template_name = "web/login.html"
    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        if getattr(form, "lockout", None) is not None:
            response.status_code = 429
            response["Retry-After"] = str(form.lockout.retry_after_seconds)
        return response

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        person = getattr(form.get_user(), "person", None)
        if person is not None and person.language:
            _set_language_cookie(response, person.language)
        return response


login_view = LoginView.as_view()
logout_view = auth_views.LogoutView.as_view()


# --- My learning -----------------------------------------------------------------------------


def _badge_for(item: Any) -> display.Badge:
    return display.status_badge(
        status=str(item.status),
        due_at=item.due_at,
        is_overdue=item.is_overdue,
        is_due_soon=item.is_due_soon,
        today=timezone.localdate(),
        tz=timezone.get_current_timezone(),
    )


@viewer_required()
def home(request: HttpRequest) -> HttpResponse:
    """My learning: the viewer's assignments, overdue first, each a step from its next activity."""
    viewer = _viewer(request)
    items = enrolments.my_learning(person=viewer.person)
    rows: list[dict[str, Any]] = []
    for item in items:
        completed = str(item.status) == Enrollment.Status.COMPLETED
        if item.next_activity is not None and not completed:
            action_url = reverse("web:activity", args=[item.enrollment.pk, item.next_activity.pk])
            action_label = (
                _("Start") if str(item.status) == Enrollment.Status.ASSIGNED else _("Continue")
            )
        else:
            action_url = reverse("web:course", args=[item.course.pk])
            action_label = _("Review") if completed else _("Open")
        rows.append(
            {
                "item": item,
                "badge": _badge_for(item),
                "action_url": action_url,
                "action_label": action_label,
            }
        )
    overdue = [row for row in rows if row["item"].is_overdue]
    return render(
        request,
        "web/home.html",
        {
            "rows": rows,
            "overdue_count": len(overdue),
            "first_overdue": overdue[0] if overdue else None,
        },
    )


# --- Catalogue -------------------------------------------------------------------------------


@viewer_required()
def catalogue(request: HttpRequest) -> HttpResponse:
    """Published courses matching the search and tag; htmx requests get just the results."""
    viewer = _viewer(request)
    q = request.GET.get("q", "").strip()[:200]
    tag = request.GET.get("tag", "").strip() or None
    courses = catalog.search_catalog(tenant_id=viewer.tenant_id, q=q, tag=tag)
    page = Paginator(courses, CATALOGUE_PAGE_SIZE).get_page(request.GET.get("page"))
    enrolled = set(
        enrolments.list_enrollments(
            tenant_id=viewer.tenant_id, person_id=viewer.person.pk, include_withdrawn=False
        )
        .filter(course_id__in=[course.pk for course in page.object_list])
        .values_list("course_id", flat=True)
    )
    context: dict[str, Any] = {"page": page, "q": q, "tag": tag or "", "enrolled": enrolled}
    htmx = getattr(request, "htmx", None)
    # A history restore (back button after a live search) needs the whole page.
    if htmx and not htmx.history_restore_request:
        response = render(request, "web/_course_results.html", context)
        patch_vary_headers(response, ["HX-Request"])
        return response
    tags: set[str] = set()
    for course_tags in catalog.published_courses(tenant_id=viewer.tenant_id).values_list(
        "tags", flat=True
    ):
        tags.update(str(t) for t in course_tags or [])
    context["tags"] = sorted(tags, key=str.lower)
    response = render(request, "web/catalogue.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
@viewer_required()
def enrol(request: HttpRequest, course_id: int) -> HttpResponse:
    """Self-enrol in an open course, then go straight to it."""
    viewer = _viewer(request)
    course = catalog.get_course(
        tenant_id=viewer.tenant_id, course_id=course_id, published_only=True
    )
    enrolment_services.self_enroll(actor=viewer.actor, person=viewer.person, course=course)
    messages.success(request, _("You are enrolled in “%(title)s”.") % {"title": course.title})
    return redirect("web:course", course_id=course.pk)


# --- Course and player -----------------------------------------------------------------------


def _flat_activities(course: Course) -> list[Activity]:
    return [activity for module in course.modules.all() for activity in module.activities.all()]


def _outline_rows(course: Course, course_progress: Any) -> list[dict[str, Any]]:
    """Modules with each activity's state (done, passed) for the templates."""
    out = []
    for module in course.modules.all():
        out.append(
            {
                "module": module,
                "activities": [
                    {"activity": activity, "state": _state_of(course_progress, activity.pk)}
                    for activity in module.activities.all()
                ],
            }
        )
    return out


def _state_of(course_progress: Any, activity_id: int) -> Any:
    if course_progress is None:
        return None
    return course_progress.activities.get(activity_id)


@viewer_required()
def course(request: HttpRequest, course_id: int) -> HttpResponse:
    """A course's outline, the viewer's progress in it, and a way in (enrol, start, continue)."""
    viewer = _viewer(request)
    outline = catalog.course_outline(tenant_id=viewer.tenant_id, course_id=course_id)
    enrollment = enrolments.enrollment_for(person=viewer.person, course=outline)
    if enrollment is not None and enrollment.status == Enrollment.Status.WITHDRAWN:
        enrollment = None
    if enrollment is None and outline.status != Course.Status.PUBLISHED:
        raise NotFound(_("No course with id %(id)s.") % {"id": course_id})
    course_progress = progress.course_progress(enrollment=enrollment) if enrollment else None
    start_url = None
    if enrollment is not None:
        activities = _flat_activities(outline)
        target = _next_activity(activities, course_progress, enrollment)
        if target is not None:
            start_url = reverse("web:activity", args=[enrollment.pk, target.pk])
    return render(
        request,
        "web/course.html",
        {
            "course": outline,
            "enrollment": enrollment,
            "progress": course_progress,
            "outline": _outline_rows(outline, course_progress),
            "start_url": start_url,
        },
    )


def _next_activity(
    activities: list[Activity], course_progress: Any, enrollment: Enrollment
) -> Activity | None:
    """Where "Continue" goes: the first activity not done, else the last opened, else the first."""
    for activity in activities:
        state = _state_of(course_progress, activity.pk)
        if state is None or not state.done:
            return activity
    by_id = {a.pk: a for a in activities}
    return by_id.get(enrollment.last_activity_id or 0) or (activities[0] if activities else None)


def _own_enrollment(viewer: Viewer, enrollment_id: int) -> Enrollment:
    enrollment = enrolments.get_enrollment(tenant_id=viewer.tenant_id, enrollment_id=enrollment_id)
    # Another person's enrolment is "not found", so ids cannot be probed.
    if enrollment.person_id != viewer.person.pk or enrollment.status == Enrollment.Status.WITHDRAWN:
        raise NotFound(_("No enrolment with id %(id)s.") % {"id": enrollment_id})
    return enrollment


def _player_context(
    request: HttpRequest, viewer: Viewer, enrollment_id: int, activity_id: int
) -> dict[str, Any]:
    enrollment = _own_enrollment(viewer, enrollment_id)
    outline = catalog.course_outline(tenant_id=viewer.tenant_id, course_id=enrollment.course_id)
    activities = _flat_activities(outline)
    index = next((i for i, a in enumerate(activities) if a.pk == activity_id), None)
    if index is None:
        raise NotFound(_("No activity with id %(id)s in this course.") % {"id": activity_id})
    activity = activities[index]
    return {
        "enrollment": enrollment,
        "course": outline,
        "activity": activity,
        "previous": activities[index - 1] if index > 0 else None,
        "next": activities[index + 1] if index + 1 < len(activities) else None,
    }


def _with_progress(ctx: dict[str, Any]) -> dict[str, Any]:
    enrollment = ctx["enrollment"]
    course_progress = progress.course_progress(enrollment=enrollment)
    ctx["progress"] = course_progress
    ctx["outline"] = _outline_rows(ctx["course"], course_progress)
    ctx["state"] = _state_of(course_progress, ctx["activity"].pk)
    ctx["course_completed"] = enrollment.status == Enrollment.Status.COMPLETED
    return ctx


def _quiz_context(request: HttpRequest, ctx: dict[str, Any]) -> dict[str, Any]:
    """The knowledge check: the latest result (if any) and the form when one may (re)try."""
    enrollment, activity, state = ctx["enrollment"], ctx["activity"], ctx["state"]
    attempts = list(progress.attempts_of(enrollment=enrollment, activity=activity))
    latest = attempts[-1] if attempts else None
    attempts_left = state.attempts_left if state is not None else None
    can_retry = latest is not None and not latest.passed and attempts_left != 0
    show_form = latest is None or (can_retry and request.GET.get("retry") == "1")
    questions = progress.questions_for_attempt(enrollment=enrollment, activity=activity)
    feedback = []
    if latest is not None:
        # In the order this attempt showed them (it may have been shuffled).
        shown = progress.questions_for_attempt(
            enrollment=enrollment, activity=activity, attempt_number=latest.number
        )
        feedback = _feedback_rows(shown, latest)
    ctx.update(
        {
            "latest": latest,
            "feedback": feedback,
            "attempts_left": attempts_left,
            "can_retry": can_retry,
            "show_form": show_form,
            "questions": questions if show_form else [],
        }
    )
    return ctx


def _feedback_rows(questions: list[Any], attempt: Any) -> list[dict[str, Any]]:
    """Per question: correct or not, what was answered, and the feedback for that answer."""
    rows = []
    for question in questions:
        key = str(question.pk)
        result = (attempt.results or {}).get(key, {})
        answer = (attempt.answers or {}).get(key)
        if isinstance(answer, list):
            chosen_ids = {str(a) for a in answer}
            chosen = [c for c in question.choices.all() if str(c.pk) in chosen_ids]
        elif question.kind == "true_false" and isinstance(answer, str):
            # True/false answers are "true"/"false": show the choice as the learner saw it.
            said = answer.strip().lower()
            chosen = [c for c in question.choices.all() if c.text.strip().lower() == said]
        else:
            chosen = []
        rows.append(
            {
                "question": question,
                "correct": bool(result.get("correct")),
                "feedback": result.get("feedback", ""),
                "chosen": chosen,
                "answer_text": answer if isinstance(answer, str) and not chosen else "",
            }
        )
    return rows


@viewer_required()
def activity(request: HttpRequest, enrollment_id: int, activity_id: int) -> HttpResponse:
    """The course player: the activity, the module navigation, and how to move on."""
    viewer = _viewer(request)
    ctx = _player_context(request, viewer, enrollment_id, activity_id)
    # A locked step of a learning path cannot be opened yet: say what unlocks it.
    locked = paths.locked_reason(enrollment=ctx["enrollment"])
    if locked:
        raise PermissionDenied(locked)
    progress_services.open_activity(
        actor=viewer.actor, enrollment=ctx["enrollment"], activity=ctx["activity"]
    )
    ctx = _with_progress(ctx)
    if ctx["activity"].kind == Activity.Kind.QUIZ:
        ctx = _quiz_context(request, ctx)
    return render(request, "web/activity.html", ctx)


@require_POST
@viewer_required()
def complete(request: HttpRequest, enrollment_id: int, activity_id: int) -> HttpResponse:
    """Mark a (non-quiz) activity as complete; htmx gets the refreshed progress panel."""
    viewer = _viewer(request)
    ctx = _player_context(request, viewer, enrollment_id, activity_id)
    if ctx["activity"].kind == Activity.Kind.SCORM:
        raise ValidationFailed(_("A SCORM activity is completed by its content, not by hand."))
    if ctx["activity"].kind == Activity.Kind.CMI5:
        raise ValidationFailed(_("A cmi5 activity is completed by its content, not by hand."))
    ctx["enrollment"] = progress_services.complete_activity(
        actor=viewer.actor, enrollment=ctx["enrollment"], activity=ctx["activity"]
    )
    ctx = _with_progress(ctx)
    if getattr(request, "htmx", False):
        # The outline beside the player shows the new tick too (out-of-band swap).
        return render(request, "web/_activity_status.html", {**ctx, "oob": True})
    return HttpResponseRedirect(reverse("web:activity", args=[enrollment_id, activity_id]))


def _parse_answers(request: HttpRequest, questions: list[Any]) -> dict[str, Any]:
    """Form fields q<id> -> the service's answer shape (choice ids, "true"/"false" or text)."""
    answers: dict[str, Any] = {}
    for question in questions:
        field = f"q{question.pk}"
        if question.kind in ("single", "multiple"):
            values = [v for v in request.POST.getlist(field) if v.isdigit()]
            if values:
                answers[str(question.pk)] = [int(v) for v in values]
        else:
            value = request.POST.get(field, "").strip()
            if value:
                answers[str(question.pk)] = value
    return answers


@require_POST
@viewer_required()
def submit(request: HttpRequest, enrollment_id: int, activity_id: int) -> HttpResponse:
    """Submit a knowledge-check attempt; then show its feedback (a redirect, so reload is safe)."""
    viewer = _viewer(request)
    ctx = _player_context(request, viewer, enrollment_id, activity_id)
    enrollment, quiz = ctx["enrollment"], ctx["activity"]
    if quiz.kind != Activity.Kind.QUIZ:
        raise NotFound(_("This activity is not a knowledge check."))
    questions = catalog.questions_of(activity=quiz)
    url = reverse("web:activity", args=[enrollment_id, activity_id])
    try:
        progress_services.submit_attempt(
            actor=viewer.actor,
            enrollment=enrollment,
            activity=quiz,
            answers=_parse_answers(request, questions),
        )
    except ValidationFailed as exc:
        # Unanswered questions or no attempts left: say so above the knowledge check.
        messages.error(request, exc.detail)
        return HttpResponseRedirect(url + "?retry=1")
    return HttpResponseRedirect(url)


# --- Profile ---------------------------------------------------------------------------------


@viewer_required()
def profile(request: HttpRequest) -> HttpResponse:
    """The viewer's HR record (read-only) and their own time zone and language."""
    viewer = _viewer(request)
    person = viewer.person
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            people_services.update_person(
                actor=viewer.actor,
                person=person,
                time_zone=form.cleaned_data["time_zone"],
                language=form.cleaned_data["language"],
            )
            messages.success(request, _("Your preferences are saved."))
            response = redirect("web:profile")
            _set_language_cookie(response, form.cleaned_data["language"])
            return response
    else:
        form = PreferencesForm(initial={"time_zone": person.time_zone, "language": person.language})
    return render(request, "web/profile.html", {"person": person, "form": form})


# --- My team ---------------------------------------------------------------------------------


def _team_badge(enrollment: Enrollment, now: Any) -> display.Badge:
    status = str(enrollment.status)
    return display.status_badge(
        status=status,
        due_at=enrollment.due_at,
        is_overdue=enrolment_rules.is_overdue(status=status, due_at=enrollment.due_at, now=now),
        is_due_soon=enrolment_rules.is_due_soon(status=status, due_at=enrollment.due_at, now=now),
        today=timezone.localdate(),
        tz=timezone.get_current_timezone(),
    )


@viewer_required(roles.MANAGER)
def team(request: HttpRequest) -> HttpResponse:
    """A manager's reports (or everyone below them) with their assignments, overdue first."""
    viewer = _viewer(request)
    include_indirect = request.GET.get("everyone") == "1"
    rows = enrolments.team_overview(manager=viewer.person, include_indirect=include_indirect)
    now = clock.now()
    members = [
        {
            "row": row,
            "enrollments": [
                # Already overdue first, then by due date, completed last.
                {"e": e, "badge": _team_badge(e, now)}
                for e in row.enrollments
            ],
        }
        for row in rows
    ]
    return render(
        request, "web/team.html", {"members": members, "include_indirect": include_indirect}
    )
