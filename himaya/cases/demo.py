"""Demo cases at every stage of the workflow (`himaya demo`), made through the
services as the demo users would, so the timeline and the audit log read true.
Synthetic people only (SPEC §6): invented names, example.com, documentation IPs."""
from __future__ import annotations

import datetime

from django.utils import timezone

from himaya.accounts.models import Unit, User
from himaya.cases import services as S
from himaya.cases.models import Case
from himaya.reports.models import Report

STAGES = ("new", "investigating", "prosecution", "court", "closed")
# girl, boy, girl, …: the victim's sex below follows the same parity, so name and sex agree
CHILDREN = (("سلمى", "المثال"), ("يوسف", "التجريبي"), ("ليان", "الافتراضي"), ("آدم", "النموذجي"), ("مريم", "المختلَق"))


def _user(name: str, fallback: User) -> User:
    return User.objects.filter(username=name, unit=fallback.unit).first() or fallback


def demo_cases(*, unit: Unit) -> int:
    """One case per stage (new → closed) from the unit's oldest reports; nothing if
    the unit has cases already. Returns how many cases were made."""
    if Case.objects.filter(unit=unit).exists():
        return 0
    analyst = User.objects.filter(unit=unit, username="analyst").first()
    if analyst is None:
        return 0
    sup, inv, pros, cp = (_user(n, analyst) for n in ("supervisor", "investigator", "prosecutor", "protection"))
    reports = list(Report.objects.filter(unit=unit, status="finished").order_by("id").values_list("id", flat=True)[:10])
    today = timezone.localdate()
    made = 0
    for i, stage in enumerate(STAGES):
        ids = reports[2 * i:2 * i + 2]
        if not ids:
            break
        case = S.case_open(actor=analyst, title=f"قضية تجريبية {i + 1}", report_ids=ids, deadline=today + datetime.timedelta(days=30 - 5 * i))
        made += 1
        if stage == "new":
            continue
        S.case_assign(actor=sup, case=case, usernames=[u.username for u in (inv, pros, cp) if u != analyst])
        S.case_set_status(actor=inv, case=case, status="investigating")
        S.task_create(actor=inv, case=case, kind="preservation_request", title="حفظ بيانات الحساب لدى المزوّد",
                      due=today - datetime.timedelta(days=1) if i == 1 else today + datetime.timedelta(days=3), assignee=inv.username)
        legal = S.legal_request_create(actor=inv, case=case, provider="ExampleChat", kind="preservation", legal_basis="إذن النيابة رقم 1/2026",
                                       account=f"demo-{i}@example.com", sent_on=today - datetime.timedelta(days=9), due_on=today - datetime.timedelta(days=2))
        suspect = S.suspect_create(actor=inv, case=case, label=f"المشتبه به {i + 1}",
                                   identifiers=[{"kind": "email", "value": f"demo-{i}@example.com"}, {"kind": "ip", "value": f"203.0.113.{60 + i}"}])
        first, last = CHILDREN[i]
        victim = S.victim_create(actor=cp, case=case, age_range="13-15", sex="male" if i % 2 else "female", report_ids=ids[:1],
                                 **({"first_name": first, "last_name": last} if S.may_view_identity(cp, case) else {}))
        if stage == "investigating":
            continue
        S.legal_request_answer(actor=inv, request=legal, result="provided", answer="بيانات المشترك وعناوين IP مع الأوقات",
                               answered_on=today - datetime.timedelta(days=3))
        S.suspect_update(actor=inv, suspect=suspect, status="identified")
        S.suspect_update(actor=inv, suspect=suspect, status="arrested", legal_basis="أمر قبض من النيابة العامة")
        S.victim_update(actor=cp, victim=victim, identification="located")
        shelter = S.referral_create(actor=cp, victim=victim, kind="shelter", service="دار الرعاية (مثال)", officer=cp.username)
        S.referral_create(actor=cp, victim=victim, kind="psychological", service="مركز الإرشاد النفسي (مثال)", officer=cp.username)
        S.referral_move(actor=cp, referral=shelter, state="accepted")
        S.case_set_status(actor=pros, case=case, status="prosecution")
        S.suspect_update(actor=pros, suspect=suspect, status="charged", legal_basis="لائحة اتهام النيابة العامة")
        if stage == "prosecution":
            continue
        S.referral_move(actor=cp, referral=shelter, state="in_progress")
        S.victim_update(actor=cp, victim=victim, identification="safeguarded")
        S.case_set_status(actor=pros, case=case, status="court")
        if stage == "court":
            continue
        S.referral_move(actor=cp, referral=shelter, state="completed", outcome="عادت الطفلة إلى أسرتها بمتابعة")
        S.suspect_update(actor=pros, suspect=suspect, status="convicted", legal_basis="حكم محكمة الجنايات")
        S.case_set_status(actor=pros, case=case, status="closed", outcome="convicted")
    return made
