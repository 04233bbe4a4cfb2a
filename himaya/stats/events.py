"""The statistics' audit events, one small typed function each, written inside
the transaction of what they record (himaya.audit.catalogue)."""
from __future__ import annotations

from typing import Any

from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent
from himaya.audit.services import audit_record


def _unit(actor: Any) -> int | None:
    return getattr(actor, "unit_id", None)


def stats_exported_event(*, actor: Any, period: str, fmt: str, external: bool, tables: int, filters: dict[str, str]) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.STATS_EXPORTED, target_type="stats.period", target_id=period,
                        unit_id=_unit(actor), data={"period": period, "format": fmt, "external": external, "tables": tables,
                                                    "filters": filters})


def stats_report_generated_event(*, actor: Any, period: str, lang: str, external: bool, pages: int, size: int) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.STATS_REPORT_GENERATED, target_type="stats.period", target_id=period,
                        unit_id=_unit(actor), data={"period": period, "lang": lang, "external": external, "pages": pages, "size": size})


def stats_downloaded_event(*, actor: Any, period: str, fmt: str, external: bool, lang: str, size: int,
                           job_id: int | None = None) -> AuditEvent:
    """A statistics file handed to a user's browser (the national report's PDF, the
    dashboard's workbook): who took which period away, in which form."""
    data: dict[str, Any] = {"period": period, "format": fmt, "external": external, "lang": lang, "size": size}
    if job_id is not None:
        data["job"] = job_id
    return audit_record(actor=actor, action=AuditAction.STATS_DOWNLOADED, target_type="stats.period", target_id=period,
                        unit_id=_unit(actor), data=data)


def stats_rebuilt_event(*, actor: Any, months: int) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.STATS_REBUILT, target_type="stats", target_id="all",
                        unit_id=_unit(actor), data={"months": months})
