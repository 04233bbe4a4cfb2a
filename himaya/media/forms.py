from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from himaya.media.models import CategoryScheme, ListKind


class AuthorisationForm(forms.Form):
    warrant_number = forms.CharField(label=_("Warrant number"), max_length=100)
    granted_on = forms.DateField(label=_("Date granted"), widget=forms.DateInput(attrs={"type": "date"}))
    granted_by = forms.CharField(label=_("Granted by (judge or prosecutor)"), max_length=200)


class HashListImportForm(forms.Form):
    SCHEME_AUTO = "auto"

    file = forms.FileField(label=_("File"))
    name = forms.CharField(label=_("List name"), max_length=200, help_text=_("A list with an existing name is replaced as a new version."))
    kind = forms.ChoiceField(label=_("Kind"), choices=ListKind.choices)
    format = forms.ChoiceField(label=_("Format"), choices=[
        ("vics", _("VICS JSON (1.3 or 2.0)")), ("csv", _("CSV with a header (md5, sha1, sha256, pdq, vpdq...)")), ("lines", _("Plain list, one hash a line")),
    ])
    scheme = forms.ChoiceField(label=_("Category scheme"), required=False, initial=SCHEME_AUTO, choices=[
        (SCHEME_AUTO, _("Automatic (Project VIC for known material in VICS)")), ("none", _("None")),
        *[(value, label) for value, label in CategoryScheme.choices if value],
    ])
    algorithm = forms.ChoiceField(label=_("Unlabelled 64-digit lines are"), required=False, choices=[
        ("", _("SHA-256")), ("pdq", "PDQ"),
    ], help_text=_("Plain lists only; other lines are recognised by their length or an \"md5:\" style prefix."))
    provenance = forms.CharField(label=_("Provenance"), max_length=500, required=False,
                                 help_text=_("Who supplied the list, under what agreement."))

    def scheme_or_none(self) -> str | None:
        scheme = self.cleaned_data["scheme"]
        return {"": None, self.SCHEME_AUTO: None, "none": ""}.get(scheme, scheme)


class HashListRetireForm(forms.Form):
    reason = forms.CharField(label=_("Why is this list retired?"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": _("Say why the list is retired.")})
