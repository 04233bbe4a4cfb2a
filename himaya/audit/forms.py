from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from himaya.audit.catalogue import AuditAction
from himaya.audit.presentation import TARGET_TYPES
from himaya.audit.selectors import AuditFilters


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Person"), required=False, max_length=200,
                            help_text=_("A user name, or a provider account."))
    action = forms.ChoiceField(label=_("Event type"), required=False)
    target_type = forms.ChoiceField(label=_("Object type"), required=False)
    target_id = forms.CharField(label=_("Object ID"), required=False, max_length=100)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("All event types")), *sorted(AuditAction.choices, key=lambda c: str(c[1]))]
        self.fields["target_type"].choices = [("", _("Any object")), *TARGET_TYPES.items()]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("The period ends before it starts."))
        return data

    def filters(self) -> AuditFilters:
        """The valid filters (an invalid form filters nothing it could not read)."""
        self.is_valid()  # an invalid field is left out of cleaned_data
        data = self.cleaned_data
        return AuditFilters(
            actor=data.get("actor") or "", action=AuditAction(data["action"]) if data.get("action") else None,
            target_type=data.get("target_type") or "", target_id=data.get("target_id") or "",
            since=data.get("since"), until=data.get("until"),
        )
