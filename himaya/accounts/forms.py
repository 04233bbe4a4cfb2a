from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from himaya.accounts.backends import login_locked
from himaya.accounts.services import TOKEN_MAX_DAYS


class LoginForm(AuthenticationForm):
    """The password step. A locked account name or address is refused with its own
    message, even with the right password."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": _("Too many failed attempts: this account or this computer is locked for now. "
                    "A supervisor can unlock the account, or try again later."),
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username and login_locked(username=username, request=self.request):
            raise ValidationError(self.error_messages["locked"], code="locked")
        try:
            return super().clean()
        except ValidationError:
            if username and login_locked(username=username, request=self.request):
                raise ValidationError(self.error_messages["locked"], code="locked") from None
            raise


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=32, strip=True,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "dir": "ltr"}))


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, strip=True,
                           help_text=_("What the token is for, e.g. the script that uses it."))
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, max_value=TOKEN_MAX_DAYS, initial=90)
