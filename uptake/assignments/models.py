"""Assignments: an audience gets a path or a course, with a due-date rule and what happens to
the enrolment when someone leaves the audience; and which assignment produced which enrolment."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from uptake.core.models import TenantScoped, unchecked_tenant


class Assignment(TenantScoped):
    class DueKind(models.TextChoices):
        NONE = "none", _("No due date")
        FIXED_DATE = "fixed_date", _("On a fixed date")
        DAYS_AFTER_ASSIGNMENT = "days_after_assignment", _("N days after being assigned")
        DAYS_AFTER_HIRE = "days_after_hire", _("N days after the hire date")

    class OnLeave(models.TextChoices):
        KEEP = "keep", _("Keep the enrolment")
        WITHDRAW_IF_NOT_STARTED = "withdraw_if_not_started", _("Withdraw it if not started")

    audience = models.ForeignKey(
        "audiences.Audience", on_delete=models.PROTECT, related_name="assignments"
    )
    path = models.ForeignKey(
        "paths.LearningPath",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    course = models.ForeignKey(
        "catalog.Course", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    due_kind = models.CharField(max_length=24, choices=DueKind.choices, default=DueKind.NONE)
    due_days = models.PositiveIntegerField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    on_leave = models.CharField(max_length=24, choices=OnLeave.choices, default=OnLeave.KEEP)
    is_active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(path__isnull=False) & models.Q(course__isnull=True))
                | (models.Q(path__isnull=True) & models.Q(course__isnull=False)),
                name="assignment_path_xor_course",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "audience", "is_active"])]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.audience_id} -> {self.path_id or self.course_id}"


class AssignmentEnrollment(TenantScoped):
    """This assignment enrolled (or covers) this person in this course: the "explain" trail
    and what a leave may withdraw."""

    # Written by the hundred thousand by the rule engine, from the enrolments it has just
    # written or read in the same transaction: its keys are not checked by a PostgreSQL
    # constraint (ADR 0036). Django still deletes the rows with their enrolment, assignment,
    # person or tenant (on_delete is carried out by the ORM).

    # Covered by the (tenant, ...) indexes below: one index fewer to maintain on bulk writes.
    tenant = unchecked_tenant()
    # Indexed through the (assignment, enrollment) unique constraint and (tenant, person).
    assignment = models.ForeignKey(
        Assignment,
        on_delete=models.CASCADE,
        related_name="links",
        db_index=False,
        db_constraint=False,
    )
    enrollment = models.ForeignKey(
        "enrollment.Enrollment",
        on_delete=models.CASCADE,
        related_name="assignment_links",
        db_constraint=False,
    )
    person = models.ForeignKey(
        "people.Person",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # How the due date was found: fixed | assignment | hire | no_hire_date (fallback) | none
    due_basis = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "enrollment"], name="assignment_enrollment_unique"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "person"])]

    def __str__(self) -> str:
        return f"{self.assignment_id}: {self.enrollment_id}"
