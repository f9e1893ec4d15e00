"""Writes of nudges: campaigns (create, edit, activate, pause, experiment arms, stop and roll
out), the tenant's policy, people's channel preferences and one-click unsubscribe, webhook
endpoints, calendar updates and cancellations, path-step unlocks, the manager's weekly digest
and the manager's one-click nudge. Keyword-only, `actor=` first, one transaction each."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from uptake.core import bulk, clock, outbox
from uptake.core.actor import Actor
from uptake.core.errors import Conflict, FieldProblem, NotFound, PermissionDenied, ValidationFailed
from uptake.enrollment.models import Enrollment
from uptake.nudges import channels, rules
from uptake.nudges.models import (
    CalendarInvite,
    Campaign,
    CampaignArm,
    CampaignMessage,
    NudgePolicy,
    Preference,
    StepUnlock,
    WebhookEndpoint,
)
from uptake.people.models import Person

ADMIN = "platform_admin"


# --- Campaigns -------------------------------------------------------------------------------


@dataclass
class CampaignData:
    """What an admin sets on a campaign (from the editor or the API)."""

    name: str
    trigger: str
    days: int = 0
    repeat_every_days: int = 2
    max_repeats: int = 1
    escalate_after_days: int | None = None
    scope: str = "tenant"
    audience_id: int | None = None
    path_id: int | None = None
    course_id: int | None = None
    channels: tuple[str, ...] = ("email", "in_app")
    attach_calendar: bool = False
    priority: int = 0
    mandatory: bool = False
    window_start: dt.time | None = None
    window_end: dt.time | None = None
    weekdays: str = ""
    weekly_cap: int | None = None
    subject: str = ""
    body: str = ""
    holdout_percent: int = 0
    outcome_days: int = 7


def _check_target(tenant_id: int, data: CampaignData) -> list[FieldProblem]:
    from uptake.audiences.models import Audience
    from uptake.catalog.models import Course
    from uptake.paths.models import LearningPath

    problems = []
    targets: dict[str, tuple[Any, int | None]] = {
        "audience": (Audience, data.audience_id),
        "path": (LearningPath, data.path_id),
        "course": (Course, data.course_id),
    }
    if data.scope not in Campaign.Scope.values:
        problems.append(FieldProblem(_("Choose who the campaign is for."), field="scope"))
        return problems
    if data.scope in targets:
        model, pk = targets[data.scope]
        if pk is None or not model.objects.filter(tenant_id=tenant_id, pk=pk).exists():
            problems.append(
                FieldProblem(
                    _("Choose an existing %(what)s of your organisation.") % {"what": data.scope},
                    field=f"{data.scope}_id",
                )
            )
    return problems


def _validate(tenant_id: int, data: CampaignData) -> None:
    problems: list[FieldProblem] = []
    if not data.name.strip():
        problems.append(FieldProblem(_("Give the campaign a name."), field="name"))
    if data.trigger not in rules.Trigger.ALL:
        problems.append(FieldProblem(_("Choose a trigger."), field="trigger"))
    if data.trigger in rules.Trigger.NEEDS_DAYS and data.days < 1:
        problems.append(
            FieldProblem(_("This trigger needs a number of days (1 or more)."), field="days")
        )
    if data.trigger == rules.Trigger.OVERDUE:
        if data.repeat_every_days < 1:
            problems.append(
                FieldProblem(_("Repeat at least every day."), field="repeat_every_days")
            )
        if not 1 <= data.max_repeats <= 20:
            problems.append(
                FieldProblem(_("Send between 1 and 20 overdue reminders."), field="max_repeats")
            )
    elif data.escalate_after_days is not None:
        problems.append(
            FieldProblem(
                _("Escalation to the manager needs the overdue trigger."),
                field="escalate_after_days",
            )
        )
    unknown = [c for c in data.channels if c not in rules.CHANNELS]
    if unknown or not data.channels:
        problems.append(
            FieldProblem(
                _("Choose at least one channel among: %(all)s.")
                % {"all": ", ".join(rules.CHANNELS)},
                field="channels",
            )
        )
    if data.attach_calendar and "email" not in data.channels:
        problems.append(
            FieldProblem(
                _("A calendar invitation is sent with the email: turn email on."),
                field="attach_calendar",
            )
        )
    if (data.window_start is None) != (data.window_end is None):
        problems.append(
            FieldProblem(
                _("Give both the start and the end of the send window."), field="window_start"
            )
        )
    if data.window_start and data.window_end:
        window = rules.Window(data.window_start, data.window_end, frozenset({1}))
        if window.problem():
            problems.append(FieldProblem(str(window.problem()), field="window_end"))
    if data.weekdays and (not data.weekdays.isdigit() or not set(data.weekdays) <= set("1234567")):
        problems.append(
            FieldProblem(_("Weekdays are digits 1 (Monday) to 7 (Sunday)."), field="weekdays")
        )
    if data.weekly_cap is not None and not 0 <= data.weekly_cap <= 50:
        problems.append(FieldProblem(_("The weekly cap is between 0 and 50."), field="weekly_cap"))
    if not 0 <= data.holdout_percent <= 50:
        problems.append(
            FieldProblem(_("The holdout is between 0 and 50 percent."), field="holdout_percent")
        )
    if not 1 <= data.outcome_days <= 365:
        problems.append(
            FieldProblem(_("Outcome days are between 1 and 365."), field="outcome_days")
        )
    problems.extend(_check_target(tenant_id, data))
    if problems:
        raise ValidationFailed(_("The campaign is not valid."), errors=problems)


def _require_admin(viewer_roles: frozenset[str] | None) -> None:
    if viewer_roles is not None and ADMIN not in viewer_roles:
        raise PermissionDenied(_("Only platform admins manage nudge campaigns."))


def _apply(campaign: Campaign, data: CampaignData) -> None:
    campaign.name = data.name.strip()
    campaign.trigger = data.trigger
    campaign.days = data.days
    campaign.repeat_every_days = data.repeat_every_days
    campaign.max_repeats = data.max_repeats
    campaign.escalate_after_days = data.escalate_after_days
    campaign.scope = data.scope
    campaign.audience_id = data.audience_id if data.scope == "audience" else None
    campaign.path_id = data.path_id if data.scope == "path" else None
    campaign.course_id = data.course_id if data.scope == "course" else None
    campaign.channels = list(dict.fromkeys(data.channels))
    campaign.attach_calendar = data.attach_calendar
    campaign.priority = data.priority
    campaign.mandatory = data.mandatory
    campaign.window_start = data.window_start
    campaign.window_end = data.window_end
    campaign.weekdays = data.weekdays
    campaign.weekly_cap = data.weekly_cap
    campaign.subject = data.subject
    campaign.body = data.body
    campaign.holdout_percent = data.holdout_percent
    campaign.outcome_days = data.outcome_days


@transaction.atomic
def create_campaign(
    *, actor: Actor, tenant_id: int, data: CampaignData, roles: frozenset[str] | None = None
) -> Campaign:
    _require_admin(roles)
    _validate(tenant_id, data)
    campaign = Campaign(tenant_id=tenant_id, created_by_id=actor.person_id)
    _apply(campaign, data)
    campaign.save()
    return campaign


def get_campaign_for_update(*, tenant_id: int, campaign_id: int) -> Campaign:
    campaign = Campaign.objects.select_for_update().filter(tenant_id=tenant_id, pk=campaign_id)
    found = campaign.first()
    if found is None:
        raise NotFound(_("There is no campaign %(id)s.") % {"id": campaign_id})
    return found


@transaction.atomic
def update_campaign(
    *,
    actor: Actor,
    tenant_id: int,
    campaign_id: int,
    data: CampaignData,
    roles: frozenset[str] | None = None,
) -> Campaign:
    _require_admin(roles)
    campaign = get_campaign_for_update(tenant_id=tenant_id, campaign_id=campaign_id)
    _validate(tenant_id, data)
    if campaign.experiment == Campaign.Experiment.RUNNING and data.trigger != campaign.trigger:
        raise Conflict(_("Stop the experiment before changing the trigger."))
    _apply(campaign, data)
    campaign.save()
    return campaign


@transaction.atomic
def set_status(
    *,
    actor: Actor,
    tenant_id: int,
    campaign_id: int,
    status: str,
    roles: frozenset[str] | None = None,
) -> Campaign:
    """Activate or pause. Activation starts the clock: occurrences from before it are not sent
    (no flood of stale reminders when a campaign is switched on)."""
    _require_admin(roles)
    campaign = get_campaign_for_update(tenant_id=tenant_id, campaign_id=campaign_id)
    if status not in (Campaign.Status.ACTIVE, Campaign.Status.PAUSED):
        raise ValidationFailed(
            _("A campaign can be activated or paused."),
            errors=[FieldProblem(_("Unknown status."), field="status")],
        )
    if status == Campaign.Status.ACTIVE and campaign.status != Campaign.Status.ACTIVE:
        campaign.activated_at = clock.now()
    campaign.status = status
    campaign.save(update_fields=["status", "activated_at", "updated_at"])
    return campaign


@transaction.atomic
def set_message(
    *,
    actor: Actor,
    tenant_id: int,
    campaign_id: int,
    language: str,
    arm: str,
    subject: str,
    body: str,
    roles: frozenset[str] | None = None,
) -> CampaignMessage:
    """The campaign's message in one language (and arm); blank subject and body delete it."""
    _require_admin(roles)
    campaign = get_campaign_for_update(tenant_id=tenant_id, campaign_id=campaign_id)
    language = language.strip().lower()
    if not language or len(language) > 12:
        raise ValidationFailed(
            _("Give a language code such as en or fr."),
            errors=[FieldProblem(_("Required."), field="language")],
        )
    if arm and not campaign.arms.filter(name=arm).exists():
        raise ValidationFailed(
            _("There is no arm %(arm)s.") % {"arm": arm},
            errors=[FieldProblem(_("Unknown arm."), field="arm")],
        )
    if not subject.strip() or not body.strip():
        raise ValidationFailed(
            _("A message needs a subject and a text."),
            errors=[FieldProblem(_("Required."), field="subject")],
        )
    message, _created = CampaignMessage.objects.update_or_create(
        campaign=campaign,
        language=language,
        arm=arm,
        defaults={"tenant_id": tenant_id, "subject": subject.strip(), "body": body.strip()},
    )
    return message


@dataclass(frozen=True)
class ArmData:
    name: str
    weight: int = 1
    subject: str = ""
    body: str = ""
    delay_hours: int = 0
    channels: tuple[str, ...] | None = None


@transaction.atomic
def start_experiment(
    *,
    actor: Actor,
    tenant_id: int,
    campaign_id: int,
    arms: list[ArmData],
    holdout_percent: int,
    roles: frozenset[str] | None = None,
) -> Campaign:
    """Make the campaign an A/B/n experiment: 2 to 5 arms (the first is the control) and an
    optional holdout that gets no nudge. Arms are fixed while it runs."""
    _require_admin(roles)
    campaign = get_campaign_for_update(tenant_id=tenant_id, campaign_id=campaign_id)
    if campaign.experiment == Campaign.Experiment.RUNNING:
        raise Conflict(_("An experiment is already running on this campaign."))
    problems = []
    names = [a.name.strip() for a in arms]
    if not 2 <= len(arms) <= 5:
        problems.append(FieldProblem(_("An experiment has 2 to 5 arms."), field="arms"))
    if len(set(names)) != len(names) or any(not n or n == rules.HOLDOUT for n in names):
        problems.append(FieldProblem(_("Arms need distinct names (not 'holdout')."), field="arms"))
    for i, a in enumerate(arms):
        if not 1 <= a.weight <= 100:
            problems.append(
                FieldProblem(_("Weights are between 1 and 100."), field="weight", row=i + 1)
            )
        if a.delay_hours > 24 * 14:
            problems.append(
                FieldProblem(_("Delay at most 14 days."), field="delay_hours", row=i + 1)
            )
        if a.channels is not None and (
            not a.channels or any(c not in rules.CHANNELS for c in a.channels)
        ):
            problems.append(FieldProblem(_("Unknown channel."), field="channels", row=i + 1))
    if not 0 <= holdout_percent <= 50:
        problems.append(
            FieldProblem(_("The holdout is between 0 and 50 percent."), field="holdout_percent")
        )
    if problems:
        raise ValidationFailed(_("The experiment is not valid."), errors=problems)
    campaign.arms.all().delete()
    for a, name in zip(arms, names, strict=True):
        CampaignArm.objects.create(
            tenant_id=tenant_id,
            campaign=campaign,
            name=name,
            weight=a.weight,
            subject=a.subject,
            body=a.body,
            delay_hours=a.delay_hours,
            channels=list(a.channels) if a.channels is not None else None,
        )
    campaign.experiment = Campaign.Experiment.RUNNING
    campaign.holdout_percent = holdout_percent
    campaign.winner = ""
    campaign.save(update_fields=["experiment", "holdout_percent", "winner", "updated_at"])
    return campaign


@transaction.atomic
def stop_experiment(
    *,
    actor: Actor,
    tenant_id: int,
    campaign_id: int,
    winner: str,
    roles: frozenset[str] | None = None,
) -> Campaign:
    """Stop the experiment and roll the winning arm out to everyone (the holdout ends too)."""
    _require_admin(roles)
    campaign = get_campaign_for_update(tenant_id=tenant_id, campaign_id=campaign_id)
    if campaign.experiment != Campaign.Experiment.RUNNING:
        raise Conflict(_("No experiment is running on this campaign."))
    if not campaign.arms.filter(name=winner).exists():
        raise ValidationFailed(
            _("Choose the winning arm."), errors=[FieldProblem(_("Unknown arm."), field="winner")]
        )
    campaign.experiment = Campaign.Experiment.STOPPED
    campaign.winner = winner
    campaign.save(update_fields=["experiment", "winner", "updated_at"])
    return campaign


# --- Policy, preferences, unsubscribe --------------------------------------------------------


@transaction.atomic
def set_policy(
    *,
    actor: Actor,
    tenant_id: int,
    window_start: dt.time,
    window_end: dt.time,
    weekdays: str,
    weekly_cap: int,
    roles: frozenset[str] | None = None,
) -> NudgePolicy:
    _require_admin(roles)
    window = rules.Window(
        window_start, window_end, frozenset(int(d) for d in weekdays if d.isdigit())
    )
    problem = window.problem()
    if problem or not weekdays.isdigit():
        raise ValidationFailed(
            problem or _("Weekdays are digits 1 (Monday) to 7 (Sunday)."),
            errors=[FieldProblem(problem or "", field="window")],
        )
    if not 0 <= weekly_cap <= 50:
        raise ValidationFailed(
            _("The weekly cap is between 0 and 50."),
            errors=[FieldProblem(_("Out of range."), field="weekly_cap")],
        )
    policy, _created = NudgePolicy.objects.update_or_create(
        tenant_id=tenant_id,
        defaults={
            "window_start": window_start,
            "window_end": window_end,
            "weekdays": "".join(sorted(set(weekdays))),
            "weekly_cap": weekly_cap,
        },
    )
    return policy


@transaction.atomic
def set_preferences(*, actor: Actor, person: Person, enabled: dict[str, bool]) -> None:
    """The person's own choice per channel. Turning email back on clears an unsubscribe."""
    unknown = [c for c in enabled if c not in rules.CHANNELS]
    if unknown:
        raise ValidationFailed(
            _("Unknown channel %(c)s.") % {"c": unknown[0]},
            errors=[FieldProblem(_("Unknown channel."), field="channels")],
        )
    for channel, on in enabled.items():
        defaults: dict[str, Any] = {"tenant_id": person.tenant_id, "enabled": on}
        if on:
            defaults["unsubscribed_at"] = None
        Preference.objects.update_or_create(person=person, channel=channel, defaults=defaults)


@transaction.atomic
def unsubscribe(*, token: str) -> Person:
    """One-click unsubscribe (RFC 8058): the signed token names the person; email nudges
    stop. Idempotent. ValidationFailed for a forged or damaged token."""
    found = channels.read_unsubscribe_token(token)
    if found is None:
        raise ValidationFailed(_("This unsubscribe link is not valid."))
    person_id, tenant_id = found
    person = Person.objects.filter(pk=person_id, tenant_id=tenant_id).first()
    if person is None:
        raise NotFound(_("This unsubscribe link is no longer valid."))
    pref = Preference.objects.filter(person=person, channel="email").first()
    if pref is None or pref.enabled or pref.unsubscribed_at is None:
        Preference.objects.update_or_create(
            person=person,
            channel="email",
            defaults={"tenant_id": tenant_id, "enabled": False, "unsubscribed_at": clock.now()},
        )
    return person


# --- Webhook endpoints -----------------------------------------------------------------------


@transaction.atomic
def add_webhook(
    *,
    actor: Actor,
    tenant_id: int,
    kind: str,
    name: str,
    url: str,
    roles: frozenset[str] | None = None,
) -> WebhookEndpoint:
    _require_admin(roles)
    problems = []
    if kind not in WebhookEndpoint.Kind.values:
        problems.append(FieldProblem(_("Choose Teams or Slack."), field="kind"))
    if not name.strip():
        problems.append(FieldProblem(_("Give the endpoint a name."), field="name"))
    url_problem = channels.url_problem(url)
    if url_problem:
        problems.append(FieldProblem(url_problem, field="url"))
    if problems:
        raise ValidationFailed(_("The webhook is not valid."), errors=problems)
    try:
        with transaction.atomic():
            return WebhookEndpoint.objects.create(
                tenant_id=tenant_id,
                kind=kind,
                name=name.strip(),
                url_encrypted=channels.encrypt_url(url.strip()),
                hint=channels.url_hint(url.strip()),
            )
    except IntegrityError as exc:
        raise Conflict(
            _("There is already a %(kind)s webhook named %(name)s.") % {"kind": kind, "name": name}
        ) from exc


@transaction.atomic
def remove_webhook(
    *, actor: Actor, tenant_id: int, endpoint_id: int, roles: frozenset[str] | None = None
) -> None:
    _require_admin(roles)
    deleted, _rows = WebhookEndpoint.objects.filter(tenant_id=tenant_id, pk=endpoint_id).delete()
    if not deleted:
        raise NotFound(_("There is no webhook %(id)s.") % {"id": endpoint_id})


# --- Calendar --------------------------------------------------------------------------------


def _calendar_mail(invite: CalendarInvite, *, method: str, due_at: dt.datetime) -> None:
    enrollment = Enrollment.objects.select_related("person", "course").get(pk=invite.enrollment_id)
    person = enrollment.person
    if not person.email or not person.is_active:
        return
    from uptake.nudges.dispatch import learner_link

    link = learner_link(enrollment.pk, enrollment.course_id, enrollment.last_activity_id)
    from django.utils import translation

    with translation.override(person.language or None):
        if method == "CANCEL":
            subject = _("Cancelled: %(course)s") % {"course": enrollment.course.title}
            text = _("%(course)s is no longer assigned to you; the calendar slot is cancelled.") % {
                "course": enrollment.course.title
            }
        else:
            subject = _("New due date: %(course)s") % {"course": enrollment.course.title}
            text = _("The due date of %(course)s changed; your calendar is updated.") % {
                "course": enrollment.course.title
            }
    ics = channels.build_ics(
        method=method,
        uid=invite.uid,
        sequence=invite.sequence,
        summary=subject,
        description=f"{text}\n{link}",
        due_at=due_at,
        url=link,
        attendee_email=person.email,
        attendee_name=person.full_name,
        stamp=clock.now(),
    )
    message = outbox.enqueue(
        tenant_id=invite.tenant_id,
        channel="email",
        idempotency_key=f"calendar:{invite.uid}:{invite.sequence}",
        payload={
            "to": [person.email],
            "subject": subject,
            "text": f"{text}\n\n{link}\n",
            "html": None,
            "headers": {"Auto-Submitted": "auto-generated"},
            "attachments": [
                {"filename": "invite.ics", "content": ics, "mimetype": "text/calendar"}
            ],
        },
    )
    del message


@transaction.atomic
def update_calendar(*, actor: Actor, enrollment_id: int, due_at: dt.datetime | None) -> bool:
    """The due date moved: the same event (UID) with a higher SEQUENCE; cleared: cancelled.
    Nothing to do if no invitation was ever sent. Returns whether a message was queued."""
    invite = CalendarInvite.objects.select_for_update().filter(enrollment_id=enrollment_id).first()
    if invite is None or invite.cancelled_at is not None:
        return False
    if due_at is None:
        return cancel_calendar(actor=actor, enrollment_id=enrollment_id)
    if invite.due_at == due_at:
        return False
    invite.sequence += 1
    invite.due_at = due_at
    invite.save(update_fields=["sequence", "due_at", "updated_at"])
    _calendar_mail(invite, method="REQUEST", due_at=due_at)
    return True


@transaction.atomic(savepoint=False)  # a withdrawal's handler: all or nothing with the caller
def cancel_calendar(*, actor: Actor, enrollment_id: int) -> bool:
    """The enrolment was withdrawn: METHOD:CANCEL for the same UID with a higher SEQUENCE."""
    # Most withdrawn enrolments never had an invite: a statement built once tells (a rule's
    # withdrawal is part of a live HR change), the ORM's locking read only when there is one.
    if not bulk.rows_where(CalendarInvite, {}, "enrollment_id", [enrollment_id], "enrollment_id"):
        return False
    invite = CalendarInvite.objects.select_for_update().filter(enrollment_id=enrollment_id).first()
    if invite is None or invite.cancelled_at is not None:
        return False
    invite.sequence += 1
    invite.cancelled_at = clock.now()
    invite.save(update_fields=["sequence", "cancelled_at", "updated_at"])
    _calendar_mail(invite, method="CANCEL", due_at=invite.due_at)
    return True


# --- Path steps ------------------------------------------------------------------------------


def record_unlock(
    *, actor: Actor, tenant_id: int, enrollment_id: int | None, path_id: int, step_id: int
) -> None:
    """Remember that a path step opened (the sweep nudges about it). Idempotent."""
    if enrollment_id is None:
        return
    from uptake.core.bulk import insert_rows

    now = clock.now()
    insert_rows(
        StepUnlock,
        ["tenant", "enrollment", "step_id", "path_id", "unlocked_at", "created_at", "updated_at"],
        [(tenant_id, enrollment_id, step_id, path_id, now, now, now)],
        ignore_conflicts=True,
    )


# --- Managers --------------------------------------------------------------------------------


def _week_key(now: dt.datetime) -> str:
    year, week, _day = now.isocalendar()
    return f"{year}-W{week:02d}"


def send_manager_digests(*, actor: Actor, tenant_id: int, now: dt.datetime | None = None) -> int:
    """The weekly digest: each manager with direct reports who are overdue or have not started
    gets one message (in-app and email) listing them, with a one-click "nudge them" link.
    Idempotent per ISO week. Returns how many managers were told."""
    from django.utils import translation

    from uptake.notifications.services import Draft, notify_each

    now = now or clock.now()
    rows = (
        Enrollment.objects.filter(
            tenant_id=tenant_id,
            status__in=["assigned", "in_progress"],
            person__is_active=True,
            person__manager__isnull=False,
            person__manager__is_active=True,
        )
        .filter(_stalled(now))
        .values_list(
            "person__manager_id",
            "person__first_name",
            "person__last_name",
            "course__title",
            "status",
            "due_at",
        )
        .order_by("person__manager_id", "person__last_name")
    )
    by_manager: dict[int, list[tuple[str, str, bool]]] = {}
    counts: dict[int, list[int]] = {}
    for manager_id, first, last, title, _status, due_at in rows.iterator(chunk_size=2000):
        if manager_id is None:
            continue
        overdue = due_at is not None and due_at < now
        by_manager.setdefault(manager_id, []).append((f"{first} {last}", title, overdue))
        c = counts.setdefault(manager_id, [0, 0])
        c[0 if overdue else 1] += 1
    languages = dict(
        Person.objects.filter(tenant_id=tenant_id, pk__in=by_manager).values_list("pk", "language")
    )
    drafts = []
    url = reverse("nudges:team")
    for manager_id, lines in by_manager.items():
        with translation.override(languages.get(manager_id) or None):
            title = _("Your team this week: %(overdue)s overdue, %(waiting)s not started") % {
                "overdue": counts[manager_id][0],
                "waiting": counts[manager_id][1],
            }
            listed = [
                (
                    _("%(name)s: %(course)s (overdue)")
                    if overdue
                    else _("%(name)s: %(course)s (not started)")
                )
                % {"name": name, "course": course}
                for name, course, overdue in lines[:50]
            ]
            body = "\n".join(listed) + "\n\n" + _("Nudge them in one click:")
        drafts.append(
            Draft(
                person_id=manager_id,
                kind="manager_digest",
                title=title,
                body=body,
                url=url,
                key=f"digest:{_week_key(now)}:{manager_id}",
            )
        )
    return notify_each(tenant_id=tenant_id, drafts=drafts, email=True)


def _stalled(now: dt.datetime):  # type: ignore[no-untyped-def]
    from django.db.models import Q

    return Q(due_at__lt=now) | Q(status="assigned")


@transaction.atomic
def nudge_reports(
    *,
    actor: Actor,
    manager: Person,
    enrollment_ids: list[int] | None = None,
    now: dt.datetime | None = None,
) -> int:
    """A manager's one-click nudge: each of their direct reports' overdue or not-started
    enrolments (or the chosen ones) gets a reminder (in-app and email), at most once a day per
    enrolment. Another person's enrolment answers NotFound. Returns how many were sent."""
    from uptake.notifications.services import Draft, notify_each

    now = now or clock.now()
    qs = Enrollment.objects.filter(
        tenant_id=manager.tenant_id,
        person__manager=manager,
        person__is_active=True,
        status__in=["assigned", "in_progress"],
    )
    if enrollment_ids is not None:
        found = set(qs.filter(pk__in=enrollment_ids).values_list("pk", flat=True))
        missing = set(enrollment_ids) - found
        if missing:
            raise NotFound(
                _("There is no open enrolment %(id)s in your team.") % {"id": min(missing)}
            )
        qs = qs.filter(pk__in=found)
    else:
        qs = qs.filter(_stalled(now))
    from uptake.nudges.dispatch import _first_activities, learner_link

    rows = list(
        qs.values_list(
            "pk", "person_id", "course_id", "course__title", "last_activity_id", "person__language"
        )
    )
    first = _first_activities({r[2] for r in rows})
    from django.utils import translation

    drafts = []
    for pk, person_id, course_id, title, last_activity, language in rows:
        with translation.override(language or None):
            subject = _("A reminder from %(manager)s: %(course)s") % {
                "manager": manager.full_name,
                "course": title,
            }
            body = _("%(manager)s asked us to remind you about %(course)s.") % {
                "manager": manager.full_name,
                "course": title,
            }
        link = learner_link(pk, course_id, last_activity or first.get(course_id))
        drafts.append(
            Draft(
                person_id=person_id,
                kind="manager_nudge",
                title=subject,
                body=body,
                url=link,
                key=f"manual:{now:%Y%m%d}:{pk}",
            )
        )
    return notify_each(tenant_id=manager.tenant_id, drafts=drafts, email=True)
