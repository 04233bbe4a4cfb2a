from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from himaya.core.crypto import decrypt_stream
from himaya.exchange.models import OutcomeKind

MAX_KEY_FILE = 64 * 1024


def upload_bytes(upload: Any) -> bytes:
    """An uploaded file's content. Uploads stream into the encrypted store's staging
    area (himaya.intake.uploads); the small files of the exchange are read back whole
    and the staged copy discarded."""
    pending = getattr(upload, "pending", None)
    if pending is None:
        return upload.read()
    try:
        with open(pending.temp_path, "rb") as fh:
            return b"".join(decrypt_stream(fh))
    finally:
        pending.discard()


class PartnerAddForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    country = forms.RegexField(label=_("Country (ISO code, e.g. JO)"), regex=r"^[A-Za-z]{2}$", max_length=2,
                               error_messages={"invalid": _("Two letters: the ISO 3166-1 code of the partner's country.")})
    public_key = forms.FileField(label=_("The partner's public key file"))

    def clean_public_key(self) -> bytes:
        upload = self.cleaned_data["public_key"]
        if upload.size > MAX_KEY_FILE:
            getattr(upload, "pending", None) and upload.pending.discard()
            raise forms.ValidationError(_("This is not a public key file: it is too large."))
        return upload_bytes(upload)


class PackageImportForm(forms.Form):
    package = forms.FileField(label=_("Package from a partner (.zip)"))


class OutcomeForm(forms.Form):
    kind = forms.ChoiceField(label=_("Outcome"), choices=OutcomeKind.choices)
    text = forms.CharField(label=_("Details for the partner"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class ReferForm(forms.Form):
    partner = forms.IntegerField(min_value=1)
    reports = forms.CharField(required=False)  # ids, comma-separated
    case = forms.IntegerField(required=False, min_value=1)

    def clean_reports(self) -> list[int]:
        raw = self.cleaned_data.get("reports") or ""
        try:
            return [int(part) for part in raw.replace(" ", "").split(",") if part]
        except ValueError:
            raise forms.ValidationError(_("Report IDs are numbers.")) from None
