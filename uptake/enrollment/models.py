"""Enrolment: a person in a course, with where it came from, when it is due and how it stands."""

from __future__ import annotations

from django.db import models

from uptake.core.models import TenantScoped, unchecked_tenant


class Enrollment(TenantScoped):
    class Source(models.TextChoices):
        MANUAL = "manual", "Assigned"
        SELF = "self", "Self-enrolled"
        RULE = "rule", "Assigned by a rule"

    class Status(models.TextChoices):
        ASSIGNED = "assigned", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        WITHDRAWN = "withdrawn", "Withdrawn"

    # Covered by the (tenant, ...) indexes below: one index fewer to maintain on bulk writes.
    # Not checked by PostgreSQL (ADR 0038): the tenant always comes from the server side
    # (the actor's organisation), and tenants are removed through the ORM, which deletes
    # their enrolments first; the person and course keys are checked.
    tenant = unchecked_tenant()
    # Indexed through the (person, course) unique constraint.
    person = models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, related_name="enrollments", db_index=False
    )
    course = models.ForeignKey(
        "catalog.Course", on_delete=models.CASCADE, related_name="enrollments"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ASSIGNED)
    assigned_at = models.DateTimeField()
    assigned_by = models.ForeignKey(  # not indexed: people are deactivated, not deleted
        "people.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    due_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # Where to continue: the last activity the learner opened.
    last_activity = models.ForeignKey(
        "catalog.Activity",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # indexed where set only (Meta): most rows have none yet
    )
    progress_percent = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            # One enrolment per person and course: re-assignment reuses the row.
            models.UniqueConstraint(
                fields=["person", "course"], name="enrollment_person_course_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(progress_percent__lte=100), name="enrollment_progress_pct"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "person", "status"]),
            models.Index(fields=["tenant", "course", "status"]),
            models.Index(fields=["tenant", "status", "due_at"]),
            models.Index(
                fields=["last_activity"],
                condition=models.Q(last_activity__isnull=False),
                name="enrollment_last_activity_set",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} in {self.course_id} ({self.status})"
