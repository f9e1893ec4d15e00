"""What the record store (uptake.xapi) asks cmi5 about requests made with an AU session's
credential (the token of a fetch URL). Two calls, both cheap no-ops for other credentials:

- `check_request`, when a request is authenticated: an AU's token reaches only its own
  learner's documents and its registration's statements, and may not change LMS.LaunchData.
- `statements_stored`, inside the transaction that stores a batch: the cmi5 rules (403 and
  nothing stored when one is broken), then moveOn (services.statements_received).
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _

from uptake.cmi5 import rules, services
from uptake.core.actor import Actor
from uptake.core.errors import PermissionDenied
from uptake.xapi import rules as xapi_rules
from uptake.xapi.models import Credential


def _resource(path: str) -> str:
    """ "statements", "activities/state", ... from /xapi/<resource>[/]."""
    tail = path.split("/xapi/", 1)[-1]
    return tail.strip("/")


def _agent_key(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        agent = json.loads(raw)
        return xapi_rules.agent_key(agent) if isinstance(agent, dict) else None
    except (ValueError, TypeError):
        return None


def check_request(
    *, credential: Credential, method: str, path: str, params: dict[str, str]
) -> None:
    """PermissionDenied (403) when an AU session's token asks for something outside its
    session."""
    if not services.is_session_credential(credential):
        return
    session = services.session_for(credential)
    if session is None:
        raise PermissionDenied(_("This credential belongs to no cmi5 session."))
    if not session.open and method != "GET":
        raise PermissionDenied(_("This AU session has ended; launch the AU again."))
    resource = _resource(path)
    me = xapi_rules.agent_key(services.actor_for(session.registration.enrollment.person))
    if resource == "statements":
        if method in ("GET", "HEAD") and params.get("registration", "").lower() != str(
            session.registration.registration
        ):
            raise PermissionDenied(
                _(
                    "An AU session's token reads only the statements of its registration (send "
                    "the registration parameter)."
                )
            )
        return
    if resource in ("activities/state", "agents/profile"):
        if _agent_key(params.get("agent")) != me:
            raise PermissionDenied(
                _("An AU session's token reaches only the documents of its own learner.")
            )
        if (
            resource == "activities/state"
            and method not in ("GET", "HEAD")
            and params.get("stateId", "") in (rules.LAUNCH_DATA, "")
        ):
            raise PermissionDenied(_("An AU may not change or delete LMS.LaunchData."))


def statements_stored(
    *, actor: Actor, credential: Credential, statements: list[dict[str, Any]]
) -> None:
    if not services.is_session_credential(credential):
        return
    services.statements_received(actor=actor, credential=credential, statements=statements)
