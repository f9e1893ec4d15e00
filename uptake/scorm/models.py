"""SCORM content: the package behind a "scorm" activity, its items (SCOs and headings), and
each learner's run-time data per SCO."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from uptake.core.models import TenantScoped


class Package(TenantScoped):
    """The unpacked, validated zip of a SCORM activity (one per activity; replaced as a whole).

    Its files live in the default storage under `storage_dir`; `files` lists them (normalised
    relative paths), and only those are ever served."""

    class Version(models.TextChoices):
        SCORM_12 = "1.2", _("SCORM 1.2")
        SCORM_2004 = "2004", _("SCORM 2004")

    activity = models.OneToOneField(
        "catalog.Activity", on_delete=models.CASCADE, related_name="scorm_package"
    )
    version = models.CharField(max_length=4, choices=Version.choices)
    edition = models.CharField(max_length=40)
    identifier = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=200)
    storage_dir = models.CharField(max_length=200)
    files = models.JSONField(default=list)
    file_count = models.PositiveIntegerField(default=0)
    total_bytes = models.BigIntegerField(default=0)
    original_name = models.CharField(max_length=255, blank=True)
    uploaded_by = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.title


class Item(TenantScoped):
    """One item of the package's organisation, in order: a SCO or asset to launch (`href`), or
    a heading grouping the items below it."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="items")
    identifier = models.CharField(max_length=200)
    title = models.CharField(max_length=200)
    position = models.PositiveIntegerField()
    level = models.PositiveSmallIntegerField(default=0)
    href = models.CharField(max_length=1000, blank=True)
    scorm_type = models.CharField(max_length=5, blank=True)  # "sco" | "asset" | ""
    visible = models.BooleanField(default=True)
    mastery_score = models.FloatField(null=True, blank=True)
    scaled_passing_score = models.FloatField(null=True, blank=True)
    completion_threshold = models.FloatField(null=True, blank=True)
    launch_data = models.TextField(blank=True)
    max_time_allowed = models.CharField(max_length=40, blank=True)
    time_limit_action = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["package", "identifier"], name="scorm_item_unique"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def launchable(self) -> bool:
        return bool(self.href)


class ScoState(TenantScoped):
    """A learner's run-time data for one SCO of one enrolment: the cmi values the SCO set
    (suspend data, location, status, score, interactions...), the accumulated time, and what
    the next launch gets (entry, attempt). Status columns are derived for reporting."""

    enrollment = models.ForeignKey(
        "enrollment.Enrollment", on_delete=models.CASCADE, related_name="scorm_states"
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="states")
    data = models.JSONField(default=dict)
    entry = models.CharField(max_length=10, default="ab-initio")  # next launch's cmi.entry
    attempt = models.PositiveIntegerField(default=1)
    sessions = models.PositiveIntegerField(default=0)
    session_key = models.CharField(max_length=32, blank=True)  # the open launch, if any
    total_seconds = models.FloatField(default=0)
    completion_status = models.CharField(max_length=16, default="not attempted")
    success_status = models.CharField(max_length=8, default="unknown")
    score_percent = models.FloatField(null=True, blank=True)
    satisfied_at = models.DateTimeField(null=True, blank=True)
    last_launched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "item"], name="scorm_state_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id}:{self.item_id}"
