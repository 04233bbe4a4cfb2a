from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from himaya.media.models import CategoryScheme, ListKind
from himaya.media.services import HASHLIST_FORMATS


class AuthorisationForm(forms.Form):
    warrant_number = forms.CharField(label=_("Warrant number"), max_length=100)
    granted_on = forms.DateField(label=_("Date granted"), widget=forms.DateInput(attrs={"type": "date"}))
    granted_by = forms.CharField(label=_("Granted by (judge or prosecutor)"), max_length=200)


class HashListImportForm(forms.Form):
    file = forms.FileField(label=_("File"))
    name = forms.CharField(label=_("List name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=ListKind.choices)
    format = forms.ChoiceField(label=_("Format"), choices=[(f, f) for f in HASHLIST_FORMATS])
    scheme = forms.ChoiceField(label=_("Category scheme"), choices=CategoryScheme.choices, required=False)
    provenance = forms.CharField(label=_("Provenance"), max_length=500, required=False)
