"""Nudge screens: campaigns (list, editor with a live preview per channel, experiment and its
results), the delivery log, policy and webhooks (platform admins); the learner's preferences,
the one-click unsubscribe page, the overdue/due-soon banner; the manager's "nudge my team"."""

from __future__ import annotations

import datetime as dt
from email import policy as email_policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from uptake.core.errors import DomainError, FieldProblem, ValidationFailed
from uptake.identity.context import Viewer
from uptake.identity.decorators import viewer_required
from uptake.nudges import rules, selectors, services
from uptake.nudges.models import Campaign, Delivery, WebhookEndpoint
from uptake.people.models import Person

ADMIN = "platform_admin"


def _viewer(request: HttpRequest) -> Viewer:
    viewer: Viewer = request.viewer  # type: ignore[attr-defined]
    return viewer


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.strip().isdigit() else None


def _time(value: str | None, field: str) -> dt.time | None:
    if not value:
        return None
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            _("%(value)s is not a time.") % {"value": value},
            errors=[FieldProblem(_("Use HH:MM."), field=field)],
        ) from None


def campaign_data(data: Any) -> services.CampaignData:
    """The editor's fields as the service's input (ValidationFailed for unreadable numbers)."""

    def number(name: str, default: int | None) -> int | None:
        raw = (data.get(name) or "").strip()
        if not raw:
            return default
        if not raw.lstrip("-").isdigit():
            raise ValidationFailed(
                _("%(field)s must be a whole number.") % {"field": name},
                errors=[FieldProblem(_("A whole number."), field=name)],
            )
        return int(raw)

    return services.CampaignData(
        name=data.get("name", ""),
        trigger=data.get("trigger", ""),
        days=number("days", 0) or 0,
        repeat_every_days=number("repeat_every_days", 2) or 0,
        max_repeats=number("max_repeats", 1) or 0,
        escalate_after_days=number("escalate_after_days", None),
        scope=data.get("scope", "tenant"),
        audience_id=_int(data.get("audience_id")),
        path_id=_int(data.get("path_id")),
        course_id=_int(data.get("course_id")),
        channels=tuple(data.getlist("channels")),
        attach_calendar=bool(data.get("attach_calendar")),
        priority=number("priority", 0) or 0,
        mandatory=bool(data.get("mandatory")),
        window_start=_time(data.get("window_start"), "window_start"),
        window_end=_time(data.get("window_end"), "window_end"),
        weekdays="".join(data.getlist("weekdays")),
        weekly_cap=number("weekly_cap", None),
        subject=data.get("subject", ""),
        body=data.get("body", ""),
        holdout_percent=number("holdout_percent", 0) or 0,
        outcome_days=number("outcome_days", 7) or 0,
    )


def _choices(tenant_id: int) -> dict[str, Any]:
    from uptake.audiences.models import Audience
    from uptake.catalog.models import Course
    from uptake.paths.models import LearningPath

    return {
        "triggers": Campaign.Trigger.choices,
        "scopes": Campaign.Scope.choices,
        "all_channels": rules.CHANNELS,
        "audiences": Audience.objects.filter(tenant_id=tenant_id, is_active=True).order_by("name"),
        "paths": LearningPath.objects.filter(tenant_id=tenant_id).order_by("title"),
        "courses": Course.objects.filter(tenant_id=tenant_id).order_by("title"),
        "weekday_choices": [
            ("1", _("Mon")),
            ("2", _("Tue")),
            ("3", _("Wed")),
            ("4", _("Thu")),
            ("5", _("Fri")),
            ("6", _("Sat")),
            ("7", _("Sun")),
        ],
    }


@viewer_required(ADMIN)
def campaign_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    return render(
        request,
        "nudges/campaigns.html",
        {"campaigns": selectors.list_campaigns(tenant_id=viewer.tenant_id)},
    )


@viewer_required(ADMIN)
def campaign_edit(request: HttpRequest, campaign_id: int | None = None) -> HttpResponse:
    viewer = _viewer(request)
    campaign = (
        selectors.get_campaign(tenant_id=viewer.tenant_id, campaign_id=campaign_id)
        if campaign_id
        else None
    )
    error: DomainError | None = None
    if request.method == "POST":
        try:
            data = campaign_data(request.POST)
            if campaign is None:
                campaign = services.create_campaign(
                    actor=viewer.actor, tenant_id=viewer.tenant_id, data=data, roles=viewer.roles
                )
            else:
                campaign = services.update_campaign(
                    actor=viewer.actor,
                    tenant_id=viewer.tenant_id,
                    campaign_id=campaign.pk,
                    data=data,
                    roles=viewer.roles,
                )
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("nudges:campaign", campaign_id=campaign.pk)
    people = Person.objects.filter(tenant_id=viewer.tenant_id, is_active=True).order_by(
        "last_name", "first_name"
    )[:200]
    return render(
        request,
        "nudges/campaign.html",
        {
            "campaign": campaign,
            "error": error,
            "posted": request.POST if request.method == "POST" else None,
            "people": people,
            **_choices(viewer.tenant_id),
        },
        status=400 if error else 200,
    )


@viewer_required(ADMIN)
def campaign_preview(request: HttpRequest, campaign_id: int) -> HttpResponse:
    from uptake.nudges.preview import render_preview

    viewer = _viewer(request)
    campaign = selectors.get_campaign(tenant_id=viewer.tenant_id, campaign_id=campaign_id)
    person_id = _int(request.GET.get("person_id")) or viewer.person.pk
    try:
        preview = render_preview(campaign=campaign, person_id=person_id)
    except DomainError as exc:
        return render(request, "nudges/_preview.html", {"error": exc}, status=404)
    return render(request, "nudges/_preview.html", {"p": preview, "campaign": campaign})


@require_POST
@viewer_required(ADMIN)
def campaign_status(request: HttpRequest, campaign_id: int) -> HttpResponse:
    viewer = _viewer(request)
    try:
        services.set_status(
            actor=viewer.actor,
            tenant_id=viewer.tenant_id,
            campaign_id=campaign_id,
            status=request.POST.get("status", ""),
            roles=viewer.roles,
        )
    except DomainError as exc:
        messages.error(request, exc.detail)
    return redirect("nudges:campaign", campaign_id=campaign_id)


@require_POST
@viewer_required(ADMIN)
def campaign_message(request: HttpRequest, campaign_id: int) -> HttpResponse:
    viewer = _viewer(request)
    try:
        services.set_message(
            actor=viewer.actor,
            tenant_id=viewer.tenant_id,
            campaign_id=campaign_id,
            language=request.POST.get("language", ""),
            arm=request.POST.get("arm", ""),
            subject=request.POST.get("subject", ""),
            body=request.POST.get("body", ""),
            roles=viewer.roles,
        )
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Message saved."))
    return redirect("nudges:campaign", campaign_id=campaign_id)


@require_POST
@viewer_required(ADMIN)
def experiment_start(request: HttpRequest, campaign_id: int) -> HttpResponse:
    viewer = _viewer(request)
    arms = []
    names = request.POST.getlist("arm_name")
    subjects = request.POST.getlist("arm_subject")
    bodies = request.POST.getlist("arm_body")
    delays = request.POST.getlist("arm_delay_hours")
    for i, name in enumerate(names):
        if not name.strip():
            continue
        delay = delays[i] if i < len(delays) else "0"
        arms.append(
            services.ArmData(
                name=name,
                weight=1,
                subject=subjects[i] if i < len(subjects) else "",
                body=bodies[i] if i < len(bodies) else "",
                delay_hours=int(delay) if delay.isdigit() else 0,
            )
        )
    holdout = request.POST.get("holdout_percent", "0")
    try:
        services.start_experiment(
            actor=viewer.actor,
            tenant_id=viewer.tenant_id,
            campaign_id=campaign_id,
            arms=arms,
            holdout_percent=int(holdout) if holdout.isdigit() else -1,
            roles=viewer.roles,
        )
    except DomainError as exc:
        details = "; ".join(p.message for p in exc.errors)
        messages.error(request, f"{exc.detail} {details}".strip())
    else:
        messages.success(request, _("Experiment started."))
    return redirect("nudges:campaign", campaign_id=campaign_id)


@viewer_required(ADMIN)
def experiment_results(request: HttpRequest, campaign_id: int) -> HttpResponse:
    viewer = _viewer(request)
    results = selectors.experiment_results(tenant_id=viewer.tenant_id, campaign_id=campaign_id)
    return render(request, "nudges/results.html", {"r": results, "metrics": selectors.METRICS})


@require_POST
@viewer_required(ADMIN)
def experiment_stop(request: HttpRequest, campaign_id: int) -> HttpResponse:
    viewer = _viewer(request)
    try:
        services.stop_experiment(
            actor=viewer.actor,
            tenant_id=viewer.tenant_id,
            campaign_id=campaign_id,
            winner=request.POST.get("winner", ""),
            roles=viewer.roles,
        )
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Experiment stopped; the winner now goes to everyone."))
    return redirect("nudges:results", campaign_id=campaign_id)


@viewer_required(ADMIN)
def delivery_log(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    log = selectors.delivery_log(
        tenant_id=viewer.tenant_id,
        campaign_id=_int(request.GET.get("campaign")),
        channel=request.GET.get("channel") or None,
        status=request.GET.get("status") or None,
        reason=request.GET.get("reason") or None,
        person=request.GET.get("person") or None,
    )
    page = Paginator(log, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "nudges/log.html",
        {
            "page": page,
            "f": request.GET,
            "campaigns": Campaign.objects.filter(tenant_id=viewer.tenant_id).order_by("name"),
            "all_channels": rules.CHANNELS,
            "statuses": [*Delivery.Status.values, "retrying"],
            "reasons": [
                rules.Reason.CAP,
                rules.Reason.QUIET_HOURS,
                rules.Reason.PREFERENCE,
                rules.Reason.UNSUBSCRIBED,
                rules.Reason.NO_LONGER_APPLIES,
                rules.Reason.NO_ADDRESS,
                rules.Reason.NO_MANAGER,
            ],
        },
    )


@viewer_required(ADMIN)
def nudge_settings(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    error: DomainError | None = None
    if request.method == "POST":
        try:
            action = request.POST.get("action")
            if action == "policy":
                services.set_policy(
                    actor=viewer.actor,
                    tenant_id=viewer.tenant_id,
                    window_start=_time(request.POST.get("window_start"), "window_start")
                    or dt.time(9),
                    window_end=_time(request.POST.get("window_end"), "window_end") or dt.time(17),
                    weekdays="".join(request.POST.getlist("weekdays")),
                    weekly_cap=_int(request.POST.get("weekly_cap")) or 0,
                    roles=viewer.roles,
                )
            elif action == "add_webhook":
                services.add_webhook(
                    actor=viewer.actor,
                    tenant_id=viewer.tenant_id,
                    kind=request.POST.get("kind", ""),
                    name=request.POST.get("name", ""),
                    url=request.POST.get("url", ""),
                    roles=viewer.roles,
                )
            elif action == "remove_webhook":
                services.remove_webhook(
                    actor=viewer.actor,
                    tenant_id=viewer.tenant_id,
                    endpoint_id=_int(request.POST.get("endpoint_id")) or 0,
                    roles=viewer.roles,
                )
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, _("Saved."))
            return redirect("nudges:settings")
    from uptake.nudges.sweep import policy_for

    return render(
        request,
        "nudges/settings.html",
        {
            "policy": policy_for(viewer.tenant_id),
            "webhooks": selectors.list_webhooks(tenant_id=viewer.tenant_id),
            "kinds": WebhookEndpoint.Kind.choices,
            "error": error,
            **_choices(viewer.tenant_id),
        },
        status=400 if error else 200,
    )


@viewer_required()
def preferences(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if request.method == "POST":
        chosen = set(request.POST.getlist("enabled"))
        services.set_preferences(
            actor=viewer.actor,
            person=viewer.person,
            enabled={ch: ch in chosen for ch in rules.CHANNELS},
        )
        messages.success(request, _("Your notification preferences are saved."))
        return redirect("nudges:preferences")
    return render(
        request,
        "nudges/preferences.html",
        {"prefs": selectors.preferences(person=viewer.person)},
    )


@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" without a session
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a confirmation button (link scanners must not unsubscribe anyone); POST
    unsubscribes at once (the one-click request of RFC 8058, or the button)."""
    from uptake.nudges import channels

    if channels.read_unsubscribe_token(token) is None:
        return render(request, "nudges/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        try:
            services.unsubscribe(token=token)
        except DomainError:
            return render(request, "nudges/unsubscribe.html", {"invalid": True}, status=400)
        return render(request, "nudges/unsubscribe.html", {"done": True})
    return render(request, "nudges/unsubscribe.html", {"token": token})


@viewer_required()
def banner(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    return render(request, "nudges/_banner.html", {"items": selectors.banner(person=viewer.person)})


@viewer_required()
def team(request: HttpRequest) -> HttpResponse:
    """The manager's one-click nudge: reports who are overdue or have not started."""
    viewer = _viewer(request)
    from uptake.core import clock
    from uptake.enrollment.models import Enrollment

    if request.method == "POST":
        ids = [int(v) for v in request.POST.getlist("enrollment_id") if v.isdigit()]
        try:
            sent = services.nudge_reports(
                actor=viewer.actor, manager=viewer.person, enrollment_ids=ids or None
            )
        except DomainError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(
                request, _("%(n)s reminders sent (at most one a day each).") % {"n": sent}
            )
        return redirect("nudges:team")
    now = clock.now()
    rows = (
        Enrollment.objects.filter(
            tenant_id=viewer.tenant_id,
            person__manager=viewer.person,
            person__is_active=True,
            status__in=rules.OPEN_STATUSES,
        )
        .filter(services._stalled(now))
        .select_related("person", "course")
        .order_by("due_at", "person__last_name")
    )
    return render(request, "nudges/team.html", {"rows": rows, "now": now})


@viewer_required(ADMIN)
def outbox(request: HttpRequest, name: str | None = None) -> HttpResponse:
    """Browse the demo's file outbox (EMAIL_FILE_PATH): the newest files, and one message."""
    folder = Path(settings.EMAIL_FILE_PATH)
    files = (
        sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)[:200]
        if (folder.is_dir())
        else []
    )
    if name is not None:
        chosen = folder / name
        if chosen not in files:
            raise Http404(_("There is no such file in the outbox."))
        raw = chosen.read_bytes()
        parts = [p for p in raw.split(b"\n" + b"-" * 79 + b"\n") if p.strip()]
        mails = []
        for part in parts[:50]:
            msg = BytesParser(policy=email_policy.default).parsebytes(part)
            text = msg.get_body(preferencelist=("plain",))
            mails.append(
                {
                    "subject": msg["Subject"],
                    "to": msg["To"],
                    "date": msg["Date"],
                    "headers": [(k, v) for k, v in msg.items()],
                    "text": text.get_content() if text is not None else "",  # type: ignore[attr-defined]
                    "attachments": [a.get_filename() for a in msg.iter_attachments()],
                }
            )
        return render(request, "nudges/outbox.html", {"file": name, "mails": mails})
    return render(
        request,
        "nudges/outbox.html",
        {
            "files": [(f.name, f.stat().st_size) for f in files],
            "folder": folder,
            "backend": settings.EMAIL_BACKEND,
        },
    )
