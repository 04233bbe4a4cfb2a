"""Background tasks of linking and triage. They take ids and are idempotent."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django_tasks import task

if TYPE_CHECKING:
    from himaya.linking.services import LinkResult


@task()
def report_process(*, report_id: int) -> dict[str, object]:
    """Index, link and locate one report, then triage it and the reports of any
    cluster it joined (their cluster size and history changed)."""
    from himaya.triage.services import report_link_triage

    done = report_link_triage(report_id=report_id)
    result = done.link
    if result.merged_clusters and _cluster_growth_matters(result, ruleset=done.ruleset):
        # The other members' scores changed (cluster size, history): re-triaged in
        # a task of their own so that this report's own latency stays small.
        cluster_retriage.enqueue(cluster_id=result.cluster_id)
    return {"cluster": result.cluster_id, "links": result.links}


def _cluster_growth_matters(result: LinkResult, *, ruleset: dict[str, Any]) -> bool:
    """Whether the other members' scores can change: another cluster was folded
    in, or the cluster is still small enough for its size to change the
    repeat-reporting weight (it is capped). Beyond that, growth changes nothing
    but the count in the evidence, which the panel shows live anyway."""
    if len(result.merged_clusters) > 1 or result.merged_clusters != [result.report_id]:
        return True
    spec = next((r for r in ruleset.get("rules", []) if r["rule"] == "repeat_reporting"), None)
    if spec is None or spec.get("enabled") is False:
        return False
    params = spec.get("params") or {}
    per, cap = int(spec.get("weight", 3)), int(params.get("cap", 20))
    # The weight counts the reports of the report's own unit in the cluster.
    size = result.unit_cluster_size
    return min(cap, per * (size - 2)) != min(cap, per * (size - 1))


@task()
def cluster_retriage(*, cluster_id: int) -> int:
    from himaya.linking.models import ReportLinkage
    from himaya.triage.services import report_triage

    ids = list(ReportLinkage.objects.filter(cluster_id=cluster_id).values_list("report_id", flat=True))
    for report_id in ids:
        report_triage(report_id=report_id)
    return len(ids)


@task()
def report_retriage(*, report_id: int) -> None:
    from himaya.triage.services import report_triage

    report_triage(report_id=report_id)


@task()
def retriage_open_reports(*, version: int) -> int:
    from himaya.triage.services import retriage_open

    return retriage_open(version=version)


def enqueue_retriage_open(version: int) -> None:
    retriage_open_reports.enqueue(version=version)
