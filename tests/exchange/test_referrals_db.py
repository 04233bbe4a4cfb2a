"""Referrals through the services, the command and the pages, in one database with
two units (each its own keys) standing in for two countries' installations; the
two-server test (test_two_servers.py) does the same across real servers."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import translation

from himaya.accounts.permissions import OPERATOR
from himaya.accounts.services import unit_get_or_create, user_create
from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent
from himaya.exchange.errors import ExchangeError, PackageRefused
from himaya.exchange.models import Partner, Referral
from himaya.exchange.services import (
    package_import, package_verify, partner_add, referral_acknowledge, referral_package, referral_report_outcome, unit_key_export,
)
from himaya.reports.models import Report, ReportFile
from tests.auth_helpers import login_verified
from tests.conftest import DOC_REPORT, file_details_doc

pytestmark = pytest.mark.django_db
PASSWORD = "exchange-tests-password-1"


@pytest.fixture(autouse=True)
def english():  # type: ignore[no-untyped-def]
    """Services speak the active language; these tests read their English (pages choose Arabic themselves)."""
    with translation.override("en"):
        yield


@pytest.fixture
def units(reporter):  # type: ignore[no-untyped-def]
    """A: the intake unit the provider reports to (PS); B: a partner country's unit (JO), partners both ways."""
    a = reporter.unit
    b = unit_get_or_create(code="jo-ccu")
    b.country = "JO"
    b.save()
    partner_add(name="Jordan-CCU", country="JO", key_file=unit_key_export(actor=OPERATOR, unit_code="jo-ccu"), actor=OPERATOR,
                unit_code=a.code)
    partner_add(name="Palestine-JPP", country="PS", key_file=unit_key_export(actor=OPERATOR, unit_code=a.code), actor=OPERATOR,
                unit_code="jo-ccu")
    return a, b


def _provider_report(provider, image: bytes, name: str) -> int:  # type: ignore[no-untyped-def]
    rid = provider.submit(DOC_REPORT.replace(b"jsmith", name.encode())).report_id
    fid = provider.upload(rid, image + name.encode(), name=f"{name}.jpg").file_id
    provider.fileinfo(file_details_doc(rid, fid))
    assert provider.finish(rid).code == 0
    return rid


@pytest.fixture
def sent(units, provider, image_bytes):  # type: ignore[no-untyped-def]
    ids = [_provider_report(provider, image_bytes, n) for n in ("hawk", "sparrow", "owl")]
    referral, data = referral_package(report_ids=ids, partner_name="Jordan-CCU", actor=OPERATOR, unit_code=units[0].code)
    return ids, referral, data


def _b_reports(b) -> list[Report]:  # type: ignore[no-untyped-def]
    return list(Report.objects.filter(unit=b).order_by("id"))


def test_a_referral_arrives_whole_and_its_answers_come_back(units, sent) -> None:  # type: ignore[no-untyped-def]
    a, b = units
    ids, referral, data = sent
    from himaya.cases.services import case_open

    case = case_open(actor=_make("chief", "supervisor", a.code), title="Referred abroad", report_ids=ids[:1])
    result = package_import(data=data, actor=OPERATOR, unit_code="jo-ccu")
    assert len(result.imported) == 3 and result.known == []
    received = _b_reports(b)
    assert [r.source for r in received] == ["partner"] * 3
    assert sorted(r.external_id for r in received) == ids  # the sender's IDs are kept
    assert sorted(f.sha256 for f in ReportFile.objects.filter(report__unit=b)) == sorted(f.sha256 for f in ReportFile.objects.filter(report_id__in=ids))
    originals = {r.id: r.document for r in Report.objects.filter(id__in=ids)}
    assert all(r.document == originals[r.external_id] for r in received)  # the same document: nothing dropped, nothing invented

    receipt = referral_acknowledge(package_id=str(result.referral.package_id), actor=OPERATOR, unit_code="jo-ccu")
    package_import(data=receipt, actor=OPERATOR, unit_code=a.code)
    referral.refresh_from_db()
    assert referral.state == "acknowledged" and referral.acknowledged_at is not None

    outcome = referral_report_outcome(package_id=str(result.referral.package_id), kind="victim_identified", text="Child safeguarded",
                                      actor=OPERATOR, unit_code="jo-ccu")
    package_import(data=outcome, actor=OPERATOR, unit_code=a.code)
    referral.refresh_from_db()
    assert referral.state == "outcome"
    assert [(o.kind, o.text) for o in referral.outcomes.all()] == [("victim_identified", "Child safeguarded")]
    from himaya.cases.presentation import event_summary

    with translation.override("ar"):
        timeline = {e.type: event_summary(e) for e in case.timeline.all()}
    assert "partner_referral_acknowledged" in timeline  # the referral was sent before the case opened: no "sent" event
    assert "Jordan-CCU" in timeline["partner_outcome"] and "تحديد هوية الضحية" in timeline["partner_outcome"]
    assert "Child safeguarded" not in timeline["partner_outcome"]  # the partner's words stay on the referral
    actions = list(AuditEvent.objects.filter(action__startswith="exchange.").values_list("action", flat=True))
    for action in (AuditAction.PARTNER_REFERRAL_SENT, AuditAction.PARTNER_REFERRAL_RECEIVED, AuditAction.PARTNER_RECEIPT_SENT,
                   AuditAction.PARTNER_REFERRAL_ACKNOWLEDGED, AuditAction.PARTNER_OUTCOME_SENT, AuditAction.PARTNER_OUTCOME_RECEIVED):
        assert action.value in actions


def test_a_refused_package_leaves_nothing_but_its_audit_event(units, sent) -> None:  # type: ignore[no-untyped-def]
    a, b = units
    _, _, data = sent
    flipped = bytearray(data)
    flipped[len(flipped) // 3] ^= 0x80
    with pytest.raises(PackageRefused):
        package_import(data=bytes(flipped), actor=OPERATOR, unit_code="jo-ccu")
    assert _b_reports(b) == [] and not Referral.objects.filter(unit=b).exists()
    refused = AuditEvent.objects.get(action=AuditAction.PARTNER_PACKAGE_REFUSED)
    assert refused.unit_id == b.id and ("damaged" in refused.data["reason"] or "altered" in refused.data["reason"])
    # then the intact one goes in, and a second time it is a replay
    package_import(data=data, actor=OPERATOR, unit_code="jo-ccu")
    with pytest.raises(PackageRefused, match="replay"):
        package_import(data=data, actor=OPERATOR, unit_code="jo-ccu")
    with pytest.raises(PackageRefused, match="was already imported on"):
        package_verify(data=data, actor=OPERATOR, unit_code="jo-ccu")  # verify says so too, before anyone tries
    assert len(_b_reports(b)) == 3


def test_the_same_reports_in_a_new_package_add_nothing(units, sent) -> None:  # type: ignore[no-untyped-def]
    a, b = units
    ids, _, data = sent
    package_import(data=data, actor=OPERATOR, unit_code="jo-ccu")
    _, again = referral_package(report_ids=ids[:2], partner_name="Jordan-CCU", actor=OPERATOR, unit_code=a.code)
    result = package_import(data=again, actor=OPERATOR, unit_code="jo-ccu")
    assert result.imported == [] and len(result.known) == 2
    assert len(_b_reports(b)) == 3
    assert Referral.objects.filter(unit=b, direction="received").count() == 2


def test_a_package_for_another_partner_or_from_a_deactivated_one_is_refused(units, sent) -> None:  # type: ignore[no-untyped-def]
    a, b = units
    _, _, data = sent
    with pytest.raises(PackageRefused, match="another unit"):
        package_import(data=data, actor=OPERATOR, unit_code=a.code)  # A's own package, to A
    Partner.objects.filter(unit=b).update(active=False)
    with pytest.raises(PackageRefused, match="unknown partner"):
        package_import(data=data, actor=OPERATOR, unit_code="jo-ccu")
    assert _b_reports(b) == []


def test_a_receipt_for_a_referral_never_sent_is_refused(units, sent) -> None:  # type: ignore[no-untyped-def]
    a, b = units
    _, referral, data = sent
    package_import(data=data, actor=OPERATOR, unit_code="jo-ccu")
    received = Referral.objects.get(unit=b)
    receipt = referral_acknowledge(package_id=str(received.package_id), actor=OPERATOR, unit_code="jo-ccu")
    Referral.objects.filter(pk=referral.pk).update(package_id="00000000-0000-4000-8000-000000000000")
    with pytest.raises(PackageRefused, match="no referral .* was sent"):
        package_import(data=receipt, actor=OPERATOR, unit_code=a.code)


def test_the_commands_give_clear_errors(units, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    a, _ = units
    key = tmp_path / "b.json"
    call_command("exchange", "key", "export", "--out", str(key), "--unit", "jo-ccu")
    with pytest.raises(CommandError, match="already registered"):
        call_command("exchange", "partner", "add", "Jordan-2", "--country", "JO", "--public-key", str(key), "--unit", a.code)
    with pytest.raises(CommandError, match="ISO 3166-1"):
        call_command("exchange", "partner", "add", "Jordan-3", "--country", "Jordan", "--public-key", str(key), "--unit", a.code)
    with pytest.raises(CommandError, match="no such file"):
        call_command("exchange", "verify", str(tmp_path / "missing.zip"))
    own = tmp_path / "own.json"
    call_command("exchange", "key", "export", "--out", str(own), "--unit", a.code)
    with pytest.raises(CommandError, match="own keys"):
        call_command("exchange", "partner", "add", "Myself", "--country", "PS", "--public-key", str(own), "--unit", a.code)
    with pytest.raises(CommandError, match="no active partner named Nobody"):
        call_command("exchange", "package", "1", "--to", "Nobody", "--out", str(tmp_path / "x.zip"), "--unit", a.code)
    with pytest.raises(CommandError, match="no report 424242"):
        call_command("exchange", "package", "424242", "--to", "Jordan-CCU", "--out", str(tmp_path / "x.zip"), "--unit", a.code)
    assert not (tmp_path / "x.zip").exists()
    call_command("exchange", "partner", "list", "--unit", a.code)
    listed = capsys.readouterr().out
    assert "Jordan-CCU\tJO\t" in listed
    assert json.loads(key.read_text())["fingerprint"] in listed


# ---------------------------------------------------------------- pages


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client(HTTP_ACCEPT_LANGUAGE="ar")
    return login_verified(client, user)


def _make(name: str, role: str, unit_code: str):  # type: ignore[no-untyped-def]
    return user_create(username=name, password=PASSWORD, roles=[role], unit_code=unit_code)


def test_the_partners_page_in_arabic_with_country_and_fingerprint(units) -> None:  # type: ignore[no-untyped-def]
    a, _ = units
    chief = _make("chief", "supervisor", a.code)
    page = _client(chief).get("/exchange/partners/")
    html = page.content.decode()
    assert page.status_code == 200 and 'lang="ar"' in html and 'dir="rtl"' in html
    partner = Partner.objects.get(unit=a)
    assert "Jordan-CCU" in html and ">JO<" in html and partner.fingerprint[:4] + " " + partner.fingerprint[4:8] in html
    assert "الشركاء" in html or "الوحدات الشريكة" in html
    assert 'id="partner-form"' in html  # supervisors manage
    investigator = _make("inv", "investigator", a.code)
    html = _client(investigator).get("/exchange/partners/").content.decode()
    assert "Jordan-CCU" in html and 'id="partner-form"' not in html
    assert _client(_make("cp", "child_protection", a.code)).get("/exchange/partners/").status_code == 403
    other = _make("other-chief", "supervisor", "jo-ccu")
    assert "Jordan-CCU" not in _client(other).get("/exchange/partners/").content.decode()  # another unit's partners do not exist for it


def test_a_supervisor_registers_a_partner_from_its_key_file(units) -> None:  # type: ignore[no-untyped-def]
    a, _ = units
    chief = _make("chief", "supervisor", a.code)
    client = _client(chief)
    key = client.post("/exchange/key/")
    assert key["Content-Disposition"].startswith("attachment") and json.loads(key.content)["format"] == "himaya-exchange-key/1"
    c = unit_get_or_create(code="eg-unit")
    key_file = io.BytesIO(unit_key_export(actor=OPERATOR, unit_code=c.code))
    key_file.name = "egypt.json"
    response = client.post("/exchange/partners/add/", {"name": "Egypt-Unit", "country": "eg", "public_key": key_file})
    assert response.status_code == 302 and Partner.objects.get(unit=a, name="Egypt-Unit").country == "EG"
    bad = io.BytesIO(b"{not json")
    bad.name = "bad.json"
    response = client.post("/exchange/partners/add/", {"name": "Broken", "country": "EG", "public_key": bad})
    assert response.status_code == 400 and "Broken" not in Partner.objects.values_list("name", flat=True)
    assert _client(_make("inv", "investigator", a.code)).post("/exchange/partners/add/", {"name": "X"}).status_code == 403


def _foreign(report_id: int, country: str) -> None:
    from django.utils import timezone

    from himaya.linking.models import ReportLinkage

    ReportLinkage.objects.update_or_create(report_id=report_id, defaults={
        "cluster_id": report_id, "unit_cluster_id": report_id, "country": country, "decision": "foreign", "linked_at": timezone.now()})


def test_a_supervisor_refers_a_foreign_report_from_its_page(units, provider, image_bytes) -> None:  # type: ignore[no-untyped-def]
    a, b = units
    rid = _provider_report(provider, image_bytes, "falcon")
    _foreign(rid, "JO")
    chief = _make("chief", "supervisor", a.code)
    client = _client(chief)
    html = client.get(f"/reports/{rid}/").content.decode()
    assert "Jordan-CCU" in html and 'class="inline-form refer-form"' in html
    investigator = _client(_make("inv", "investigator", a.code))
    inv_html = investigator.get(f"/reports/{rid}/").content.decode()
    assert 'refer-form' not in inv_html  # investigators see the panel, not the control
    partner = Partner.objects.get(unit=a, name="Jordan-CCU")
    assert investigator.post("/exchange/refer/", {"partner": partner.pk, "reports": str(rid)}).status_code == 403
    assert not Referral.objects.filter(unit=a).exists()
    response = client.post("/exchange/refer/", {"partner": partner.pk, "reports": str(rid)})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(response.content)).namelist() == ["package.json", "payload.bin"]
    referral = Referral.objects.get(unit=a)
    assert referral.state == "sent" and list(referral.reports.values_list("id", flat=True)) == [rid]
    # B's supervisor imports it through the page and acknowledges it
    b_chief = _make("b-chief", "supervisor", "jo-ccu")
    b_client = _client(b_chief)
    package = io.BytesIO(response.content)
    package.name = "referral.zip"
    b_client.post("/exchange/referrals/import/", {"package": package})
    received = Referral.objects.get(unit=b)
    page = b_client.get("/exchange/referrals/").content.decode()
    assert f'data-referral="{received.pk}" data-state="received"' in page and "Palestine-JPP" in page
    receipt = b_client.post(f"/exchange/referrals/{received.pk}/ack/")
    assert receipt["Content-Type"] == "application/zip"
    receipt_file = io.BytesIO(receipt.content)
    receipt_file.name = "receipt.zip"
    client.post("/exchange/referrals/import/", {"package": receipt_file})
    with translation.override("ar"):
        page = client.get("/exchange/referrals/").content.decode()
    assert f'data-referral="{referral.pk}" data-state="acknowledged"' in page
    # a page of another unit's referral: 404, a role that may not: 403
    assert b_client.post(f"/exchange/referrals/{referral.pk}/ack/").status_code == 404
    assert _client(_make("ia", "intake_analyst", a.code)).get("/exchange/referrals/").status_code == 403


def test_a_tampered_upload_is_refused_with_a_message_and_nothing_imported(units, sent) -> None:  # type: ignore[no-untyped-def]
    _, b = units
    _, _, data = sent
    flipped = bytearray(data)
    flipped[-100] ^= 0x01
    upload = io.BytesIO(bytes(flipped))
    upload.name = "referral.zip"
    client = _client(_make("b-chief", "supervisor", "jo-ccu"))
    page = client.post("/exchange/referrals/import/", {"package": upload}, follow=True).content.decode()
    assert "رُفضت الحزمة" in page or "Package refused" in page
    assert _b_reports(b) == []


def test_errors_are_exchange_errors_not_tracebacks(units) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ExchangeError):
        referral_acknowledge(package_id="not-a-uuid", actor=OPERATOR, unit_code="jo-ccu")
    with pytest.raises(ExchangeError, match="no referral"):
        referral_report_outcome(package_id="00000000-0000-4000-8000-000000000000", kind="arrest", text="", actor=OPERATOR, unit_code="jo-ccu")


def test_a_supervisor_refers_a_whole_case_and_its_timeline_says_so(units, provider, image_bytes) -> None:  # type: ignore[no-untyped-def]
    from himaya.cases.presentation import event_summary
    from himaya.cases.services import case_open

    a, _ = units
    ids = [_provider_report(provider, image_bytes, n) for n in ("kite", "heron")]
    _foreign(ids[0], "JO")
    chief = _make("chief", "supervisor", a.code)
    case = case_open(actor=chief, title="Across the border", report_ids=ids)
    client = _client(chief)
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert 'id="exchange-title"' in html and f'name="case" value="{case.pk}"' in html
    prosecutor_html = _client(_make("pros", "prosecutor", a.code)).get(f"/cases/{case.pk}/").content.decode()
    assert 'refer-form' not in prosecutor_html
    partner = Partner.objects.get(unit=a, name="Jordan-CCU")
    response = client.post("/exchange/refer/", {"partner": partner.pk, "case": case.pk})
    assert response["Content-Type"] == "application/zip"
    referral = Referral.objects.get(unit=a, case=case)
    assert sorted(referral.reports.values_list("id", flat=True)) == sorted(ids)  # every report of the case
    with translation.override("ar"):
        [sent] = [event_summary(e) for e in case.timeline.all() if e.type == "partner_referral_sent"]
    assert "Jordan-CCU" in sent and "بلاغان" in sent  # "2 reports referred to partner unit Jordan-CCU."


def test_an_oversized_document_refuses_the_whole_package(units, sent, settings) -> None:  # type: ignore[no-untyped-def]
    _, b = units
    _, _, data = sent
    settings.HIMAYA_MAX_XML_BYTES = 200  # the documents of the package are larger
    with pytest.raises(PackageRefused, match="a document is larger than 200 bytes"):
        package_import(data=data, actor=OPERATOR, unit_code="jo-ccu")
    assert _b_reports(b) == [] and not Referral.objects.filter(unit=b).exists()
