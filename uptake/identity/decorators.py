"""View guards: every HTML view says who may see it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

from uptake.identity.context import viewer_for


def viewer_required(
    *roles: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Require a signed-in person (and one of `roles` if given); sets `request.viewer`.

    Anonymous users are sent to the login page; a missing role raises PermissionDenied, which
    the web error middleware renders as a clear 403 page.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            viewer = viewer_for(request)
            if roles:
                viewer.require(*roles)
            request.viewer = viewer  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
