"""One small installation for the permission tests: two units (the national one
and another), one user per role in each (plus a superuser with no role), and in
each unit one object of every kind that exists.

Every user holds the explicit media grants (`view_media`, `record_authorisation`),
so that the one table alone decides: an auditor who was granted them anyway must
still be refused. Invented names, example.com (SPEC §6).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.test import Client

from himaya.accounts.models import Role

VICTIM_FIRST, VICTIM_LAST, VICTIM_BORN = "Samira", "Matrixson", "2017-03-04"
# The case's victim (a name of its own: the case page must not show the report's victim instead).
CASE_VICTIM_FIRST, CASE_VICTIM_LAST, CASE_VICTIM_BORN = "Nadia", "Casematrix", "2015-06-07"
PORTAL_PHONES = {"own": "+970599000771", "other": "+970599000772"}  # the portal reporters' contacts (invented)
FAST_ARGON2 = {"time_cost": 1, "memory_cost": 8 * 1024, "parallelism": 1}  # test-sized, as tests/portal
SUPERUSER = "superuser"  # a superuser with no role: no implicit access to unit data
ROLES: list[str] = [*Role.values, SUPERUSER]


@dataclass
class UnitWorld:
    unit: Any
    report: Any            # with a named victim, a file, a triage verdict, and linked to `linked`
    linked: Any
    file: Any
    subject: Any           # a staff user of the unit (the object of USER actions)
    audit_actor: str       # the actor label of an audit event of this unit
    audit_target: str      # and its target id
    # Made by the unit's supervisor through the services (build_world): "case" (with the
    # unit's investigator and prosecutor assigned), "victim" (named), "referral", "suspect",
    # "task", "legal_request"; "portal_report" (a portal report with a contact, "portal_phone")
    # and its reporter's "portal_message" text.
    objects: dict[str, Any] = field(default_factory=dict)


@dataclass
class World:
    units: dict[str, UnitWorld]          # "own" (the national unit), "other"
    users: dict[tuple[str, str], Any]    # (role, "own"|"other") -> user
    clients: dict[tuple[str, str], Client]
    national: dict[str, Any]             # the national kinds' objects: hash list, rule set


def _named_victim(xml: bytes) -> bytes:
    return xml.replace(b"<victimPerson><age>", f"<victimPerson><firstName>{VICTIM_FIRST}</firstName><lastName>{VICTIM_LAST}</lastName><age>".encode()).replace(
        b"</age></victimPerson>", f"</age><dateOfBirth>{VICTIM_BORN}</dateOfBirth></victimPerson>".encode())


def _unit_world(unit: Any, code: str) -> UnitWorld:
    from himaya.accounts.models import User
    from himaya.accounts.permissions import Operator
    from himaya.audit.catalogue import AuditAction
    from himaya.audit.services import audit_record
    from himaya.reports.models import ReportFile
    from tests.linking.factory import FileSpec, Person, report_xml, store

    suspect = Person(esp_id=f"matrix-{code}", emails=[f"matrix.{code}@example.com"])
    linked = store(report_xml(suspect=suspect), unit=unit)
    report = store(_named_victim(report_xml(suspect=suspect, victim_age=9)), unit=unit, files=[FileSpec()])
    subject = User.objects.create(username=f"subject-{code}", unit=unit, roles=[Role.INVESTIGATOR.value])
    actor = f"cli:matrix-actor-{code}"  # a label with a colon: the log filters on it as written
    target = f"matrix-target-{code}"
    audit_record(actor=Operator(actor), action=AuditAction.REPORT_VIEWED, target_type="matrix.object", target_id=target, unit_id=unit.id)
    return UnitWorld(unit=unit, report=report, linked=linked, file=ReportFile.objects.get(report=report), subject=subject, audit_actor=actor,
                     audit_target=target)


def build_world() -> World:
    from django.contrib.auth.models import Permission

    from himaya.accounts.models import User
    from himaya.accounts.permissions import OPERATOR
    from himaya.accounts.services import unit_get_or_create
    from himaya.media.services import hashlist_import
    from himaya.triage.models import RuleSet
    from tests.auth_helpers import login_verified

    national = unit_get_or_create(code="intake")
    assert national.is_national
    other = unit_get_or_create(code="unit-b")
    units = {"own": _unit_world(national, "a"), "other": _unit_world(other, "b")}
    grants = list(Permission.objects.filter(content_type__app_label="media", codename__in=["view_media", "record_authorisation"]))
    users, clients = {}, {}
    for where, uw in units.items():
        for role in ROLES:
            user = User.objects.create(username=f"{role}-{where}", unit=uw.unit, roles=[] if role == SUPERUSER else [role],
                                       is_superuser=role == SUPERUSER, is_staff=role == SUPERUSER)
            user.user_permissions.add(*grants)
            users[(role, where)] = user
            clients[(role, where)] = login_verified(Client(), user)
    for where, uw in units.items():
        _cases_world(uw, where, users)
        _portal_world(uw, where)
        _exchange_world(uw, where)
    hash_list = hashlist_import(data=b"md5:" + b"b" * 32 + b"\n", name="matrix-national-list", kind="known", fmt="lines", actor=OPERATOR)
    return World(units=units, users=users, clients=clients, national={"hash_list": hash_list, "rule_set": RuleSet.objects.order_by("-version").first()})


def _cases_world(uw: UnitWorld, where: str, users: dict[tuple[str, str], Any]) -> None:
    """One case with one of everything, made by the unit's supervisor. The unit's
    investigator and prosecutor are its assignees: they see the victim's identity
    only on the cases they are assigned to (himaya.cases.services.may_view_identity)."""
    from himaya.cases import services
    from himaya.core.storage import incoming_from_bytes
    from tests.linking.factory import Person, report_xml, store

    sup = users[(Role.SUPERVISOR.value, where)]
    report = store(report_xml(suspect=Person(esp_id=f"matrix-case-{where}")), unit=uw.unit)
    case = services.case_open(actor=sup, title=f"Matrix case {where}", report_ids=[report.id])
    services.case_assign(actor=sup, case=case, usernames=[f"{Role.INVESTIGATOR.value}-{where}", f"{Role.PROSECUTOR.value}-{where}"])
    victim = services.victim_create(actor=sup, case=case, first_name=CASE_VICTIM_FIRST, last_name=CASE_VICTIM_LAST,
                                    date_of_birth=CASE_VICTIM_BORN, age_range="9-12", report_ids=[report.id])
    uw.objects.update(
        case=case, victim=victim,
        referral=services.referral_create(actor=sup, victim=victim, kind="health", service=f"Matrix clinic {where} (example)"),
        suspect=services.suspect_create(actor=sup, case=case, label=f"matrix-suspect-{where}"),
        task=services.task_create(actor=sup, case=case, kind="search", title=f"Matrix task {where}"),
        legal_request=services.legal_request_create(actor=sup, case=case, provider=f"MatrixChat {where}", kind="subscriber_data",
                                                    legal_basis="Art. 5 (example)"),
        attachment=services.attachment_add(actor=sup, case=case, pending=incoming_from_bytes(f"matrix attachment {where}".encode()),
                                           name=f"matrix-{where}.txt"),
    )


def _portal_world(uw: UnitWorld, where: str) -> None:
    """A portal report of the unit with a contact, and one message of its reporter."""
    from django.test import override_settings

    from himaya.portal import services
    from himaya.portal.document import Answers

    answers = Answers(what="grooming", who="parent", child_age=12, story=f"Someone keeps writing to my daughter ({where}).",
                      platform="ExampleChat", account=f"matrix_portal_{where}")
    text = f"matrix portal message {where}"
    with override_settings(HIMAYA_PORTAL_UNIT=uw.unit.code, HIMAYA_PORTAL_ARGON2=FAST_ARGON2):
        report, receipt = services.portal_report_submit(answers=answers, contact={"name": "Rana Example", "phone": PORTAL_PHONES[where]},
                                                        uploads=[])
        access = services.access_by_receipt(receipt=receipt)
        assert access is not None and report.unit_id == uw.unit.id
        services.portal_reporter_message(access=access, text=text)
    uw.objects.update(portal_report=report, portal_message=text, portal_phone=PORTAL_PHONES[where])


def _exchange_world(uw: UnitWorld, where: str) -> None:
    """A partner unit of the unit (keys made here: no installation behind it), one
    referral sent to it and one received from it (himaya.exchange)."""
    import uuid

    from django.utils import timezone
    from nacl.public import PrivateKey
    from nacl.signing import SigningKey

    from himaya.accounts.permissions import OPERATOR
    from himaya.exchange.models import Referral
    from himaya.exchange.package import key_document
    from himaya.exchange.services import partner_add, referral_package

    key = key_document(signing=SigningKey.generate(), encryption=PrivateKey.generate(), unit=f"Matrix partner {where}", country="JO")
    partner = partner_add(name=f"matrix-partner-{where}", country="JO", key_file=key, actor=OPERATOR, unit_code=uw.unit.code)
    sent, _ = referral_package(report_ids=[uw.report.id], partner_name=partner.name, actor=OPERATOR, unit_code=uw.unit.code)
    received = Referral.objects.create(unit=uw.unit, partner=partner, direction="received", package_id=uuid.uuid4(), state="received",
                                       sent_at=timezone.now(), received_at=timezone.now(), package_sha256="0" * 64)
    received.reports.set([uw.linked])
    uw.objects.update(partner=partner, partner_referral_sent=sent, partner_referral_received=received)
