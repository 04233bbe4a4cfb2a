from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class SeparateForm(forms.Form):
    reason = forms.CharField(label=_("Why these are not the same person"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Give a reason."))
        return reason
