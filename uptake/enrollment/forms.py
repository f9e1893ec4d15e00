"""Forms of the enrolment screens: parsing and field checks only; rules live in services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from uptake.enrollment import rules

STATUS_CHOICES = [
    ("", _("Any status")),
    (rules.ASSIGNED, _("Not started")),
    (rules.IN_PROGRESS, _("In progress")),
    (rules.COMPLETED, _("Completed")),
    (rules.OVERDUE, _("Overdue")),
    (rules.WITHDRAWN, _("Withdrawn")),
]


class _ChoicesMixin:
    fields: dict[str, forms.Field]

    def _set_choices(self, name: str, choices: list[tuple[Any, Any]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices


def _choices(values: list[str], blank: Any) -> list[tuple[str, Any]]:
    return [("", blank), *((v, v) for v in values)]


class AssignForm(_ChoicesMixin, forms.Form):
    """Which course, whom (search and filters, or a manager's team) and by when."""

    course = forms.TypedChoiceField(label=_("Course"), coerce=int)
    q = forms.CharField(label=_("Search people"), required=False, max_length=200)
    department = forms.ChoiceField(label=_("Department"), required=False)
    location = forms.ChoiceField(label=_("Location"), required=False)
    role_family = forms.ChoiceField(label=_("Role family"), required=False)
    team_of = forms.TypedChoiceField(
        label=_("Manager's team"), required=False, coerce=int, empty_value=None
    )
    include_indirect = forms.BooleanField(
        label=_("Include everyone below that manager, not only direct reports"),
        required=False,
        initial=True,
    )
    due_date = forms.DateField(
        label=_("Due date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Optional. Due at the end of that day."),
    )

    def __init__(
        self,
        *args: Any,
        courses: list[tuple[int, str]],
        options: dict[str, list[str]],
        team_leads: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._set_choices("course", [("", _("Choose a course")), *courses])
        self._set_choices("department", _choices(options.get("department", []), _("Any")))
        self._set_choices("location", _choices(options.get("location", []), _("Any")))
        self._set_choices("role_family", _choices(options.get("role_family", []), _("Any")))
        self._set_choices("team_of", [("", _("Anyone")), *team_leads])

    def clean_due_date(self) -> dt.date | None:
        value: dt.date | None = self.cleaned_data.get("due_date")
        if value is not None and value < timezone.localdate():
            raise forms.ValidationError(_("The due date must be today or later."))
        return value

    @property
    def due_at(self) -> dt.datetime | None:
        """The end of the due day in the viewer's time zone."""
        day = self.cleaned_data.get("due_date")
        if day is None:
            return None
        end = dt.datetime.combine(day, dt.time(23, 59, 59))
        return timezone.make_aware(end, timezone.get_current_timezone())

    @property
    def people_filters(self) -> dict[str, object]:
        return {
            name: self.cleaned_data[name]
            for name in ("department", "location", "role_family")
            if self.cleaned_data.get(name)
        }


class EnrollmentFilterForm(_ChoicesMixin, forms.Form):
    course = forms.TypedChoiceField(label=_("Course"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)

    def __init__(self, *args: Any, courses: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._set_choices("course", [("", _("Any course")), *courses])
