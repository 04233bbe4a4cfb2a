"""The national report from the dashboard (SPEC §3.7): a small form (period,
language, edition) posted here asks for it (`report_job_start`, which checks the
permission table); a background task produces and audits it (`report_job_run`);
this page shows the user's reports' state and, once ready, the download."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from himaya.accounts.permissions import Action, Kind, allowed, restrict
from himaya.stats.figures import Period
from himaya.stats.models import ReportJob
from himaya.stats.report import report_problem
from himaya.stats.services import report_job_download, report_job_start


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


def _jobs(user: Any) -> list[ReportJob]:
    """The user's own recent report jobs (never another's, never another unit's)."""
    return list(restrict(ReportJob.objects.all(), user, Action.EXPORT).filter(requested_by=user).defer("pdf")
                .order_by("-created_at", "-id")[:10])


def _page(request: HttpRequest, form: ReportForm, status: int = 200) -> HttpResponse:
    jobs = _jobs(request.user)
    pending = any(j.status in (ReportJob.Status.QUEUED, ReportJob.Status.RUNNING) for j in jobs)
    return render(request, "stats/report/download.html", {"report_form": form, "jobs": jobs, "pending": pending}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def report_download(request: HttpRequest) -> HttpResponse:
    """GET: the form and the state of the user's reports. POST: ask for one; it is
    produced in the background and this page shows it ready, with its download."""
    if not allowed(request.user, Action.EXPORT, Kind.STATISTICS):
        raise PermissionDenied("export statistics")
    if request.method == "GET":
        return _page(request, report_form(period=request.GET.get("period", "")))
    form = report_form(data=request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    problem = report_problem()
    if problem:  # said now rather than by a job that can only fail
        form.add_error(None, _("The report cannot be produced on this server: %(reason)s") % {"reason": problem})
        return _page(request, form, status=503)
    report_job_start(actor=request.user, period=form.cleaned_data["period"], lang=form.cleaned_data["lang"],
                     external=form.cleaned_data["external"])
    return HttpResponseRedirect(reverse("stats:report"), status=303)


@login_required
@require_http_methods(["GET"])
def report_file(request: HttpRequest, job_id: int) -> HttpResponse:
    """A ready report's PDF, to the user who asked for it."""
    if not allowed(request.user, Action.EXPORT, Kind.STATISTICS):
        raise PermissionDenied("export statistics")
    job = report_job_download(actor=request.user, job_id=job_id)
    if job is None:
        raise Http404("no such report")
    response = HttpResponse(bytes(job.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{job.file_name()}"'
    response["Cache-Control"] = "no-store"
    return response
