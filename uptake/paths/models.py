"""Learning paths (starter tracks): ordered steps, each a course, with prerequisites and
conditions; and who is on a path."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from uptake.core.models import TenantScoped, unchecked_tenant


class LearningPath(TenantScoped):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    class OrderMode(models.TextChoices):
        SEQUENTIAL = "sequential", _("Sequential: each step after the previous one")
        FREE = "free", _("Free: only explicit prerequisites")

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=120)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    order_mode = models.CharField(
        max_length=12, choices=OrderMode.choices, default=OrderMode.SEQUENTIAL
    )
    owner = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    language = models.CharField(max_length=12, default="en")
    # Sum of the steps' courses, kept by the services whenever steps change.
    estimated_minutes = models.PositiveIntegerField(default=0)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="path_slug_unique"),
        ]
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class PathStep(TenantScoped):
    path = models.ForeignKey(LearningPath, on_delete=models.CASCADE, related_name="steps")
    course = models.ForeignKey("catalog.Course", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField(default=0)
    required = models.BooleanField(default=True)
    # Steps of the same path that must be completed first (no cycles: rules.find_cycle).
    prerequisites = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="unlocks"
    )
    # An audience rule (audiences.rules structure): the step applies only to matching people.
    condition = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["path", "course"], name="path_step_course_unique"),
        ]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.path_id}#{self.position}: {self.course_id}"


class PathEnrollment(TenantScoped):
    """A person is on a path: they are enrolled in its applicable steps' courses."""

    # Tenant as for enrolments (ADR 0038): not checked by PostgreSQL, indexed through
    # (tenant, person, is_active); the path through the (path, person) unique constraint.
    tenant = unchecked_tenant()
    path = models.ForeignKey(
        LearningPath, on_delete=models.CASCADE, related_name="enrollments", db_index=False
    )
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    is_active = models.BooleanField(default=True)
    due_at = models.DateTimeField(null=True, blank=True)
    enrolled_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["path", "person"], name="path_enrollment_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "person", "is_active"])]

    def __str__(self) -> str:
        return f"{self.person_id} on {self.path_id}"
