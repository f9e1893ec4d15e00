"""Base models that know no domain: the tenant-scoped base and the outbox."""

from __future__ import annotations

from django.db import models


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def unchecked_tenant() -> models.ForeignKey:  # type: ignore[type-arg]
    """The tenant key of a table written in bulk by one writer (rule rows, events, rollup
    queue, enrolments, nudges): no single-column index (the (tenant, ...) indexes cover it)
    and no database constraint (ADR 0032, 0036, 0038); Django still deletes the rows with
    their tenant (the ORM carries out on_delete)."""
    return models.ForeignKey(
        "tenancy.Tenant",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )


class TenantScoped(TimeStamped):
    """Every tenant-owned row carries its tenant; every selector and service filters on it."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


class OutboxMessage(models.Model):
    """Anything that leaves the process (email, webhook) is first written here, in the same
    transaction as the change that caused it, then delivered by a background task.

    `idempotency_key` is unique: a retried or duplicated enqueue never sends twice.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SENDING = "sending", "sending"  # leased by a worker (lease_owner) until lease_until
        SENT = "sent", "sent"
        FAILED = "failed", "failed"

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=20)  # "email" | "webhook" ...
    idempotency_key = models.CharField(max_length=200, unique=True)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    available_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Lease-then-send (ADR 0013): the worker that claimed the message ("host:pid:token") and
    # until when; an expired lease, or one whose process is gone, returns it to pending.
    # Database defaults: bulk inserts (outbox.insert_many) name only the columns they set.
    lease_owner = models.CharField(max_length=100, blank=True, default="", db_default="")
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "available_at"])]

    def __str__(self) -> str:
        return f"{self.channel}:{self.idempotency_key} ({self.status})"
