"""In-app notifications: what a person is told (an assignment of a report, later nudges)."""

from __future__ import annotations

from django.db import models

from uptake.core.models import TenantScoped


class Notification(TenantScoped):
    person = models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set by the caller so a retried batch never tells anyone twice ("" = no key).
    key = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "key"],
                condition=~models.Q(key=""),
                name="notification_key_unique",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "person", "read_at"])]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.title}"
