"""SCORM screens: the package's files (served to enrolled learners and authors, same origin)
and the package upload of the activity's authoring screen. Thin: parse, one call, render."""

from __future__ import annotations

import mimetypes
import posixpath

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST, require_safe

from uptake.catalog import rules as catalog_rules
from uptake.catalog import selectors as catalog
from uptake.core.errors import NotFound, PermissionDenied, ValidationFailed
from uptake.identity.context import Viewer
from uptake.identity.decorators import viewer_required
from uptake.people.rules import CONTENT_OWNER, PLATFORM_ADMIN
from uptake.scorm import selectors, services
from uptake.scorm.archive import normalise
from uptake.scorm.routes import content_url
from uptake.scorm.templatetags.scorm import player_context

# Content types the platform's tables may not know (or know wrongly) for web content.
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "htm": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "mjs": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "json": "application/json",
    "xml": "application/xml",
    "xsd": "application/xml",
    "svg": "image/svg+xml",
    "woff": "font/woff",
    "woff2": "font/woff2",
    "ttf": "font/ttf",
    "otf": "font/otf",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "vtt": "text/vtt; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "swf": "application/x-shockwave-flash",
}


def _viewer(request: HttpRequest) -> Viewer:
    return request.viewer  # type: ignore[attr-defined,no-any-return]


def content_type(path: str) -> str:
    ext = path.rsplit(".", 1)[-1].lower() if "." in posixpath.basename(path) else ""
    if ext in CONTENT_TYPES:
        return CONTENT_TYPES[ext]
    guessed, _encoding = mimetypes.guess_type(path)
    return guessed or "application/octet-stream"


@require_safe
@xframe_options_sameorigin
@viewer_required()  # type: ignore[arg-type]
def content(request: HttpRequest, package_id: int, path: str) -> FileResponse:
    """One file of a package, for the course's enrolled learners and authors only; the path
    must be one the package listed (so nothing outside it can be named)."""
    viewer = _viewer(request)
    package = selectors.get_package(tenant_id=viewer.tenant_id, package_id=package_id)
    name = normalise(path)
    files = set(package.files)
    if name not in files:
        # Content written on Windows often links with the wrong case; names are unique
        # regardless of case (archive.py), so the match is unambiguous.
        name = {f.casefold(): f for f in files}.get(name.casefold(), name)
    if not selectors.may_open_content(viewer=viewer, package=package) or name not in files:
        raise NotFound(_("There is no file “%(path)s” in this package.") % {"path": path})
    response = FileResponse(
        default_storage.open(f"{package.storage_dir}/{name}", "rb"),
        content_type=content_type(name),
    )
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_safe
@viewer_required(PLATFORM_ADMIN, CONTENT_OWNER)
def preview(request: HttpRequest, activity_id: int) -> HttpResponse:
    """An author plays the package as a learner would, with nothing recorded."""
    viewer = _viewer(request)
    activity = catalog.get_activity(tenant_id=viewer.tenant_id, activity_id=activity_id)
    if not catalog_rules.can_edit_course(viewer.roles, viewer.person.pk, activity.course):
        raise PermissionDenied(_("Only the course's owner or a platform admin can preview it."))
    raw = request.GET.get("item", "")
    view = selectors.player(
        enrollment=None, activity=activity, item_id=int(raw) if raw.isdigit() else None
    )
    if view is None or view.current is None:
        raise NotFound(_("“%(title)s” has no SCORM package yet.") % {"title": activity.title})
    start = {
        "values": services.preview_values(person=viewer.person, item=view.current),
        "content_url": content_url(view.package, view.current.href),
    }
    ctx = player_context(
        request,
        view,
        page_url=reverse("scorm:preview", args=[activity.pk]),
        exit_url=reverse("catalog:activity_edit", args=[activity.pk]),
        preview=start,
    )
    return render(request, "scorm/preview.html", {**ctx, "activity": activity})


@require_POST
@viewer_required(PLATFORM_ADMIN, CONTENT_OWNER)
def upload(request: HttpRequest, activity_id: int) -> HttpResponse:
    """The package form of a SCORM activity's authoring screen."""
    viewer = _viewer(request)
    activity = catalog.get_activity(tenant_id=viewer.tenant_id, activity_id=activity_id)
    if not catalog_rules.can_edit_course(viewer.roles, viewer.person.pk, activity.course):
        raise PermissionDenied(_("Only the course's owner or a platform admin can edit it."))
    upload_file = request.FILES.get("package")
    if upload_file is None:
        messages.error(request, _("Choose the SCORM package (.zip) to upload."))
    else:
        try:
            package = services.upload_package(
                actor=viewer.actor, activity=activity, upload=upload_file
            )
        except ValidationFailed as exc:
            request.session["scorm_upload_problems"] = {
                "activity": activity.pk,
                "detail": exc.detail,
                "errors": [p.message for p in exc.errors],
            }
        else:
            messages.success(
                request,
                _("%(edition)s package “%(title)s” uploaded: %(count)d files.")
                % {"edition": package.edition, "title": package.title, "count": package.file_count},
            )
    return redirect("catalog:activity_edit", activity_id=activity.pk)
