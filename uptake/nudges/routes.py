"""The nudges API: /api/v1/nudges: campaigns (list, create, read, update, activate/pause,
experiment start/stop and results), the delivery log, and the viewer's own channel
preferences. Campaigns and the log are for platform admins; another organisation's ids
answer 404."""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from uptake.identity.context import Viewer, viewer_for
from uptake.nudges import rules, selectors, services
from uptake.nudges.models import Campaign
from uptake.people import rules as roles

router = Router()


class ArmOut(Schema):
    name: str
    weight: int
    subject: str
    body: str
    delay_hours: int
    channels: list[str] | None


class CampaignOut(Schema):
    id: int
    name: str
    trigger: str
    days: int
    repeat_every_days: int
    max_repeats: int
    escalate_after_days: int | None
    scope: str
    audience_id: int | None
    path_id: int | None
    course_id: int | None
    channels: list[str]
    attach_calendar: bool
    priority: int
    mandatory: bool
    status: str
    activated_at: dt.datetime | None
    window_start: dt.time | None
    window_end: dt.time | None
    weekdays: str
    weekly_cap: int | None
    subject: str
    body: str
    experiment: str
    holdout_percent: int
    outcome_days: int
    winner: str
    arms: list[ArmOut]

    @staticmethod
    def resolve_arms(obj: Campaign) -> list[Any]:
        return list(obj.arms.all())


class CampaignIn(Schema):
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
    channels: list[str] = ["email", "in_app"]
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


class StatusIn(Schema):
    status: str


class ArmIn(Schema):
    name: str
    weight: int = 1
    subject: str = ""
    body: str = ""
    delay_hours: int = 0
    channels: list[str] | None = None


class ExperimentIn(Schema):
    arms: list[ArmIn]
    holdout_percent: int = 0


class StopIn(Schema):
    winner: str


class ComparisonOut(Schema):
    uplift: float
    low: float
    high: float
    p_value: float | None
    needed_per_arm: int | None


class MetricOut(Schema):
    conversions: int
    rate: float | None
    vs_control: ComparisonOut | None
    vs_holdout: ComparisonOut | None


class ArmResultOut(Schema):
    name: str
    exposed: int
    started: MetricOut
    on_time: MetricOut
    completed: MetricOut


class ResultsOut(Schema):
    campaign_id: int
    experiment: str
    control: str
    winner: str
    test: str
    arms: list[ArmResultOut]


class DeliveryOut(Schema):
    id: int
    created_at: dt.datetime
    campaign_id: int
    recipient_id: int
    channel: str
    status: str
    reason: str
    overridden: bool
    subject: str
    occurrence: str
    arm: str
    error: str

    @staticmethod
    def resolve_status(obj: Any) -> str:
        return str(obj.state)

    @staticmethod
    def resolve_occurrence(obj: Any) -> str:
        return str(obj.nudge.occurrence)

    @staticmethod
    def resolve_arm(obj: Any) -> str:
        return str(obj.nudge.arm)

    @staticmethod
    def resolve_error(obj: Any) -> str:
        return obj.outbox_message.last_error if obj.outbox_message else ""


class PreferencesIO(Schema):
    email: bool = True
    in_app: bool = True
    teams: bool = True
    slack: bool = True


def _admin(request: HttpRequest) -> Viewer:
    viewer = viewer_for(request)
    viewer.require(roles.PLATFORM_ADMIN)
    return viewer


def _data(payload: CampaignIn) -> services.CampaignData:
    values = payload.dict()
    values["channels"] = tuple(values["channels"])
    return services.CampaignData(**values)


@router.get("/campaigns", response=list[CampaignOut])
def list_campaigns(request: HttpRequest) -> Any:
    viewer = _admin(request)
    return list(selectors.list_campaigns(tenant_id=viewer.tenant_id).prefetch_related("arms"))


@router.post("/campaigns", response={201: CampaignOut})
def create_campaign(request: HttpRequest, payload: CampaignIn) -> Any:
    """Create a campaign (a draft: activate it to start nudging)."""
    viewer = _admin(request)
    campaign = services.create_campaign(
        actor=viewer.actor, tenant_id=viewer.tenant_id, data=_data(payload), roles=viewer.roles
    )
    return 201, selectors.get_campaign(tenant_id=viewer.tenant_id, campaign_id=campaign.pk)


@router.get("/campaigns/{int:campaign_id}", response=CampaignOut)
def get_campaign(request: HttpRequest, campaign_id: int) -> Any:
    viewer = _admin(request)
    return selectors.get_campaign(tenant_id=viewer.tenant_id, campaign_id=campaign_id)


@router.put("/campaigns/{int:campaign_id}", response=CampaignOut)
def update_campaign(request: HttpRequest, campaign_id: int, payload: CampaignIn) -> Any:
    viewer = _admin(request)
    services.update_campaign(
        actor=viewer.actor,
        tenant_id=viewer.tenant_id,
        campaign_id=campaign_id,
        data=_data(payload),
        roles=viewer.roles,
    )
    return selectors.get_campaign(tenant_id=viewer.tenant_id, campaign_id=campaign_id)


@router.post("/campaigns/{int:campaign_id}/status", response=CampaignOut)
def set_status(request: HttpRequest, campaign_id: int, payload: StatusIn) -> Any:
    """`active` (start nudging from now on) or `paused`."""
    viewer = _admin(request)
    services.set_status(
        actor=viewer.actor,
        tenant_id=viewer.tenant_id,
        campaign_id=campaign_id,
        status=payload.status,
        roles=viewer.roles,
    )
    return selectors.get_campaign(tenant_id=viewer.tenant_id, campaign_id=campaign_id)


@router.post("/campaigns/{int:campaign_id}/experiment", response=CampaignOut)
def start_experiment(request: HttpRequest, campaign_id: int, payload: ExperimentIn) -> Any:
    """Run the campaign as an A/B/n experiment (first arm = control) with an optional holdout."""
    viewer = _admin(request)
    services.start_experiment(
        actor=viewer.actor,
        tenant_id=viewer.tenant_id,
        campaign_id=campaign_id,
        arms=[
            services.ArmData(
                name=a.name,
                weight=a.weight,
                subject=a.subject,
                body=a.body,
                delay_hours=a.delay_hours,
                channels=tuple(a.channels) if a.channels is not None else None,
            )
            for a in payload.arms
        ],
        holdout_percent=payload.holdout_percent,
        roles=viewer.roles,
    )
    return selectors.get_campaign(tenant_id=viewer.tenant_id, campaign_id=campaign_id)


@router.post("/campaigns/{int:campaign_id}/experiment/stop", response=CampaignOut)
def stop_experiment(request: HttpRequest, campaign_id: int, payload: StopIn) -> Any:
    """Stop the experiment and roll the winning arm out to everyone."""
    viewer = _admin(request)
    services.stop_experiment(
        actor=viewer.actor,
        tenant_id=viewer.tenant_id,
        campaign_id=campaign_id,
        winner=payload.winner,
        roles=viewer.roles,
    )
    return selectors.get_campaign(tenant_id=viewer.tenant_id, campaign_id=campaign_id)


def _comparison(c: Any) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "uplift": c.uplift,
        "low": c.low,
        "high": c.high,
        "p_value": c.p_value,
        "needed_per_arm": c.needed_per_arm,
    }


@router.get("/campaigns/{int:campaign_id}/results", response=ResultsOut)
def experiment_results(request: HttpRequest, campaign_id: int) -> Any:
    """Per arm: exposed, conversions and rate for each outcome, with uplift vs control and vs
    holdout (95% CI, p-value; the test is named in `test`)."""
    viewer = _admin(request)
    r = selectors.experiment_results(tenant_id=viewer.tenant_id, campaign_id=campaign_id)
    return {
        "campaign_id": r.campaign.pk,
        "experiment": r.campaign.experiment,
        "control": r.control,
        "winner": r.campaign.winner,
        "test": r.test_name,
        "arms": [
            {
                "name": a.name,
                "exposed": a.exposed,
                **{
                    m: {
                        "conversions": getattr(a, m),
                        "rate": a.rate(m),
                        "vs_control": _comparison(a.vs_control.get(m)),
                        "vs_holdout": _comparison(a.vs_holdout.get(m)),
                    }
                    for m in selectors.METRICS
                },
            }
            for a in r.arms
        ],
    }


@router.get("/deliveries", response=list[DeliveryOut])
@paginate(LimitOffsetPagination)
def delivery_log(
    request: HttpRequest,
    campaign_id: int | None = None,
    channel: str | None = None,
    status: str | None = None,
    reason: str | None = None,
) -> Any:
    """The delivery log, newest first: status is queued, sent, failed, retrying or suppressed
    (with the reason: cap, quiet_hours, preference, unsubscribed, ...)."""
    viewer = _admin(request)
    return selectors.delivery_log(
        tenant_id=viewer.tenant_id,
        campaign_id=campaign_id,
        channel=channel,
        status=status,
        reason=reason,
    )


@router.get("/preferences", response=PreferencesIO)
def get_preferences(request: HttpRequest) -> Any:
    """The viewer's own channel preferences for nudges."""
    viewer = viewer_for(request)
    prefs = selectors.preferences(person=viewer.person)
    return {ch: prefs[ch]["enabled"] for ch in rules.CHANNELS}


@router.put("/preferences", response=PreferencesIO)
def set_preferences(request: HttpRequest, payload: PreferencesIO) -> Any:
    viewer = viewer_for(request)
    services.set_preferences(actor=viewer.actor, person=viewer.person, enabled=payload.dict())
    prefs = selectors.preferences(person=viewer.person)
    return {ch: prefs[ch]["enabled"] for ch in rules.CHANNELS}
