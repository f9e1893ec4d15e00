"""Audiences: rule-defined groups of people, their rule history and who is in them (and when)."""

from __future__ import annotations

from django.db import models

from uptake.core.models import TenantScoped, unchecked_tenant


class Audience(TenantScoped):
    """A rule over person attributes; membership is kept up to date as HR data changes."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    rule = models.JSONField()  # canonical rule tree (uptake.audiences.rules)
    rule_text = models.TextField()  # the same rule in the text syntax
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="audience_name_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "is_active"])]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AudienceVersion(TenantScoped):
    """Every rule an audience has had: memberships and changes name the version that caused them."""

    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    rule = models.JSONField()
    rule_text = models.TextField()
    created_by = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["audience", "version"], name="audience_version_unique"),
        ]
        ordering = ["audience", "-version"]

    def __str__(self) -> str:
        return f"{self.audience_id} v{self.version}"


class AudienceMembership(TenantScoped):
    """A person currently in an audience, since `joined_at`, by rule `rule_version`."""

    # Written by the hundred thousand by the rule engine, from people and audiences it has just
    # read in the same transaction: its keys are not checked by a PostgreSQL constraint (ADR
    # 0036; each one was a lookup and a row lock at commit). Django still deletes the rows
    # with their audience, person or tenant (on_delete is carried out by the ORM).

    # Covered by the (tenant, ...) indexes below: one index fewer to maintain on bulk writes.
    tenant = unchecked_tenant()
    # Indexed through the (audience, person) unique constraint and (tenant, person).
    audience = models.ForeignKey(
        Audience,
        on_delete=models.CASCADE,
        related_name="memberships",
        db_index=False,
        db_constraint=False,
    )
    person = models.ForeignKey(
        "people.Person",
        on_delete=models.CASCADE,
        related_name="audience_memberships",
        db_index=False,
        db_constraint=False,
    )
    joined_at = models.DateTimeField()
    rule_version = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["audience", "person"], name="audience_membership_unique"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "person"])]

    def __str__(self) -> str:
        return f"{self.person_id} in {self.audience_id}"


class MembershipChange(TenantScoped):
    """One join or leave, with the rule version and the reason that caused it (append-only)."""

    # Written with each join and leave, from the same people and audiences: its keys are not
    # checked by a PostgreSQL constraint either (ADR 0036). Django still deletes the rows with
    # their audience, person or tenant (on_delete is carried out by the ORM).

    class Change(models.TextChoices):
        JOINED = "joined", "joined"
        LEFT = "left", "left"

    class Reason(models.TextChoices):
        HR_CHANGE = "hr_change", "HR change"
        RULE_EDIT = "rule_edit", "rule edited"
        CREATED = "created", "audience created"
        DEACTIVATED = "deactivated", "audience deactivated"
        RECOMPUTE = "recompute", "recompute"

    # Covered by the (tenant, ...) indexes below: one index fewer to maintain on bulk writes.
    tenant = unchecked_tenant()
    # Indexed through (audience, at) and (tenant, person, at).
    audience = models.ForeignKey(
        Audience,
        on_delete=models.CASCADE,
        related_name="changes",
        db_index=False,
        db_constraint=False,
    )
    person = models.ForeignKey(
        "people.Person",
        on_delete=models.CASCADE,
        related_name="audience_changes",
        db_index=False,
        db_constraint=False,
    )
    change = models.CharField(max_length=10, choices=Change.choices)
    rule_version = models.PositiveIntegerField()
    at = models.DateTimeField()
    reason = models.CharField(max_length=20, choices=Reason.choices)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "person", "at"]),
            models.Index(fields=["audience", "at"]),
        ]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.person_id} {self.change} {self.audience_id} ({self.reason})"
