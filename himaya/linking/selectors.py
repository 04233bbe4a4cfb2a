"""Reads of the identifier graph for people: the separations ("not the same
person") a user may see and act on. Permission lives in the queryset: both
reports of a pair must be the user's own (himaya.reports.selectors)."""
from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import Http404

from himaya.accounts.permissions import Action, get_for
from himaya.linking.models import LinkSeparation, ReportLinkage
from himaya.reports.models import Report


def link_separations_for_report(report_id: int) -> dict[int, LinkSeparation]:
    """The other report → the separation in force between it and this one."""
    rows = (LinkSeparation.objects.filter(undone_at__isnull=True).filter(Q(low_id=report_id) | Q(high_id=report_id))
            .select_related("created_by"))
    return {(s.high_id if s.low_id == report_id else s.low_id): s for s in rows}


def link_separation_get_for_user(*, user: Any, separation_id: int) -> LinkSeparation:
    """A separation in force between two reports of the user's unit; 404 otherwise,
    as if it did not exist (whatever the role: the role is asked after)."""
    sep = LinkSeparation.objects.filter(id=separation_id, undone_at__isnull=True).first()
    if sep is None:
        raise Http404("no such separation")
    report_pair_get_for_user(user=user, report_id=sep.low_id, other_id=sep.high_id)
    return sep


def report_pair_get_for_user(*, user: Any, report_id: int, other_id: int) -> tuple[int, int]:
    """Both reports, if both are the user's unit's (404 otherwise, whatever the role);
    then 403 if the role may not see them."""
    for rid in (report_id, other_id):
        get_for(Report.objects.only("id", "unit_id"), user, Action.VIEW, id=rid)
    return report_id, other_id


def links_with_separations(report_id: int, links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The report's links (already restricted to what the user may see), each
    with the separation in force, if any, and whether the two reports are still
    in one cluster through other reports."""
    seps = link_separations_for_report(report_id)
    if not seps:
        return [{**link, "separation": None, "same_cluster": False} for link in links]
    shown = [link["id"] for link in links if link["id"] in seps]
    cluster = dict(ReportLinkage.objects.filter(report_id__in=[report_id, *shown]).values_list("report_id", "cluster_id"))
    return [{**link, "separation": seps.get(link["id"]),
             "same_cluster": link["id"] in seps and cluster.get(link["id"]) == cluster.get(report_id) is not None}
            for link in links]
