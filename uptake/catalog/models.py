"""The catalogue: Course -> Module -> Activity, with knowledge checks (questions, choices)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from uptake.core.models import TenantScoped


class Course(TenantScoped):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=120)
    summary = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)  # Markdown
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    owner = models.ForeignKey(
        "people.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_courses",
    )
    estimated_minutes = models.PositiveIntegerField(default=0)
    language = models.CharField(max_length=12, default="en")
    tags = models.JSONField(default=list, blank=True)
    # Open courses can be self-enrolled from the catalogue.
    is_open = models.BooleanField(default=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="course_slug_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "status"])]
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Module(TenantScoped):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="modules")
    title = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


class Activity(TenantScoped):
    class Kind(models.TextChoices):
        PAGE = "page", _("Page")
        VIDEO = "video", _("Video")
        FILE = "file", _("File")
        LINK = "link", _("External link")
        QUIZ = "quiz", _("Knowledge check")
        SCORM = "scorm", _("SCORM package")
        CMI5 = "cmi5", _("cmi5 assignable unit")

    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="activities")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)
    required = models.BooleanField(default=True)
    estimated_minutes = models.PositiveIntegerField(default=0)
    body = models.TextField(blank=True)  # Markdown as written
    body_html = models.TextField(blank=True)  # sanitised HTML rendered from body
    url = models.URLField(max_length=1000, blank=True)  # video URL or external link
    file = models.FileField(upload_to="activities/%Y/%m/", blank=True)
    # Knowledge check settings (kind == quiz)
    pass_mark = models.PositiveSmallIntegerField(default=80)  # percent
    attempts_allowed = models.PositiveSmallIntegerField(default=0)  # 0 = unlimited
    shuffle_questions = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["course", "position"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pass_mark__lte=100), name="activity_pass_mark_pct"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Question(TenantScoped):
    class Kind(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        TRUE_FALSE = "true_false", _("True / false")
        SHORT = "short", _("Short answer")

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="questions")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    prompt = models.TextField()
    position = models.PositiveIntegerField(default=0)
    points = models.PositiveSmallIntegerField(default=1)
    # Short answer: accepted answers, compared case- and space-insensitively.
    accepted_answers = models.JSONField(default=list, blank=True)
    correct_feedback = models.TextField(blank=True)
    incorrect_feedback = models.TextField(blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.prompt[:60]


class Choice(TenantScoped):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    text = models.CharField(max_length=500)
    is_correct = models.BooleanField(default=False)
    feedback = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text[:60]
