"""The staff pages, through Django's test client."""
from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from lxml import etree

from himaya.audit.models import AuditEvent
from himaya.intake.cybertip import XSD_PATH
from himaya.reports.presentation import ATTRIBUTE_LABELS, ELEMENT_LABELS, VALUE_LABELS
from tests.auth_helpers import login_verified, totp_code, totp_device
from tests.ui.conftest import ARABIC_CHAT, HOSTILE, PASSWORD, plain_report, submit_rich_report

pytestmark = pytest.mark.django_db


def logged_in(user, language: str | None = None) -> Client:  # type: ignore[no-untyped-def]
    client = login_verified(Client(), user, PASSWORD)
    if language:
        client.post(reverse("set_language"), {"language": language, "next": "/"})
    return client


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def test_anonymous_users_are_sent_to_login() -> None:
    client = Client()
    for url in (reverse("reports:list"), reverse("reports:detail", args=[1])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_login_page_is_arabic_by_default() -> None:
    response = Client().get(reverse("accounts:login"))
    html = text_of(response)
    assert response.status_code == 200
    assert '<html lang="ar" dir="rtl">' in html
    assert "حماية" in html
    assert "اسم المستخدم" in html and "كلمة المرور" in html


def test_login_then_logout(analyst_a) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    device = totp_device(analyst_a)
    response = client.post(reverse("accounts:login"), {"username": "analyst-a", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("reports:list")
    # the second factor before anything else
    assert client.get(reverse("reports:list"))["Location"].startswith(reverse("accounts:verify"))
    assert client.post(reverse("accounts:verify"), {"code": totp_code(device, ahead=1)}).status_code == 302
    assert client.get(reverse("reports:list")).status_code == 200
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert client.get(reverse("reports:list")).status_code == 302


def test_list_shows_arabic_headers_by_default_and_english_after_switching(analyst_a, rich_report_id) -> None:  # type: ignore[no-untyped-def]
    client = logged_in(analyst_a)
    html = text_of(client.get(reverse("reports:list")))
    assert 'dir="rtl"' in html
    for header in ("رقم البلاغ", "تاريخ الاستلام", "المصدر", "مزوّد الخدمة", "نوع الواقعة", "المنصة", "الوسوم", "الملفات"):
        assert f'<th scope="col"' in html and header in html, header
    assert "analyst-a" in html and "Unit A" in html
    assert "استدراج الأطفال عبر الإنترنت لأفعال جنسية" in html  # incident type, translated
    assert "ابتزاز جنسي" in html  # annotation, translated
    assert "مُصعَّد" in html
    assert reverse("reports:detail", args=[rich_report_id]) in html

    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("reports:list")})
    assert response.status_code == 302
    html = text_of(client.get(reverse("reports:list")))
    assert '<html lang="en" dir="ltr">' in html
    for header in ("Report ID", "Received on", "Source", "Provider", "Incident type", "Platform", "Annotations", "Files"):
        assert f">{header}</th>" in html, header
    assert "Online enticement of children for sexual acts" in html
    assert "Escalated" in html


def test_language_switch_is_a_post_form_with_csrf(analyst_a) -> None:  # type: ignore[no-untyped-def]
    html = text_of(logged_in(analyst_a).get(reverse("reports:list")))
    form = re.search(r'<form method="post" action="/i18n/setlang/".*?</form>', html, re.S)
    assert form is not None
    assert 'name="csrfmiddlewaretoken"' in form.group(0)
    assert 'name="language" value="en"' in form.group(0)


def test_list_search_and_filters(analyst_a, rich_report_id) -> None:  # type: ignore[no-untyped-def]
    other_id = submit_rich_report(
        reporter_name="examplechat-a2", unit_code="unit-a",
        xml=plain_report(screen_name="someone_else"), with_file=False,
    )
    client = logged_in(analyst_a)
    url = reverse("reports:list")

    def ids(params: dict[str, str]) -> set[int]:
        html = text_of(client.get(url, params))
        return {int(m) for m in re.findall(r'href="/reports/(\d+)/"', html)}

    assert ids({}) == {rich_report_id, other_id}
    assert ids({"q": "bad_user_77"}) == {rich_report_id}
    assert ids({"q": "SUSPECT@example.com"}) == {rich_report_id}
    assert ids({"q": "198.51.100.7"}) == {rich_report_id}
    assert ids({"q": str(other_id)}) == {other_id}
    assert ids({"q": "nobody@example.com"}) == set()
    assert ids({"incident_type": "Child Sex Tourism"}) == set()
    assert ids({"incident_type": "Online Enticement of Children for Sexual Acts"}) == {rich_report_id}
    from himaya.reports.models import Report

    prior = set(Report.objects.filter(status="open").values_list("id", flat=True))  # the unfinished report the rich one cites
    assert ids({"status": "open"}) == prior
    assert ids({"status": "all"}) == {rich_report_id, other_id} | prior
    html = text_of(client.get(url, {"q": "nobody@example.com"}))
    assert "لا يوجد بلاغ يطابق هذا البحث" in html


def test_list_is_paginated_newest_first(analyst_a) -> None:  # type: ignore[no-untyped-def]
    from himaya.accounts.models import Unit
    from himaya.intake.cybertip import parse_xml
    from himaya.intake.services import report_create_from_tree
    from himaya.reports.models import ReportSource, ReportStatus
    from django.utils import timezone

    unit = Unit.objects.get(code="unit-a")
    raw = plain_report(screen_name="paged")
    tree = parse_xml(raw)[1]
    created = [
        report_create_from_tree(tree=tree, raw=raw, unit=unit, source=ReportSource.IMPORT, reporter=None, now=timezone.now(), status=ReportStatus.FINISHED).id
        for _ in range(51)
    ]
    client = logged_in(analyst_a)
    first = text_of(client.get(reverse("reports:list")))
    first_ids = [int(m) for m in re.findall(r'href="/reports/(\d+)/"', first)]
    assert first_ids == sorted(created, reverse=True)[:50]
    assert "page=2" in first
    second = text_of(client.get(reverse("reports:list"), {"page": "2"}))
    assert [int(m) for m in re.findall(r'href="/reports/(\d+)/"', second)] == [min(created)]


def test_a_user_cannot_see_another_units_report(analyst_a, analyst_b, rich_report_id) -> None:  # type: ignore[no-untyped-def]
    client = logged_in(analyst_b)
    response = client.get(reverse("reports:detail", args=[rich_report_id]))
    assert response.status_code == 404
    assert "غير موجود" in text_of(response) and "bad_user_77" not in text_of(response)
    html = text_of(client.get(reverse("reports:list")))
    assert f'href="/reports/{rich_report_id}/"' not in html
    html = text_of(client.get(reverse("reports:list"), {"q": "bad_user_77"}))
    assert f'href="/reports/{rich_report_id}/"' not in html
    html = text_of(client.get(reverse("reports:list"), {"q": str(rich_report_id)}))
    assert f'href="/reports/{rich_report_id}/"' not in html
    assert not AuditEvent.objects.filter(action="report.viewed", actor="user:analyst-b").exists()


def test_a_user_without_a_role_sees_nothing(rich_report_id) -> None:  # type: ignore[no-untyped-def]
    from himaya.accounts.models import Unit, User

    user = User.objects.create_user(username="no-role", password=PASSWORD, unit=Unit.objects.get(code="unit-a"))
    client = login_verified(Client(), user)
    # The report is of the user's unit, but no role may see it: refused (403), and never listed.
    assert client.get(reverse("reports:detail", args=[rich_report_id])).status_code == 403
    assert f'/reports/{rich_report_id}/' not in text_of(client.get(reverse("reports:list")))


def test_report_page_shows_every_section(analyst_a, rich_report_id) -> None:  # type: ignore[no-untyped-def]
    from himaya.reports.models import Report

    report = Report.objects.get(id=rich_report_id)
    html = text_of(logged_in(analyst_a).get(reverse("reports:detail", args=[rich_report_id])))
    # Header
    assert report.raw_sha256 in html
    assert "examplechat-a" in html
    assert "مستلَم" in html or report.get_status_display() in html
    # Section headings, in Arabic
    for heading in ("الواقعة", "الأشخاص والمستخدمون المُبلَّغ عنهم", "المستلمون المقصودون", "الأطفال الضحايا", "الجهة المُبلِّغة", "جهات إنفاذ القانون", "معلومات إضافية", "الملفات"):
        assert heading in html, heading
    expected = [
        # incident summary
        "ExampleChat Messenger", "Ongoing contact; meeting planned for Friday", "Time of the first message",
        "ابتزاز جنسي", "تفاعل بين قاصرين",
        # incidents
        "https://example.com/page/evil-page", "web page note", "room-seven", "chat note", "ExampleP2P", "192.0.2.44", "a.jpg, b.jpg",
        # reported person
        "bad_user_77", "عمر", "Suspectson", "599000111", "+970", "suspect@example.com", "u-12345", "Bad User",
        "https://example.com/u/bad_user_77", "bio of the suspect", "198.51.100.7", "490154203237518", "Nablus",
        "alt_account_9", "alt@example.net", "Other Site", "suspect note",
        # recipients, victims
        "recipient_rana", "Rana", "victim_layla", "ليلى", "Example School",
        # reporter
        "Reporterman", "jsmith@example.com", "Safety", "Serve legal process at legal@example.com", "No abuse of children.", "https://example.com/legal",
        # law enforcement
        "Example Police Agency", "LE-2024-001", "Officerson", "GB",
        # files
        "holiday-photo.jpg", "https://cdn.example.com/f/1.jpg", "0123456789abcdef0123456789abcdef", "203.0.113.5",
        "8997000000000000001", "CameraMake", "ExampleCam", "file note",
    ]
    for value in expected:
        assert value in html, value
    # Translated labels, booleans and enumerations
    for label in ("اسم المستخدم", "التقاط عنوان IP", "وسيط (بروكسي) محتمل", "الحساب معطّل مؤقتًا", "الموقع التقديري", "حساب مرتبط",
                  "اطّلع مزوّد الخدمة على الملف", "متاح للعموم", "البصمة الأصلية للملف", "البيانات الوصفية", "ذكاء اصطناعي توليدي", "رضيع"):
        assert label in html, label
    assert ">نعم<" in html and ">لا<" in html
    assert "تسجيل الدخول" in html  # eventName Login
    # The file's hashes
    rf = report.files.get()
    for digest in (rf.md5, rf.sha1, rf.sha256, rf.file_id):
        assert digest in html
    assert "لا تُعرض الوسائط" in html


def test_chat_content_keeps_its_lines_and_direction(analyst_a, rich_report_id) -> None:  # type: ignore[no-untyped-def]
    html = text_of(logged_in(analyst_a).get(reverse("reports:detail", args=[rich_report_id])))
    assert f'<div class="prose" dir="auto">{ARABIC_CHAT}</div>' in html


def test_urls_from_reports_are_not_links(analyst_a, rich_report_id) -> None:  # type: ignore[no-untyped-def]
    html = text_of(logged_in(analyst_a).get(reverse("reports:detail", args=[rich_report_id])))
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(not h.startswith(("http:", "https:", "//")) for h in hrefs), hrefs
    assert "<img" not in html and "<video" not in html


def test_hostile_text_is_escaped(analyst_a, rich_report_id) -> None:  # type: ignore[no-untyped-def]
    html = text_of(logged_in(analyst_a).get(reverse("reports:detail", args=[rich_report_id])))
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts == ['<script src="/static/himaya/himaya.js" defer>']


def test_viewing_a_report_is_audited(analyst_a, rich_report_id) -> None:  # type: ignore[no-untyped-def]
    before = AuditEvent.objects.filter(action="report.viewed").count()
    logged_in(analyst_a).get(reverse("reports:detail", args=[rich_report_id]))
    event = AuditEvent.objects.filter(action="report.viewed").latest("id")
    assert AuditEvent.objects.filter(action="report.viewed").count() == before + 1
    assert event.actor == "user:analyst-a"
    assert event.target_id == str(rich_report_id)


def test_report_page_in_english(analyst_a, rich_report_id) -> None:  # type: ignore[no-untyped-def]
    html = text_of(logged_in(analyst_a, "en").get(reverse("reports:detail", args=[rich_report_id])))
    assert '<html lang="en" dir="ltr">' in html
    for heading in ("Incident", "Reported persons and users", "Intended recipients", "Child victims", "Reporter", "Law enforcement", "Files"):
        assert f">{heading}" in html, heading
    assert "Screen name" in html and "Possible proxy" in html
    assert "Media are not displayed" in html


def test_pages_need_no_inline_script_or_style(analyst_a, rich_report_id) -> None:  # type: ignore[no-untyped-def]
    client = logged_in(analyst_a)
    for url in (reverse("reports:list"), reverse("reports:detail", args=[rich_report_id]), reverse("accounts:login")):
        html = text_of(client.get(url))
        assert " style=" not in html and "<style" not in html
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert not re.search(r"\son[a-z]+=\"", html)


def _xsd_names() -> tuple[set[str], set[str]]:
    xsd = etree.parse(str(XSD_PATH))
    ns = {"xs": "http://www.w3.org/2001/XMLSchema"}
    elements = {e.get("name") for e in xsd.iterfind(".//xs:element", ns) if e.get("name")}
    attributes = {a.get("name") for a in xsd.iterfind(".//xs:attribute", ns) if a.get("name")}
    return elements, attributes


def test_every_xsd_element_and_attribute_has_a_label() -> None:
    elements, attributes = _xsd_names()
    assert elements - set(ELEMENT_LABELS) == set()
    assert attributes - set(ATTRIBUTE_LABELS) == set()


def test_every_label_is_translated_into_arabic() -> None:
    from django.utils import translation

    with translation.override("ar"):
        untranslated = [
            str(label) for labels in (ELEMENT_LABELS, ATTRIBUTE_LABELS, VALUE_LABELS) for label in labels.values()
            if not re.search(r"[\u0600-\u06FF]", str(label))
        ]
    assert untranslated == []


def test_every_enumerated_value_has_a_label() -> None:
    xsd = etree.parse(str(XSD_PATH))
    ns = {"xs": "http://www.w3.org/2001/XMLSchema"}
    for type_name in ("incidentType", "ipCaptureType", "addressType", "emailType", "phoneType", "associatedAccountType", "fileRelevance", "batchedReportReason"):
        values = {e.get("value") for e in xsd.iterfind(f".//xs:simpleType[@name='{type_name}']//xs:enumeration", ns)}
        assert values and values <= set(VALUE_LABELS), type_name




def test_a_bare_report_renders_and_unknown_elements_keep_their_raw_name(analyst_a) -> None:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from himaya.accounts.models import Unit
    from himaya.intake.cybertip import parse_xml
    from himaya.intake.cybertip.tree import Node
    from himaya.intake.services import report_create_from_tree
    from himaya.reports.models import ReportSource, ReportStatus

    raw = plain_report(screen_name="bare")
    tree = parse_xml(raw)[1]
    # What a future schema might add: shown under its own name rather than dropped.
    tree.children.insert(0, Node(tag="batchedReport", attrs={"reason": "VIRAL_POTENTIAL_MEME"}))
    tree.children.append(Node(tag="futureElement", text="future value"))
    report = report_create_from_tree(
        tree=tree, raw=raw, unit=Unit.objects.get(code="unit-a"), source=ReportSource.IMPORT,
        reporter=None, now=timezone.now(), status=ReportStatus.FINISHED,
    )
    html = text_of(logged_in(analyst_a).get(reverse("reports:detail", args=[report.id])))
    assert "لا توجد ملفات في هذا البلاغ" in html
    assert "بلاغ مجمَّع" in html and "منتشر أو ميم محتمل" in html
    assert "معلومات أخرى في البلاغ" in html and "futureElement" in html and "future value" in html
    assert "المستلمون المقصودون" not in html  # empty sections are left out


def test_a_wrong_password_is_refused_in_arabic(analyst_a) -> None:  # type: ignore[no-untyped-def]
    response = Client().post(reverse("accounts:login"), {"username": "analyst-a", "password": "wrong-password"})
    assert response.status_code == 200
    html = text_of(response)
    assert 'role="alert"' in html
    assert re.search(r'role="alert">\s*<p>[^<]*[\u0600-\u06FF]', html)
