"""People: the HR record of everyone in a tenant, linked to their login, and their roles."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from uptake.core.models import TenantScoped


class Role(models.TextChoices):
    """Granted roles. "manager" is derived (anyone with reports); "learner" is everyone."""

    PLATFORM_ADMIN = "platform_admin", "Platform admin"
    CONTENT_OWNER = "content_owner", "Content owner"
    DATA_STEWARD = "data_steward", "Data steward"
    BUSINESS_SPONSOR = "business_sponsor", "Business sponsor"


class Person(TenantScoped):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
    )
    employee_id = models.CharField(max_length=64)
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    job_title = models.CharField(max_length=200, blank=True)
    role_family = models.CharField(max_length=100, blank=True)
    department = models.CharField(max_length=100, blank=True)
    location = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)  # ISO 3166-1 alpha-2
    time_zone = models.CharField(max_length=64, default="UTC")
    language = models.CharField(max_length=12, default="en")
    hire_date = models.DateField(null=True, blank=True)
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    employment_type = models.CharField(max_length=40, blank=True)
    is_active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "employee_id"], name="person_employee_id_unique"
            ),
            models.CheckConstraint(
                condition=~models.Q(manager=models.F("id")), name="person_not_own_manager"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "department"]),
            models.Index(fields=["tenant", "location"]),
            models.Index(fields=["tenant", "manager"]),
            models.Index(fields=["tenant", "is_active"]),
            models.Index(Lower("email"), "tenant", name="person_email_idx"),
            models.Index(fields=["tenant", "last_name", "first_name"]),
        ]
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class PersonRole(TenantScoped):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(max_length=30, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "role"], name="person_role_unique")
        ]

    def __str__(self) -> str:
        return f"{self.person_id}:{self.role}"
