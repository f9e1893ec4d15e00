"""The event fact table: every learning event, written in the same transaction as the change."""

from __future__ import annotations

from django.db import models


class Verb(models.TextChoices):
    ASSIGNED = "assigned", "assigned"
    WITHDRAWN = "withdrawn", "withdrawn"
    LAUNCHED = "launched", "launched"
    ACTIVITY_COMPLETED = "activity_completed", "activity completed"
    ATTEMPT_SUBMITTED = "attempt_submitted", "attempt submitted"
    PASSED = "passed", "passed"
    FAILED = "failed", "failed"
    COURSE_COMPLETED = "course_completed", "course completed"
    ACTIVE_SESSION = "active_session", "active session"


class LearningEvent(models.Model):
    """One row per learning event. Append-only; `value` holds a score, percent or duration."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    verb = models.CharField(max_length=24, choices=Verb.choices)
    object_type = models.CharField(max_length=20)  # "course" | "activity" | "session" ...
    object_id = models.BigIntegerField(null=True, blank=True)
    course_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    value = models.FloatField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "verb", "occurred_at"]),
            models.Index(fields=["tenant", "person", "occurred_at"]),
            models.Index(fields=["tenant", "course_id", "verb", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.verb} {self.object_type}:{self.object_id}"
