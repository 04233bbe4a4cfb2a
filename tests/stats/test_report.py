"""The national report PDF (SPEC §3.7, §4.2): a known caseload built through the real
services, rendered in Arabic and in English, read back with poppler's `pdftotext`
and `pdfinfo`; the external edition hides every count from 1 to 4; the download
from the dashboard is a PDF, audited, and only for those who may export statistics.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from himaya.stats.report import report_problem
from tests.auth_helpers import login_verified

pytestmark = [
    pytest.mark.skipif(report_problem() is not None, reason=f"PDF report cannot render here: {report_problem()}"),
    pytest.mark.skipif(shutil.which("pdftotext") is None or shutil.which("pdfinfo") is None,
                       reason="reads the PDF back with pdftotext and pdfinfo: install the Debian package poppler-utils"),
]

PASSWORD = "stats-report-password-1"
ARABIC_TITLE = "التقرير الوطني عن الاستغلال والاعتداء الجنسي على الأطفال عبر الإنترنت"
ENGLISH_TITLE = "National report on online child sexual exploitation and abuse"
# Bidi controls pdftotext writes around runs of the other direction.
BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u200e\u200f\u2066\u2067\u2068\u2069"))


# --- the caseload ----------------------------------------------------------------------------------------------

@dataclass
class Caseload:
    unit: Any
    supervisor: Any
    analyst: Any
    reports: list[Any]
    sources: Counter[str]
    incident_types: Counter[str]
    cases: int
    victims: Counter[str]     # identification -> victims at that step
    suspects: Counter[str]    # status -> suspects at that status
    requests_sent: int
    requests_answered: int


def _store(xml: bytes, *, unit: Any, source: str) -> Any:
    """A finished report as intake stores it, then the pipeline intake runs."""
    from himaya.enrichment.tasks import report_enrich
    from himaya.intake.services import parse_document, report_create_from_tree
    from himaya.reports.models import ReportStatus

    tree = parse_document(xml, expect="report")
    report = report_create_from_tree(tree=tree, raw=xml, unit=unit, source=source, reporter=None, now=timezone.now(),
                                     status=ReportStatus.FINISHED)
    report_enrich.call(report_id=report.id)
    return report


@pytest.fixture
def caseload(db) -> Caseload:  # type: ignore[no-untyped-def]
    from himaya.accounts.services import unit_get_or_create, user_create
    from himaya.cases import services as cases
    from himaya.reports.models import ReportSource
    from tests.linking.factory import ENTICEMENT, POSSESSION, Person, report_xml

    unit = unit_get_or_create(code="stats-unit")
    supervisor = user_create(username="stats-sup", password=PASSWORD, roles=["supervisor"], unit_code="stats-unit")
    analyst = user_create(username="stats-ia", password=PASSWORD, roles=["intake_analyst"], unit_code="stats-unit")

    plan = [  # (source, incident type): 9 reports, small counts on purpose (the external edition hides them)
        (ReportSource.API, POSSESSION), (ReportSource.API, POSSESSION), (ReportSource.API, POSSESSION),
        (ReportSource.API, POSSESSION), (ReportSource.API, POSSESSION), (ReportSource.API, ENTICEMENT),
        (ReportSource.PORTAL, ENTICEMENT), (ReportSource.IMPORT, POSSESSION), (ReportSource.PARTNER, ENTICEMENT),
    ]
    reports = []
    for i, (source, incident) in enumerate(plan):
        suspect = Person(esp_id=f"stats-user-{i}", emails=[f"user{i}@example.com"])
        reports.append(_store(report_xml(suspect=suspect, incident_type=incident, victim_age=10 + i % 5), unit=unit, source=source))

    c1 = cases.case_open(actor=supervisor, title="Case one", report_ids=[reports[0].id, reports[1].id])
    c2 = cases.case_open(actor=supervisor, title="Case two", report_ids=[reports[2].id])
    c3 = cases.case_open(actor=supervisor, title="Case three", report_ids=[reports[5].id])

    victims: Counter[str] = Counter()
    for case, identification in ((c1, "safeguarded"), (c1, "identified"), (c2, "located"), (c3, "unidentified")):
        cases.victim_create(actor=supervisor, case=case, identification=identification, age_range="9-12", sex="female")
        victims[identification] += 1

    suspects: Counter[str] = Counter()
    today = timezone.localdate()
    s1 = cases.suspect_create(actor=supervisor, case=c1, label="S1", status="identified", legal_basis="Art. 1")
    for step in ("arrested", "charged"):
        s1 = cases.suspect_update(actor=supervisor, suspect=s1, status=step, status_date=today, legal_basis=f"{step} order")
    suspects["charged"] += 1
    cases.suspect_create(actor=supervisor, case=c2, label="S2", status="identified", legal_basis="Art. 1")
    suspects["identified"] += 1
    cases.suspect_create(actor=supervisor, case=c3, label="S3")
    suspects["unidentified"] += 1

    sent = today - timedelta(days=min(3, today.day - 1)) if today.day > 1 else today
    r1 = cases.legal_request_create(actor=supervisor, case=c1, provider="ExampleChat", kind="subscriber_data",
                                    legal_basis="Warrant 1", sent_on=sent, due_on=today + timedelta(days=10))
    cases.legal_request_answer(actor=supervisor, request=r1, result="provided", answered_on=today)
    cases.legal_request_create(actor=supervisor, case=c2, provider="ExampleChat", kind="preservation",
                               legal_basis="Warrant 2", sent_on=sent, due_on=today + timedelta(days=10))
    return Caseload(unit=unit, supervisor=supervisor, analyst=analyst, reports=reports,
                    sources=Counter(str(s) for s, _ in plan), incident_types=Counter(i for _, i in plan), cases=3,
                    victims=victims, suspects=suspects, requests_sent=2, requests_answered=1)


# --- reading the PDF back --------------------------------------------------------------------------------------

def pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return out.translate(BIDI)


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]


def _words(text: str) -> list[str]:
    return text.split()


# Arabic short vowels, shadda and tatweel: pdftotext gives a letter's marks in the order
# the font draws them, sometimes twice (مجمَّع comes back as مجمّّع).
MARKS = dict.fromkeys([*range(0x064B, 0x0660), 0x0670, 0x0640])


def squash(text: str) -> str:
    """Without white space and Arabic marks: pdftotext puts a space inside some
    Arabic words (after a letter with a shadda, before a kerned ي), where the PDF
    has none, and reorders marks."""
    return "".join(text.translate(MARKS).split())


def shows_label(line: str, label: str) -> bool:
    """The label is on the line: its words (without digits and dashes), and each of
    its numbers. In a right-to-left line a range such as "0–2 سنة" is drawn as
    "2–0" read from the right, and pdftotext writes it so."""
    def letters(text: str) -> str:
        return re.sub(r"[\d–\-<]", "", squash(text))

    return letters(label) in letters(line) and all(n in re.findall(r"\d+", line) for n in re.findall(r"\d+", label))


def has(text: str, phrase: str) -> bool:
    return squash(phrase) in squash(text)


def table_lines(text: str, table: Any) -> dict[str, str]:
    """Each row of the table → the line of the PDF's text that shows it: the line
    carrying the row's label and all its cells, found after the table's title."""
    from himaya.stats.report import cell_text

    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if squash(str(table.title)) in squash(line)), None)
    assert start is not None, f"table {table.key!r}: title {table.title!s} not in the PDF"
    lines = lines[start:]
    found: dict[str, str] = {}
    for row in table.rows:
        label = " ".join(str(row.label).split())
        cells = [cell_text(c) for c in row.cells]
        # A long label wraps: its row is then up to three lines of text (blank lines between).
        filled = [line for line in lines if line.strip()]
        candidates = [*filled, *(f"{a} {b}" for a, b in zip(filled, filled[1:])),
                      *(f"{a} {b} {c}" for a, b, c in zip(filled, filled[1:], filled[2:]))]
        for line in candidates:
            squeezed = " ".join(line.split())
            if shows_label(squeezed, label) and all(cell in _words(squeezed) for cell in cells):
                found[row.key] = squeezed
                break
        else:
            raise AssertionError(f"table {table.key!r}, row {row.key!r} ({label}: {cells}) not found on one line of the PDF")
    return found


def this_year() -> Any:
    from himaya.stats.figures import Period, PeriodKind

    return Period.containing(timezone.localdate(), PeriodKind.YEAR)


def render(caseload: Caseload, tmp_path: Path, *, lang: str, external: bool) -> tuple[Path, Any]:
    from django.utils import translation

    from himaya.stats.figures import Filters, Period
    from himaya.stats.report import render_report
    from himaya.stats.selectors import figures_for

    period = this_year()
    out = tmp_path / f"report-{lang}{'-external' if external else ''}.pdf"
    render_report(user_or_operator=caseload.supervisor, period=period.label, lang=lang, external=external, out_path=out)
    keep = os.environ.get("HIMAYA_KEEP_REPORTS")  # a folder to keep the PDFs in, to look at their pages (pdftoppm)
    if keep:
        shutil.copy(out, Path(keep) / out.name)
    with translation.override(lang):
        figures = figures_for(user=caseload.supervisor, period=period, filters=Filters())
        if external:
            figures = figures.suppressed()
        # Titles and labels are lazy: read them in the report's language.
        tables = [_resolved(t) for t in figures.all_tables()]
    return out, tables


def _resolved(table: Any) -> Any:
    from dataclasses import replace

    return replace(table, title=str(table.title), rows=tuple(replace(r, label=str(r.label)) for r in table.rows))


def all_figures_shown(text: str, tables: list[Any]) -> int:
    """Every row of every table is on one line of the PDF with all its cells; the
    number of cells checked."""
    checked = 0
    for table in tables:
        table_lines(text, table)
        checked += sum(len(r.cells) for r in table.rows)
    return checked


# --- the tests --------------------------------------------------------------------------------------------------

def test_arabic_report_has_the_title_every_figure_and_its_pages(caseload: Caseload, tmp_path: Path) -> None:
    from himaya.stats.report import report_document

    pdf, tables = render(caseload, tmp_path, lang="ar", external=False)
    text = pdf_text(pdf)
    assert ARABIC_TITLE in text
    assert has(text, "الملخّص") and has(text, "المنهجية والتحفّظات") and has(text, "حجم البلاغات ليس مدى انتشار الظاهرة")
    assert all_figures_shown(text, tables) > 50
    pages = pdf_pages(pdf)
    # cover, summary, the tables (several to a page), method and caveats; every page but the cover numbered "n / N"
    assert 5 <= pages <= 20
    for n in range(2, pages + 1):
        assert f"{n} / {pages}" in text or f"{pages} / {n}" in text, f"page {n} of {pages} has no number"
    again = report_document(user_or_operator=caseload.supervisor, period=this_year().label, lang="ar", external=False,
                            out_path=tmp_path / "again.pdf")
    assert again.pages == pages


def test_figures_in_the_pdf_are_the_caseload_counted_independently(caseload: Caseload, tmp_path: Path) -> None:
    pdf, tables = render(caseload, tmp_path, lang="en", external=False)
    text = pdf_text(pdf)
    assert ENGLISH_TITLE in text
    by_key = {t.key: t for t in tables}
    funnel = table_lines(text, by_key["funnel"])
    reached = {  # a victim safeguarded was also identified and located; a suspect charged was also identified and arrested
        "victims_identified": sum(caseload.victims[s] for s in ("identified", "located", "safeguarded")),
        "victims_located": sum(caseload.victims[s] for s in ("located", "safeguarded")),
        "victims_safeguarded": caseload.victims["safeguarded"],
        "suspects_identified": sum(caseload.suspects[s] for s in ("identified", "arrested", "charged")),
        "suspects_arrested": sum(caseload.suspects[s] for s in ("arrested", "charged")),
        "suspects_charged": caseload.suspects["charged"],
        "suspects_convicted": 0,
    }
    expected = {"reports": len(caseload.reports), "cases": caseload.cases, **reached}
    for key, count in expected.items():
        assert funnel[key].split()[-1] == str(count) or funnel[key].split()[0] == str(count), (key, funnel[key], count)
    sources = table_lines(text, by_key["reports_by_source"])
    for source, count in caseload.sources.items():
        assert str(count) in sources[source].split(), (source, sources[source])
    assert str(len(caseload.reports)) in sources["total"].split()
    incidents = table_lines(text, by_key["reports_by_incident_type"])
    for incident, count in caseload.incident_types.items():  # rows are keyed by the stored incident type
        assert str(count) in incidents[incident].split(), (incident, incidents[incident])
    legal = table_lines(text, by_key["legal_requests"])
    assert legal["total"].split()[-4:-1] == [str(caseload.requests_answered), str(caseload.requests_sent - caseload.requests_answered),
                                            str(caseload.requests_sent)], legal["total"]


def test_external_edition_hides_every_count_from_one_to_four(caseload: Caseload, tmp_path: Path) -> None:
    from himaya.stats.figures import Measure, recomputable

    internal_pdf, internal = render(caseload, tmp_path, lang="en", external=False)
    pdf, tables = render(caseload, tmp_path, lang="en", external=True)
    text = pdf_text(pdf)
    assert "For outside the unit: counts from 1 to 4 are suppressed" in text
    small_before = sum(1 for t in internal for r in t.rows for c, cell in zip(t.columns, r.cells)
                       if c.measure is Measure.COUNT and cell.value is not None and 1 <= cell.value <= 4)
    assert small_before > 5, "the caseload must have small counts for this test to mean anything"
    lines = {t.key: table_lines(text, t) for t in tables}
    hidden = 0
    for table in tables:
        assert not recomputable(table), table.key
        for row in table.rows:
            words = lines[table.key][row.key].split()
            label_words = len(str(row.label).split())
            for column, cell in zip(table.columns, row.cells):
                if column.measure is Measure.COUNT:
                    assert not (cell.value is not None and 1 <= cell.value <= 4), (table.key, row.key, column.key, cell)
            numbers = [w for w in words[label_words:] if w.replace(",", "").isdigit()]
            assert not [n for n in numbers if 1 <= int(n.replace(",", "")) <= 4 and not _is_time(table, n, row)], (table.key, words)
            hidden += words.count("<5")
    assert hidden >= small_before
    summary = text[text.find("Summary"):text.find("Outcome funnel", text.find("Summary"))]
    assert "<5" in summary


def _is_time(table: Any, text: str, row: Any) -> bool:
    """A shown number that is a time or a target, not a count."""
    from himaya.stats.figures import Measure
    from himaya.stats.report import cell_text

    return any(cell_text(cell) == text and column.measure is not Measure.COUNT for column, cell in zip(table.columns, row.cells))


def test_report_is_audited_and_needs_the_export_permission(caseload: Caseload, tmp_path: Path) -> None:
    from django.core.exceptions import PermissionDenied

    from himaya.audit.models import AuditEvent
    from himaya.stats.report import render_report

    render(caseload, tmp_path, lang="ar", external=True)
    event = AuditEvent.objects.get(action="stats.report_generated")
    assert event.actor.endswith("stats-sup") and event.unit_id == caseload.unit.id
    assert event.data["period"] == this_year().label and event.data["lang"] == "ar" and event.data["external"] is True
    assert event.data["pages"] >= 5
    with pytest.raises(PermissionDenied):
        render_report(user_or_operator=caseload.analyst, period=this_year().label, lang="ar", external=False,
                      out_path=tmp_path / "no.pdf")
    assert not (tmp_path / "no.pdf").exists()
    with pytest.raises(ValueError, match="use ar or en"):
        render_report(user_or_operator=caseload.supervisor, period="2026", lang="fr", external=False, out_path=tmp_path / "x.pdf")
    with pytest.raises(ValueError, match="bad period"):
        render_report(user_or_operator=caseload.supervisor, period="2026-13", lang="ar", external=False, out_path=tmp_path / "x.pdf")
    assert AuditEvent.objects.filter(action="stats.report_generated").count() == 1


def test_download_from_the_dashboard(caseload: Caseload, client: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any) -> None:
    """Asking for the report answers at once (a background job produces it); the
    report page shows it ready with its download, a PDF, audited once."""
    from django.urls import reverse

    from himaya.audit.models import AuditEvent
    from himaya.stats.models import ReportJob

    login_verified(client, caseload.supervisor)
    dashboard = client.get("/stats/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert 'id="national-report-form"' in dashboard and "تنزيل التقرير الوطني (PDF)" in dashboard
    url = reverse("stats:report")
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="ar")
    assert page.status_code == 200
    assert "تنزيل التقرير الوطني (PDF)" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # the job is enqueued once the request commits
        answer = client.post(url, {"period": this_year().label, "lang": "ar", "external": "on"})
    assert answer.status_code == 303 and answer["Location"] == url
    job = ReportJob.objects.get()
    assert job.status == ReportJob.Status.DONE and job.requested_by_id == caseload.supervisor.id  # the test's tasks run at once
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    link = reverse("stats:report_file", args=[job.id])
    assert f'href="{link}"' in page and 'data-status="done"' in page and "جاهز" in page
    assert 'http-equiv="refresh"' not in page  # nothing pending: the page stops refreshing
    answer = client.get(link)
    assert answer.status_code == 200, answer.content[:300]
    assert answer["Content-Type"] == "application/pdf"
    assert f"himaya-report-{this_year().label}-ar-external.pdf" in answer["Content-Disposition"]
    pdf = tmp_path / "downloaded.pdf"
    pdf.write_bytes(answer.content)
    assert ARABIC_TITLE in pdf_text(pdf)
    event = AuditEvent.objects.get(action="stats.report_generated")
    assert event.actor.endswith("stats-sup") and event.data["external"] is True and event.data["pages"] == job.pages
    bad = client.post(url, {"period": "last year", "lang": "ar"})
    assert bad.status_code == 400
    assert "2026-Q3" in bad.content.decode()
    assert ReportJob.objects.count() == 1 and AuditEvent.objects.filter(action="stats.report_generated").count() == 1


def test_a_report_is_only_for_who_asked(caseload: Caseload, client: Any, django_capture_on_commit_callbacks: Any) -> None:
    """Another supervisor of the unit, or of another unit, neither sees the job on
    the report page nor downloads it."""
    from django.urls import reverse

    from himaya.accounts.services import user_create
    from himaya.stats.models import ReportJob
    from himaya.stats.services import report_job_start

    with django_capture_on_commit_callbacks(execute=True):
        job = report_job_start(actor=caseload.supervisor, period=this_year().label, lang="en", external=False)
    job.refresh_from_db()
    assert job.status == ReportJob.Status.DONE
    link = reverse("stats:report_file", args=[job.id])
    for name, unit in (("stats-sup-2", caseload.unit.code), ("stats-sup-b", "stats-report-b")):
        other = user_create(username=name, password=PASSWORD, roles=["supervisor"], unit_code=unit)
        client.logout()
        login_verified(client, other)
        assert client.get(link).status_code == 404
        assert f'data-job="{job.id}"' not in client.get(reverse("stats:report")).content.decode()
    client.logout()
    login_verified(client, caseload.supervisor)
    assert client.get(link).status_code == 200


def test_a_failed_report_says_why_and_a_pending_one_refreshes(caseload: Caseload, client: Any, monkeypatch: pytest.MonkeyPatch,
                                                              django_capture_on_commit_callbacks: Any) -> None:
    """A job whose production fails shows "Failed" and the reason on the page (no
    download, no audit); one still waiting keeps the page refreshing; running the
    task again (a worker that died) finishes it."""
    from django.urls import reverse

    from himaya.audit.models import AuditEvent
    from himaya.stats import report
    from himaya.stats.models import ReportJob
    from himaya.stats.services import report_job_run, report_job_start

    login_verified(client, caseload.supervisor)
    monkeypatch.setattr(report, "amiri_available", lambda: False)
    with django_capture_on_commit_callbacks(execute=True):
        failed = report_job_start(actor=caseload.supervisor, period=this_year().label, lang="ar", external=False)
    failed.refresh_from_db()
    assert failed.status == ReportJob.Status.FAILED and "fonts-hosny-amiri" in failed.error
    page = client.get(reverse("stats:report"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-status="failed"' in page and "fonts-hosny-amiri" in page and "فشل" in page  # "Failed", in the user's Arabic
    assert reverse("stats:report_file", args=[failed.id]) not in page
    assert client.get(reverse("stats:report_file", args=[failed.id])).status_code == 404
    assert not AuditEvent.objects.filter(action="stats.report_generated").exists()
    monkeypatch.undo()

    waiting = report_job_start(  # not committed here: no worker has started it yet
        actor=caseload.supervisor, period=this_year().label, lang="en", external=False)
    page = client.get(reverse("stats:report"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-status="queued"' in page and 'http-equiv="refresh"' in page
    ReportJob.objects.filter(id=waiting.id).update(status=ReportJob.Status.RUNNING)  # its worker died mid-way
    assert report_job_run(job_id=waiting.id) == ReportJob.Status.DONE
    assert report_job_run(job_id=waiting.id) == ReportJob.Status.DONE  # again: nothing done twice
    assert AuditEvent.objects.filter(action="stats.report_generated").count() == 1
    assert client.get(reverse("stats:report_file", args=[waiting.id]))["Content-Type"] == "application/pdf"


def test_download_refused_to_a_role_that_may_not_export(caseload: Caseload, client: Any) -> None:
    from django.urls import reverse

    login_verified(client, caseload.analyst)
    assert client.get(reverse("stats:report")).status_code == 403
    assert client.post(reverse("stats:report"), {"period": "2026", "lang": "en"}).status_code == 403


def test_a_machine_without_the_font_is_told_which_package_to_install(caseload: Caseload, client: Any, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from django.urls import reverse

    from himaya.audit.models import AuditEvent
    from himaya.stats import report

    monkeypatch.setattr(report, "amiri_available", lambda: False)
    with pytest.raises(report.ReportUnavailable, match="apt-get install fonts-hosny-amiri"):
        report.render_report(user_or_operator=caseload.supervisor, period="2026", lang="ar", external=False,
                             out_path=tmp_path / "none.pdf")
    assert not (tmp_path / "none.pdf").exists()
    login_verified(client, caseload.supervisor)
    answer = client.post(reverse("stats:report"), {"period": "2026", "lang": "en"}, HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 503
    assert "fonts-hosny-amiri" in answer.content.decode()
    assert not AuditEvent.objects.filter(action="stats.report_generated").exists()
