"""Progress: activity completions and knowledge-check attempts."""

from __future__ import annotations

from django.db import models

from uptake.core.models import TenantScoped


class ActivityCompletion(TenantScoped):
    enrollment = models.ForeignKey(
        "enrollment.Enrollment", on_delete=models.CASCADE, related_name="completions"
    )
    activity = models.ForeignKey("catalog.Activity", on_delete=models.CASCADE, related_name="+")
    completed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "activity"], name="completion_enrollment_activity_unique"
            )
        ]


class Attempt(TenantScoped):
    """One submitted knowledge-check attempt, with its answers, score and feedback given."""

    enrollment = models.ForeignKey(
        "enrollment.Enrollment", on_delete=models.CASCADE, related_name="attempts"
    )
    activity = models.ForeignKey("catalog.Activity", on_delete=models.CASCADE, related_name="+")
    number = models.PositiveSmallIntegerField()
    answers = models.JSONField(default=dict)  # question id -> answer as submitted
    results = models.JSONField(default=dict)  # question id -> {"correct": bool, "feedback": str}
    score_percent = models.PositiveSmallIntegerField()
    passed = models.BooleanField()
    submitted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "activity", "number"], name="attempt_number_unique"
            )
        ]
        ordering = ["number"]
