"""The dashboard's filter form: period, source, tier, jurisdiction."""
from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from himaya.stats.figures import Filters, Period

SOURCES = (("", _("All sources")), ("provider", _("Provider API")), ("import", _("Bulk import")), ("portal", _("Public portal")),
           ("partner", _("Partner unit")))
TIERS = (("", _("All priorities")), ("P1", "P1"), ("P2", "P2"), ("P3", "P3"), ("P4", "P4"))
JURISDICTIONS = (("", _("All jurisdictions")), ("ours", _("Ours")), ("foreign", _("Another country")), ("unknown", _("Unknown")))


class FilterForm(forms.Form):
    period = forms.CharField(label=_("Period"), max_length=10, required=False,
                             help_text=_("A year (2026), a quarter (2026-Q3) or a month (2026-07)."))
    source = forms.ChoiceField(label=_("Source"), choices=SOURCES, required=False)
    tier = forms.ChoiceField(label=_("Priority"), choices=TIERS, required=False)
    jurisdiction = forms.ChoiceField(label=_("Jurisdiction"), choices=JURISDICTIONS, required=False)

    def clean_period(self) -> Period:
        text = (self.cleaned_data.get("period") or "").strip() or str(timezone.localdate().year)
        try:
            return Period.parse(text)
        except ValueError:
            raise forms.ValidationError(_("Give a year (2026), a quarter (2026-Q3) or a month (2026-07).")) from None

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(source=data.get("source") or "", tier=data.get("tier") or "", jurisdiction=data.get("jurisdiction") or "")
