"""Forms of the learner and manager screens: parsing and validation only."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from uptake.web import throttle

THROTTLED = "throttled"


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, refusing attempts while the username or address is locked out.

    The error for a bad login never says whether the username exists.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Wrong username or password."),
        "inactive": _("Wrong username or password."),
    }

    def __init__(self, request: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})
        self.lockout: throttle.Lockout | None = None

    def _address(self) -> str:
        return throttle.client_address(self.request) if self.request is not None else "unknown"

    def clean(self) -> dict[str, Any]:
        username = (self.cleaned_data.get("username") or "").strip()
        address = self._address()
        lockout = throttle.check(username=username, address=address)
        if lockout is not None:
            self.lockout = lockout
            raise forms.ValidationError(
                ngettext(
                    "Too many failed attempts; try again in %(minutes)d minute.",
                    "Too many failed attempts; try again in %(minutes)d minutes.",
                    lockout.minutes,
                )
                % {"minutes": lockout.minutes},
                code=THROTTLED,
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            throttle.record_failure(username=username, address=address)
            raise
        throttle.clear_username(username=username)
        return cleaned


@lru_cache(maxsize=1)
def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class PreferencesForm(forms.Form):
    """The two things a person sets for themselves: their time zone and UI language."""

    time_zone = forms.ChoiceField(label=_("Time zone"))
    language = forms.ChoiceField(label=_("Language"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        time_zone = self.fields["time_zone"]
        language = self.fields["language"]
        assert isinstance(time_zone, forms.ChoiceField)
        assert isinstance(language, forms.ChoiceField)
        time_zone.choices = _time_zone_choices()
        language.choices = [(code, str(name)) for code, name in settings.LANGUAGES]
