"""cmi5 screens and endpoints (mounted at /cmi5/): the fetch URL an AU calls for its token,
the package's files, the launch from the course player, the return page, and the import form
on the course's authoring screen. Thin: parse, one call, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from uptake.catalog import rules as catalog_rules
from uptake.catalog import selectors as catalog
from uptake.cmi5 import selectors, services
from uptake.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from uptake.enrollment import selectors as enrolments
from uptake.enrollment.models import Enrollment
from uptake.identity.context import Viewer
from uptake.identity.decorators import viewer_required
from uptake.paths import selectors as paths
from uptake.people.rules import CONTENT_OWNER, PLATFORM_ADMIN
from uptake.scorm.archive import normalise
from uptake.scorm.views import content_type


def _viewer(request: HttpRequest) -> Viewer:
    return request.viewer  # type: ignore[attr-defined,no-any-return]


def _cors(response: HttpResponse) -> HttpResponse:
    # The fetch URL is the token: an AU hosted elsewhere may call it from its own origin.
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
def fetch(request: HttpRequest, token: str) -> HttpResponse:
    """8.2: POST once for {"auth-token": ...}; afterwards (or for an unknown token) HTTP 200
    with {"error-code", "error-text"}. GET is not allowed (it could be cached)."""
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    if request.method != "POST":
        response = JsonResponse(
            {"error-code": "3", "error-text": _("The fetch URL takes POST only.")}, status=405
        )
        response["Allow"] = "POST, OPTIONS"
        return _cors(response)
    try:
        auth = services.fetch_token(token=token)
    except services.FetchRefused as exc:
        return _cors(JsonResponse({"error-code": str(exc.error_code), "error-text": exc.detail}))
    return _cors(JsonResponse({"auth-token": auth}))


@require_safe
@xframe_options_sameorigin
@viewer_required()  # type: ignore[arg-type]
def content(request: HttpRequest, structure_id: int, path: str) -> FileResponse:
    """One file of a cmi5 package, for the course's enrolled learners and authors only; the
    path must be one the package listed."""
    viewer = _viewer(request)
    cs = selectors.get_structure(tenant_id=viewer.tenant_id, structure_id=structure_id)
    name = normalise(path)
    files = set(cs.files)
    if name not in files:
        name = {f.casefold(): f for f in files}.get(name.casefold(), name)
    if not selectors.may_open_content(viewer=viewer, structure=cs) or name not in files:
        raise NotFound(_("There is no file “%(path)s” in this package.") % {"path": path})
    response = FileResponse(
        default_storage.open(f"{cs.storage_dir}/{name}", "rb"), content_type=content_type(name)
    )
    response["Cache-Control"] = "private, max-age=300"
    return response


def _own(viewer: Viewer, enrollment_id: int) -> Enrollment:
    enrollment = enrolments.get_enrollment(tenant_id=viewer.tenant_id, enrollment_id=enrollment_id)
    if enrollment.person_id != viewer.person.pk or enrollment.status == Enrollment.Status.WITHDRAWN:
        raise NotFound(_("There is no enrolment %(id)s.") % {"id": enrollment_id})
    return enrollment


def _server(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


@require_POST
@viewer_required()
def launch(request: HttpRequest, enrollment_id: int, activity_id: int) -> HttpResponse:
    """The player's launch button: start a session and send the browser (or the player's
    frame) to the AU."""
    viewer = _viewer(request)
    enrollment = _own(viewer, enrollment_id)
    activity = catalog.get_activity(tenant_id=viewer.tenant_id, activity_id=activity_id)
    au = selectors.au_for_activity(activity=activity)
    if au is None:
        raise NotFound(_("“%(title)s” has no cmi5 AU.") % {"title": activity.title})
    locked = paths.locked_reason(enrollment=enrollment)
    if locked:
        raise PermissionDenied(locked)
    framed = request.POST.get("target") == "frame"
    back = reverse("cmi5:returned", args=[enrollment.pk, activity.pk])
    started = services.launch(
        actor=viewer.actor,
        enrollment=enrollment,
        au=au,
        server_url=_server(request),
        return_url=f"{_server(request)}{back}{'?frame=1' if framed else ''}",
        mode=request.POST.get("mode", "Normal"),
    )
    return HttpResponseRedirect(started.url)


@require_safe
@xframe_options_sameorigin
@viewer_required()
def returned(request: HttpRequest, enrollment_id: int, activity_id: int) -> HttpResponse:
    """Where an AU sends the learner when it ends (returnURL): back to the course player (the
    whole page, when the AU ran in the player's frame)."""
    player = reverse("web:activity", args=[enrollment_id, activity_id])
    if request.GET.get("frame") != "1":
        return redirect(player)
    return render(request, "cmi5/returned.html", {"player_url": player})


@require_POST
@viewer_required(PLATFORM_ADMIN, CONTENT_OWNER)
def import_form(request: HttpRequest, course_id: int) -> HttpResponse:
    """The cmi5 section of the course's authoring screen."""
    viewer = _viewer(request)
    course = catalog.get_course(tenant_id=viewer.tenant_id, course_id=course_id)
    if not catalog_rules.can_edit_course(viewer.roles, viewer.person.pk, course):
        raise PermissionDenied(_("Only the course's owner or a platform admin can edit it."))
    upload = request.FILES.get("package")
    if upload is None:
        messages.error(request, _("Choose the cmi5 course package (cmi5.xml or .zip) to import."))
    else:
        try:
            imported = services.import_structure(actor=viewer.actor, course=course, upload=upload)
        except ValidationFailed as exc:
            request.session["cmi5_import_problems"] = {
                "course": course.pk,
                "detail": exc.detail,
                "errors": [p.message for p in exc.errors],
            }
        except Conflict as exc:
            request.session["cmi5_import_problems"] = {
                "course": course.pk,
                "detail": exc.detail,
                "errors": [],
            }
        else:
            count = len(imported.aus)
            messages.success(
                request,
                ngettext(
                    "cmi5 course “%(title)s” imported: %(count)d AU, in a new module.",
                    "cmi5 course “%(title)s” imported: %(count)d AUs, in a new module.",
                    count,
                )
                % {"title": imported.structure.title, "count": count},
            )
    return redirect("catalog:course_edit", course_id=course.pk)
