from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from himaya.triage.labels import OFFENCE_LABELS, PRIORITY_LABELS

PRIORITY_CHOICES = [("", _("Keep the priority"))] + [(k, v) for k, v in PRIORITY_LABELS.items()]


class OverrideForm(forms.Form):
    priority = forms.ChoiceField(label=_("Priority"), choices=PRIORITY_CHOICES, required=False)
    change_classification = forms.BooleanField(label=_("Change the offence categories"), required=False)
    offences = forms.MultipleChoiceField(label=_("Offence categories"), choices=list(OFFENCE_LABELS.items()), required=False,
                                         widget=forms.CheckboxSelectMultiple)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        if not data.get("priority") and not data.get("change_classification"):
            raise forms.ValidationError(_("Choose a priority or change the offence categories."))
        return data


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=[("review", _("Mark as reviewed")), ("priority", _("Set priority"))])
    reports = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    priority = forms.ChoiceField(choices=PRIORITY_CHOICES, required=False)
    reason = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, report_ids: list[int], **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["reports"].choices = [(i, str(i)) for i in report_ids]

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        if data.get("action") == "priority" and (not data.get("priority") or not (data.get("reason") or "").strip()):
            raise forms.ValidationError(_("Setting a priority needs the priority and a reason."))
        return data
