"""Downloading the national report from the dashboard (SPEC §3.7): a small form
(period, language, edition) posted here; the answer is the PDF. The view parses
the form and calls `report_document`, which checks the permission table
(statistics export), renders and audits."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from himaya.accounts.permissions import Action, Kind, allowed
from himaya.stats.figures import Period
from himaya.stats.report import ReportUnavailable, report_document


class ReportForm(forms.Form):
    period = forms.CharField(label=_("Period"), max_length=10,
                             help_text=_("A year (2026), a quarter (2026-Q3) or a month (2026-07)."))
    lang = forms.ChoiceField(label=_("Language of the report"), choices=(("ar", _("Arabic")), ("en", _("English"))))
    external = forms.BooleanField(label=_("For outside the unit (suppress counts from 1 to 4)"), required=False)

    def clean_period(self) -> Period:
        try:
            return Period.parse(self.cleaned_data["period"])
        except ValueError:
            raise forms.ValidationError(_("Give a year (2026), a quarter (2026-Q3) or a month (2026-07).")) from None


def report_form(*, period: str = "", data: Any = None) -> ReportForm:
    """The form as the dashboard shows it: the period it shows, the page's language."""
    language = translation.get_language() or "ar"
    initial = {"period": period or str(timezone.localdate().year), "lang": "en" if language.startswith("en") else "ar"}
    return ReportForm(data=data, initial=initial)


@login_required
@require_http_methods(["GET", "POST"])
def report_download(request: HttpRequest) -> HttpResponse:
    if not allowed(request.user, Action.EXPORT, Kind.STATISTICS):
        raise PermissionDenied("export statistics")
    if request.method == "GET":
        return render(request, "stats/report/download.html", {"report_form": report_form(period=request.GET.get("period", ""))})
    form = report_form(data=request.POST)
    if not form.is_valid():
        return render(request, "stats/report/download.html", {"report_form": form}, status=400)
    period: Period = form.cleaned_data["period"]
    lang, external = form.cleaned_data["lang"], form.cleaned_data["external"]
    with tempfile.TemporaryDirectory(prefix="himaya-report-") as folder:
        out = Path(folder) / "report.pdf"
        try:
            report_document(user_or_operator=request.user, period=period, lang=lang, external=external, out_path=out)
        except ReportUnavailable as exc:
            form.add_error(None, _("The report cannot be produced on this server: %(reason)s") % {"reason": exc})
            return render(request, "stats/report/download.html", {"report_form": form}, status=503)
        # The file is read before the folder goes: FileResponse streams an open handle.
        data = out.read_bytes()
    name = f"himaya-report-{period.label}-{lang}{'-external' if external else ''}.pdf"
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
