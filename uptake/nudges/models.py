"""Nudges: campaigns (trigger, scope, policy, messages, experiment arms), the nudges the sweep
decided (one per campaign, enrolment and occurrence) and their per-channel deliveries; the
tenant's policy, people's channel preferences, webhook endpoints and calendar invitations."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from uptake.core.models import TenantScoped, unchecked_tenant


def _default_channels() -> list[str]:
    return ["email", "in_app"]


class NudgePolicy(TenantScoped):
    """The tenant's defaults; a campaign may override each (null = use the tenant's)."""

    window_start = models.TimeField(default=dt.time(9, 0))
    window_end = models.TimeField(default=dt.time(17, 0))
    weekdays = models.CharField(max_length=7, default="12345")  # ISO weekdays, 1 = Monday
    weekly_cap = models.PositiveSmallIntegerField(default=3)
    # How late a missed occurrence may still be sent (the sweep was down, a campaign started).
    catch_up_days = models.PositiveSmallIntegerField(default=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="nudge_policy_tenant")]


class Campaign(TenantScoped):
    class Trigger(models.TextChoices):
        ASSIGNED = "assigned", _("Assigned")
        NOT_STARTED = "not_started", _("Not started N days after assignment")
        DUE_SOON = "due_soon", _("Due in N days")
        OVERDUE = "overdue", _("Overdue (repeating)")
        INACTIVE = "inactive", _("Inactive for N days")
        COMPLETED = "completed", _("Completed (congratulations)")
        STEP_UNLOCKED = "step_unlocked", _("Next path step unlocked")

    class Scope(models.TextChoices):
        TENANT = "tenant", _("Everyone in the organisation")
        AUDIENCE = "audience", _("An audience")
        PATH = "path", _("A learning path")
        COURSE = "course", _("A course")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")

    class Experiment(models.TextChoices):
        NONE = "none", _("No experiment")
        RUNNING = "running", _("Running")
        STOPPED = "stopped", _("Stopped: winner rolled out")

    name = models.CharField(max_length=200)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    days = models.PositiveSmallIntegerField(default=0)
    repeat_every_days = models.PositiveSmallIntegerField(default=2)
    max_repeats = models.PositiveSmallIntegerField(default=1)
    escalate_after_days = models.PositiveSmallIntegerField(null=True, blank=True)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.TENANT)
    audience = models.ForeignKey(
        "audiences.Audience", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    path = models.ForeignKey(
        "paths.LearningPath", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    course = models.ForeignKey(
        "catalog.Course", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channels = models.JSONField(default=_default_channels)
    attach_calendar = models.BooleanField(default=False)
    priority = models.SmallIntegerField(default=0)
    mandatory = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    activated_at = models.DateTimeField(null=True, blank=True)
    # The sweep looked at every occurrence up to here: the next one starts shortly before.
    swept_until = models.DateTimeField(null=True, blank=True)
    # Policy overrides (null = the tenant's policy).
    window_start = models.TimeField(null=True, blank=True)
    window_end = models.TimeField(null=True, blank=True)
    weekdays = models.CharField(max_length=7, blank=True)
    weekly_cap = models.PositiveSmallIntegerField(null=True, blank=True)
    # The default message (arms and languages may override it). Placeholders: {first_name},
    # {course}, {due_date}, {link}, {learner} (escalations).
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    # Experiment: arms in CampaignArm; people in the holdout get no nudge.
    experiment = models.CharField(max_length=8, choices=Experiment.choices, default="none")
    holdout_percent = models.PositiveSmallIntegerField(default=0)
    outcome_days = models.PositiveSmallIntegerField(default=7)  # "started within N days"
    winner = models.CharField(max_length=60, blank=True)
    created_by = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(holdout_percent__lte=50), name="campaign_holdout_le_50"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(scope="tenant")
                    | models.Q(scope="audience", audience__isnull=False)
                    | models.Q(scope="path", path__isnull=False)
                    | models.Q(scope="course", course__isnull=False)
                ),
                name="campaign_scope_target",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status"])]
        ordering = ["-priority", "name"]

    def __str__(self) -> str:
        return self.name


class CampaignArm(TenantScoped):
    """One variant of an experiment: its own message, timing delay or channels (blank = the
    campaign's). The arm named "control" (or the first) is the reference."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="arms")
    name = models.CharField(max_length=60)
    weight = models.PositiveSmallIntegerField(default=1)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    delay_hours = models.PositiveSmallIntegerField(default=0)
    channels = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="campaign_arm_unique"),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.name}"


class CampaignMessage(TenantScoped):
    """The campaign's message in one language (and arm: "" = every arm)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="messages")
    language = models.CharField(max_length=12)
    arm = models.CharField(max_length=60, blank=True)
    subject = models.CharField(max_length=300)
    body = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "language", "arm"], name="campaign_message_unique"
            ),
        ]


class Nudge(TenantScoped):
    """One decision of the sweep: this campaign nudges this enrolment for this occurrence.
    The unique (campaign, enrollment, occurrence) is the idempotency key: however often the
    sweep runs or restarts, a nudge is decided once."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        DISPATCHED = "dispatched", _("Dispatched")
        SUPPRESSED = "suppressed", _("Suppressed")
        HELD_OUT = "held_out", _("Held out (experiment)")

    # The sweep inserts nudges by the hundred thousand: a foreign key has its own index only
    # when no declared index starts with it (ADR 0010, 0013, 0016). `tenant` is covered by the
    # (tenant, ...) index, `enrollment` by the unique key (enrollment first, ADR 0016),
    # `campaign` by (campaign, status); `person` and `recipient` are only read with the
    # tenant (people are deactivated, not deleted). No key is checked by the database either
    # (ADR 0024): the sweep writes nudges for rows it has just read in the same transaction,
    # none of which the application deletes; Django still cascades its own deletes.
    tenant = unchecked_tenant()
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="nudges",
        db_index=False,
        db_constraint=False,
    )
    enrollment = models.ForeignKey(
        "enrollment.Enrollment",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    person = models.ForeignKey(
        "people.Person",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # Who receives it: the learner, or their manager for an escalation.
    recipient = models.ForeignKey(
        "people.Person",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    occurrence = models.CharField(max_length=80)
    is_escalation = models.BooleanField(default=False)
    arm = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(max_length=20, blank=True)
    due_at = models.DateTimeField()  # when the trigger fired
    send_at = models.DateTimeField()  # the first moment inside the recipient's send window
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Enrollment first: it also serves the enrolment's foreign key (one index fewer
            # to write per nudge) and the sweep's "already decided" probe
            # (enrollment IN (...) AND campaign = ?).
            models.UniqueConstraint(
                fields=["enrollment", "campaign", "occurrence"], name="nudge_idempotency_key_e"
            ),
        ]
        indexes = [
            models.Index(fields=["dispatched_at", "send_at"]),
            models.Index(fields=["tenant", "recipient", "send_at"]),
            models.Index(fields=["campaign", "status"], name="nudge_campaign_status"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.enrollment_id}:{self.occurrence}"


class Delivery(TenantScoped):
    """One message of a nudge in one channel: the delivery log. Email and webhooks leave
    through the outbox (its row says sent / failed / retrying); in-app is written at once."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SUPPRESSED = "suppressed", _("Suppressed")

    nudge = models.ForeignKey(Nudge, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10)
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=20, blank=True)
    overridden = models.BooleanField(default=False)  # mandatory: sent despite a preference
    subject = models.CharField(max_length=300, blank=True)
    outbox_message = models.ForeignKey(
        "core.OutboxMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["nudge", "channel"], name="delivery_once"),
        ]
        indexes = [models.Index(fields=["tenant", "created_at"])]
        ordering = ["-created_at", "-id"]


class Preference(TenantScoped):
    """A person's own choice: no nudges on this channel (email off also when unsubscribed)."""

    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10)
    enabled = models.BooleanField(default=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)  # via List-Unsubscribe

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "channel"], name="nudge_pref_unique"),
        ]


class WebhookEndpoint(TenantScoped):
    """A Teams or Slack incoming-webhook URL. The URL is a secret: stored encrypted
    (Fernet, key derived from SECRET_KEY) and only ever shown as `hint`."""

    class Kind(models.TextChoices):
        TEAMS = "teams", "Microsoft Teams"
        SLACK = "slack", "Slack"

    kind = models.CharField(max_length=5, choices=Kind.choices)
    name = models.CharField(max_length=100)
    url_encrypted = models.TextField()
    hint = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "name"], name="webhook_name_unique"),
        ]


class CalendarInvite(TenantScoped):
    """The iCalendar event held for an enrolment's due date: one UID for its life; every
    update raises `sequence`; a withdrawal cancels it."""

    enrollment = models.OneToOneField(
        "enrollment.Enrollment", on_delete=models.CASCADE, related_name="+"
    )
    uid = models.CharField(max_length=200, unique=True)
    sequence = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True, blank=True)


class StepUnlock(TenantScoped):
    """A path step opened for a person (from PathStepUnlocked): the sweep nudges about it."""

    enrollment = models.ForeignKey(
        "enrollment.Enrollment", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    step_id = models.PositiveIntegerField()
    path_id = models.PositiveIntegerField()
    unlocked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "step_id"], name="step_unlock_once"),
        ]
        indexes = [models.Index(fields=["tenant", "unlocked_at"])]
