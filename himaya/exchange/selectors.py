"""Reads of partners and referrals, restricted by the permission table."""
from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from himaya.accounts.models import Unit
from himaya.accounts.permissions import Action, Kind, Operator, allowed, get_for, restrict
from himaya.exchange.models import Partner, Referral, ReferralOutcome


def partner_list(*, user: Any, unit_code: str | None = None) -> QuerySet[Partner]:
    queryset = restrict(Partner.objects.all(), user, Action.VIEW)
    if isinstance(user, Operator) and unit_code is not None:
        queryset = queryset.filter(unit__in=Unit.objects.filter(code=unit_code))
    return queryset.order_by("country", "name")


def partners_for_country(*, user: Any, country: str) -> QuerySet[Partner]:
    """The active partners a report of this country can be referred to."""
    return restrict(Partner.objects.filter(active=True, country=country), user, Action.EXPORT).order_by("name")


def referral_list(*, user: Any, direction: str = "", unit_code: str | None = None) -> QuerySet[Referral]:
    queryset = restrict(Referral.objects.all(), user, Action.VIEW).select_related("partner", "case").prefetch_related(
        "reports", Prefetch("outcomes", queryset=ReferralOutcome.objects.order_by("reported_at")))
    if isinstance(user, Operator) and unit_code is not None:
        queryset = queryset.filter(unit__in=Unit.objects.filter(code=unit_code))
    if direction:
        queryset = queryset.filter(direction=direction)
    return queryset.order_by("-sent_at", "-id")


def referral_get(*, user: Any, referral_id: int) -> Referral:
    return get_for(Referral.objects.select_related("partner"), user, Action.VIEW, id=referral_id)


def referrals_of_report(*, user: Any, report_id: int) -> QuerySet[Referral]:
    return restrict(Referral.objects.filter(reports__id=report_id), user, Action.VIEW).select_related("partner").order_by("-sent_at")


def partner_get(*, user: Any, partner_id: int) -> Partner:
    return get_for(Partner.objects.all(), user, Action.VIEW, id=partner_id)


def unit_fingerprint(*, user: Any) -> str:
    """The fingerprint of the user's unit's own keys, to read out to partners."""
    from himaya.exchange.services import keys_of

    return keys_of(Unit.objects.get(id=user.unit_id)).public.fingerprint


def report_panel(*, user: Any, report: Any) -> dict[str, Any] | None:
    """What the report page shows about referring it abroad: its referrals, and the
    partners of its country when the jurisdiction decision is another country."""
    if not allowed(user, Action.VIEW, Kind.PARTNER):
        return None
    linkage = getattr(report, "linkage", None) if _has_linkage(report) else None
    foreign = linkage is not None and linkage.decision == "foreign" and bool(linkage.country)
    partners = list(partners_for_country(user=user, country=linkage.country)) if foreign else []
    referrals = list(referrals_of_report(user=user, report_id=report.pk))
    if not foreign and not referrals:
        return None
    return {"country": linkage.country if foreign else "", "partners": partners, "referrals": referrals,
            "may_refer": foreign and allowed(user, Action.EXPORT, Kind.PARTNER)}


def _has_linkage(report: Any) -> bool:
    from django.core.exceptions import ObjectDoesNotExist

    try:
        report.linkage
    except ObjectDoesNotExist:
        return False
    return True


def case_panel(*, user: Any, case: Any) -> dict[str, Any] | None:
    """What the case page shows about referring the case abroad: the partners of the
    countries its reports are placed in by their jurisdiction decisions, and its referrals."""
    if not allowed(user, Action.VIEW, Kind.PARTNER):
        return None
    from himaya.linking.models import ReportLinkage

    countries = sorted(set(ReportLinkage.objects.filter(report__case_link__case=case, decision="foreign")
                           .exclude(country="").values_list("country", flat=True)))
    partners = list(restrict(Partner.objects.filter(active=True, country__in=countries), user, Action.EXPORT).order_by("country", "name"))
    referrals = list(restrict(Referral.objects.filter(reports__case_link__case=case), user, Action.VIEW)
                     .select_related("partner").distinct().order_by("-sent_at"))
    if not partners and not referrals:
        return None
    return {"countries": countries, "partners": partners, "referrals": referrals,
            "may_refer": allowed(user, Action.EXPORT, Kind.PARTNER) and bool(partners)}
