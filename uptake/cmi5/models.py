"""cmi5 content: an imported course structure (its blocks and assignable units, each AU an
Uptake activity of kind "cmi5"), learners' registrations, launch sessions and AU results."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from uptake.core.models import TenantScoped


class CourseStructure(TenantScoped):
    """A cmi5 course imported into an Uptake course (as one module of AU activities). Files of a
    zip package live under `storage_dir` (empty for a cmi5.xml whose AUs are elsewhere); only
    those listed in `files` are served."""

    course = models.ForeignKey("catalog.Course", on_delete=models.CASCADE, related_name="+")
    module = models.OneToOneField(
        "catalog.Module", on_delete=models.CASCADE, related_name="cmi5_structure"
    )
    publisher_id = models.CharField(max_length=2048)  # the course id in cmi5.xml
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    storage_dir = models.CharField(max_length=200, blank=True)
    files = models.JSONField(default=list)
    xml = models.TextField()  # the imported cmi5.xml, as uploaded
    original_name = models.CharField(max_length=255, blank=True)
    imported_by = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return self.title


class Block(TenantScoped):
    structure = models.ForeignKey(CourseStructure, on_delete=models.CASCADE, related_name="blocks")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    publisher_id = models.CharField(max_length=2048)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.title


class AssignableUnit(TenantScoped):
    """An AU: what the learner launches. Its Uptake activity is completed when its moveOn
    criterion is met."""

    class MoveOn(models.TextChoices):
        NOT_APPLICABLE = "NotApplicable", _("Not applicable")
        PASSED = "Passed", _("Passed")
        COMPLETED = "Completed", _("Completed")
        COMPLETED_AND_PASSED = "CompletedAndPassed", _("Completed and passed")
        COMPLETED_OR_PASSED = "CompletedOrPassed", _("Completed or passed")

    structure = models.ForeignKey(CourseStructure, on_delete=models.CASCADE, related_name="aus")
    block = models.ForeignKey(
        Block, null=True, blank=True, on_delete=models.CASCADE, related_name="aus"
    )
    activity = models.OneToOneField(
        "catalog.Activity", on_delete=models.CASCADE, related_name="cmi5_au"
    )
    publisher_id = models.CharField(max_length=2048)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    url = models.CharField(max_length=2048)
    is_local = models.BooleanField(default=False)  # url is a file of the package
    launch_method = models.CharField(max_length=10, default="AnyWindow")
    move_on = models.CharField(max_length=20, choices=MoveOn.choices)
    mastery_score = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    launch_parameters = models.TextField(blank=True)
    entitlement_key = models.TextField(blank=True)
    activity_type = models.CharField(max_length=2048, blank=True)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.title


class Registration(TenantScoped):
    """One learner's enrolment in one cmi5 course structure, named by a UUID sent to every AU."""

    structure = models.ForeignKey(
        CourseStructure, on_delete=models.CASCADE, related_name="registrations"
    )
    enrollment = models.ForeignKey(
        "enrollment.Enrollment", on_delete=models.CASCADE, related_name="cmi5_registrations"
    )
    registration = models.UUIDField(unique=True)
    satisfied_blocks = models.JSONField(default=list)  # Block ids with a satisfied statement
    course_satisfied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["structure", "enrollment"], name="cmi5_registration_unique"
            )
        ]

    def __str__(self) -> str:
        return str(self.registration)


class AuResult(TenantScoped):
    """What a registration achieved in one AU (across its sessions)."""

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="results")
    au = models.ForeignKey(AssignableUnit, on_delete=models.CASCADE, related_name="results")
    completed_at = models.DateTimeField(null=True, blank=True)
    passed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    score_scaled = models.FloatField(null=True, blank=True)
    satisfied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["registration", "au"], name="cmi5_result_unique")
        ]

    def __str__(self) -> str:
        return f"{self.registration_id}:{self.au_id}"


class Session(TenantScoped):
    """One launch of an AU: its session id, the one-time fetch URL token (stored hashed), the
    xAPI credential the fetch handed out, and how far the AU got."""

    class Mode(models.TextChoices):
        NORMAL = "Normal", _("Normal")
        BROWSE = "Browse", _("Browse")
        REVIEW = "Review", _("Review")

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="sessions"
    )
    au = models.ForeignKey(AssignableUnit, on_delete=models.CASCADE, related_name="sessions")
    session_id = models.UUIDField(unique=True)
    launch_mode = models.CharField(max_length=6, choices=Mode.choices, default=Mode.NORMAL)
    fetch_hash = models.CharField(max_length=64, unique=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    credential = models.OneToOneField(
        "xapi.Credential", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    launched_at = models.DateTimeField()
    initialized_at = models.DateTimeField(null=True, blank=True)
    last_statement_at = models.DateTimeField(null=True, blank=True)
    terminated_at = models.DateTimeField(null=True, blank=True)
    abandoned_at = models.DateTimeField(null=True, blank=True)
    verbs = models.JSONField(default=list)  # cmi5 defined verbs the AU sent in this session

    class Meta:
        indexes = [models.Index(fields=["registration", "terminated_at", "abandoned_at"])]

    def __str__(self) -> str:
        return str(self.session_id)

    @property
    def open(self) -> bool:
        return self.terminated_at is None and self.abandoned_at is None
