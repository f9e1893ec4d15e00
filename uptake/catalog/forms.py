"""Forms of the authoring screens: they parse what was posted; the rules live in services/rules.

`apply_problems` puts a ValidationFailed's FieldProblems next to the fields they are about, so a
form re-renders with every problem in place.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from uptake.catalog import rules
from uptake.catalog.models import Activity, Course, Question
from uptake.core.errors import ValidationFailed

MIN_CHOICE_ROWS = 4
SPARE_CHOICE_ROWS = 2


def apply_problems(form: forms.Form, exc: ValidationFailed) -> None:
    """Attach each problem to its field (or to the form as a whole), or the detail if none."""
    if not exc.errors:
        form.add_error(None, exc.detail)
    for problem in exc.errors:
        field = problem.field if problem.field in form.fields else None
        form.add_error(field, problem.message)


class CourseForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    summary = forms.CharField(
        label=_("Summary"),
        max_length=500,
        required=False,
        help_text=_("One or two sentences shown in the catalogue."),
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Markdown."),
    )
    language = forms.CharField(
        label=_("Language of the content"),
        max_length=12,
        initial="en",
        help_text=_("A language code such as en, fr or pt-BR."),
    )
    tags = forms.CharField(
        label=_("Tags"), required=False, help_text=_("Separated by commas, e.g. sales, onboarding.")
    )
    estimated_minutes = forms.IntegerField(label=_("Estimated minutes"), min_value=0, initial=0)
    is_open = forms.BooleanField(
        label=_("Open: anyone can enrol from the catalogue"), required=False, initial=True
    )

    @classmethod
    def initial_for(cls, course: Course) -> dict[str, Any]:
        return {
            "title": course.title,
            "summary": course.summary,
            "description": course.description,
            "language": course.language,
            "tags": ", ".join(course.tags or []),
            "estimated_minutes": course.estimated_minutes,
            "is_open": course.is_open,
        }

    def course_attrs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["tags"] = [t for t in (data.get("tags") or "").split(",") if t.strip()]
        return data


class ModuleForm(forms.Form):
    title = forms.CharField(label=_("Module title"), max_length=200)


class NewActivityForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=Activity.Kind.choices)
    title = forms.CharField(label=_("Activity title"), max_length=200)


class ActivityForm(forms.Form):
    """The fields that make sense for the activity's kind (the kind itself is fixed)."""

    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("Markdown: **bold**, *italic*, lists, links, tables."),
    )
    url = forms.CharField(
        label=_("Web address"),
        max_length=1000,
        required=False,
        widget=forms.URLInput(),
        help_text=_(
            "https://… For a video: a direct .mp4 or .webm plays here; other sites open as a link."
        ),
    )
    file = forms.FileField(label=_("File"), required=False)
    remove_file = forms.BooleanField(label=_("Remove the current file"), required=False)
    required = forms.BooleanField(label=_("Required to complete the course"), required=False)
    estimated_minutes = forms.IntegerField(label=_("Estimated minutes"), min_value=0)
    pass_mark = forms.IntegerField(label=_("Pass mark (%)"), min_value=0, max_value=100)
    attempts_allowed = forms.IntegerField(
        label=_("Attempts allowed"), min_value=0, help_text=_("0 means unlimited.")
    )
    shuffle_questions = forms.BooleanField(label=_("Shuffle the questions"), required=False)

    FIELDS_BY_KIND: dict[str, tuple[str, ...]] = {
        rules.PAGE: (),
        rules.LINK: ("url",),
        rules.VIDEO: ("url", "file", "remove_file"),
        rules.FILE: ("file", "remove_file"),
        rules.QUIZ: ("pass_mark", "attempts_allowed", "shuffle_questions"),
        rules.SCORM: (),
        rules.CMI5: (),
    }
    KIND_FIELDS = (
        "url",
        "file",
        "remove_file",
        "pass_mark",
        "attempts_allowed",
        "shuffle_questions",
    )

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        keep = self.FIELDS_BY_KIND.get(kind, ())
        for name in self.KIND_FIELDS:
            if name not in keep:
                del self.fields[name]
        if kind == rules.QUIZ:
            self.fields["body"].label = _("Introduction")
        if kind in rules.ALLOWED_EXTENSIONS:
            self.fields["file"].help_text = _("Allowed: %(types)s.") % {
                "types": ", ".join(sorted(rules.ALLOWED_EXTENSIONS[kind]))
            }
            self.fields["file"].widget.attrs["accept"] = ",".join(
                f".{ext}" for ext in sorted(rules.ALLOWED_EXTENSIONS[kind])
            )

    @classmethod
    def initial_for(cls, activity: Activity) -> dict[str, Any]:
        return {
            "title": activity.title,
            "body": activity.body,
            "url": activity.url,
            "required": activity.required,
            "estimated_minutes": activity.estimated_minutes,
            "pass_mark": activity.pass_mark,
            "attempts_allowed": activity.attempts_allowed,
            "shuffle_questions": activity.shuffle_questions,
        }

    def activity_attrs(self) -> dict[str, Any]:
        """Keyword arguments for services.update_activity."""
        data = dict(self.cleaned_data)
        upload = data.pop("file", None)
        remove = bool(data.pop("remove_file", False))
        return {**data, "upload": upload or None, "remove_file": remove}


class QuestionForm(forms.Form):
    """A question with a variable number of choice rows named choice-<n>-text/-correct/-feedback."""

    kind = forms.ChoiceField(label=_("Question type"), choices=Question.Kind.choices)
    prompt = forms.CharField(label=_("Question"), widget=forms.Textarea(attrs={"rows": 3}))
    points = forms.IntegerField(label=_("Points"), min_value=0, max_value=100, initial=1)
    correct_answer = forms.ChoiceField(
        label=_("The statement is"),
        required=False,
        choices=[("true", _("True")), ("false", _("False"))],
        widget=forms.RadioSelect,
    )
    accepted_answers = forms.CharField(
        label=_("Accepted answers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line; compared ignoring case and extra spaces."),
    )
    correct_feedback = forms.CharField(
        label=_("Feedback when answered correctly"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    incorrect_feedback = forms.CharField(
        label=_("Feedback when answered incorrectly"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, question: Question | None = None, **kwargs: Any) -> None:
        if question is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(question)
        super().__init__(*args, **kwargs)
        existing = list(question.choices.all()) if question is not None else []
        posted = 0
        if self.is_bound:
            indexes = [
                int(key.split("-")[1])
                for key in self.data
                if key.startswith("choice-") and key.split("-")[1].isdigit()
            ]
            posted = max(indexes) + 1 if indexes else 0
        count = max(MIN_CHOICE_ROWS, len(existing) + SPARE_CHOICE_ROWS, posted)
        self.choice_count = min(count, 30)
        for i in range(self.choice_count):
            row = existing[i] if i < len(existing) else None
            self.fields[f"choice-{i}-text"] = forms.CharField(
                label=_("Choice %(n)d") % {"n": i + 1},
                max_length=500,
                required=False,
                initial=row.text if row else "",
            )
            self.fields[f"choice-{i}-correct"] = forms.BooleanField(
                label=_("Correct"), required=False, initial=row.is_correct if row else False
            )
            self.fields[f"choice-{i}-feedback"] = forms.CharField(
                label=_("Feedback for this choice"),
                required=False,
                initial=row.feedback if row else "",
            )

    @staticmethod
    def initial_for(question: Question) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "kind": question.kind,
            "prompt": question.prompt,
            "points": question.points,
            "accepted_answers": "\n".join(question.accepted_answers or []),
            "correct_feedback": question.correct_feedback,
            "incorrect_feedback": question.incorrect_feedback,
        }
        if question.kind == rules.TRUE_FALSE:
            correct = [c.text for c in question.choices.all() if c.is_correct]
            if correct:
                initial["correct_answer"] = "true" if correct[0] == rules.TRUE_TEXT else "false"
        return initial

    def choice_rows(self) -> list[dict[str, forms.BoundField]]:
        """The choice fields grouped by row, for the template."""
        return [
            {
                "text": self[f"choice-{i}-text"],
                "correct": self[f"choice-{i}-correct"],
                "feedback": self[f"choice-{i}-feedback"],
            }
            for i in range(self.choice_count)
        ]

    def question_attrs(self) -> dict[str, Any]:
        """Keyword arguments for services.add_question / update_question."""
        data = self.cleaned_data
        kind = data["kind"]
        choices = []
        if kind in (rules.SINGLE, rules.MULTIPLE):
            choices = [
                rules.ChoiceSpec(
                    text=data.get(f"choice-{i}-text") or "",
                    is_correct=bool(data.get(f"choice-{i}-correct")),
                    feedback=data.get(f"choice-{i}-feedback") or "",
                )
                for i in range(self.choice_count)
            ]
        answer = data.get("correct_answer")
        return {
            "kind": kind,
            "prompt": data["prompt"],
            "points": data["points"],
            "choices": choices,
            "accepted_answers": (data.get("accepted_answers") or "").splitlines()
            if kind == rules.SHORT
            else [],
            "correct_answer": {"true": True, "false": False}.get(answer or "")
            if kind == rules.TRUE_FALSE
            else None,
            "correct_feedback": data.get("correct_feedback") or "",
            "incorrect_feedback": data.get("incorrect_feedback") or "",
        }
