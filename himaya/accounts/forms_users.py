"""Forms of the supervisors' user pages (himaya.accounts.views_users). They parse
input; the services check it again (and decide)."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.utils.translation import gettext_lazy as _

from himaya.accounts.models import Role, User


class RolesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Roles"))
        kwargs.setdefault("error_messages", {"required": _("Choose at least one role.")})
        super().__init__(choices=Role.choices, **kwargs)


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150, validators=[User.username_validator],
                               help_text=_("Letters, digits and . @ + - _ only; used to log in."),
                               widget=forms.TextInput(attrs={"autocomplete": "off", "dir": "ltr", "spellcheck": "false"}))
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    roles = RolesField()
    password = forms.CharField(label=_("First password"), strip=False, help_text=password_validators_help_text_html(),
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "dir": "ltr"}))
    password_again = forms.CharField(label=_("First password (again)"), strip=False,
                                     widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "dir": "ltr"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        password, again = data.get("password"), data.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", _("The two passwords differ."))
        elif password:
            try:
                validate_password(password, user=User(username=data.get("username", ""), first_name=data.get("full_name", "")))
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class UserRolesForm(forms.Form):
    roles = RolesField()
