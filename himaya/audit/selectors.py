"""Reads of the audit log, restricted to what the user may see (SPEC §3.10)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from himaya.accounts.permissions import Action, Kind, allowed, restrict
from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent, AuditSeal, AuditVerification


def audit_events_latest(*, action: AuditAction, limit: int = 20) -> list[AuditEvent]:
    """The newest events of one type, for an app that shows its own history from the
    log (retired hash lists). The caller has checked its own permission."""
    if not isinstance(action, AuditAction):
        raise TypeError(f"a member of AuditAction, not {action!r}")
    return list(AuditEvent.objects.filter(action=action.value).order_by("-id")[:limit])


def audit_events_for_user(user: Any, action: Action = Action.VIEW) -> QuerySet[AuditEvent]:
    """The events the user may read: their unit's; the national unit's auditors and
    supervisors also read the events of no unit (the system's: hashing, hash lists,
    rebuilds, throttled addresses). Another unit's events are never shown or counted."""
    qs = restrict(AuditEvent.objects.all(), user, action)
    if allowed(user, action, Kind.AUDIT_EVENT) and getattr(user.unit, "is_national", False):
        qs = AuditEvent.objects.filter(Q(unit_id=user.unit_id) | Q(unit_id__isnull=True))
    return qs


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""                       # a user name (or an actor label such as "reporter:examplechat")
    action: AuditAction | None = None
    target_type: str = ""
    target_id: str = ""
    since: date | None = None             # from this day (inclusive)
    until: date | None = None             # to this day (inclusive)

    def as_dict(self) -> dict[str, str]:
        values = {"actor": self.actor, "action": self.action.value if self.action else "", "target_type": self.target_type,
                  "target_id": self.target_id, "since": self.since.isoformat() if self.since else "",
                  "until": self.until.isoformat() if self.until else ""}
        return {k: v for k, v in values.items() if v}


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_event_list(*, user: Any, filters: AuditFilters, action: Action = Action.VIEW) -> QuerySet[AuditEvent]:
    """The user's events matching the filters, newest first."""
    qs = audit_events_for_user(user, action)
    if filters.actor:
        actor = filters.actor.strip()
        qs = qs.filter(actor=actor) if ":" in actor or actor == "system" else qs.filter(actor__in=[f"user:{actor}", f"reporter:{actor}"])
    if filters.action is not None:
        qs = qs.filter(action=filters.action.value)
    if filters.target_type:
        qs = qs.filter(target_type=filters.target_type)
    if filters.target_id:
        qs = qs.filter(target_id=filters.target_id.strip())
    if filters.since:
        qs = qs.filter(at__gte=_day_start(filters.since))
    if filters.until:
        qs = qs.filter(at__lt=_day_start(filters.until + timedelta(days=1)))
    return qs.order_by("-id")


def audit_event_page(*, user: Any, filters: AuditFilters, before: int | None = None, size: int = 50) -> tuple[list[AuditEvent], int | None]:
    """One page by keyset (the log is large: no OFFSET, no COUNT): the events older than
    `before`, and the id to continue from (None on the last page)."""
    qs = audit_event_list(user=user, filters=filters)
    if before is not None:
        qs = qs.filter(id__lt=before)
    rows = list(qs[: size + 1])
    return rows[:size], (rows[size - 1].id if len(rows) > size else None)


@dataclass(frozen=True)
class ChainState:
    sealed_at: datetime | None
    sealed_through: int | None            # the chain's length: shown to the national unit only (it counts every unit)
    unsealed: int                         # the user's events not yet sealed
    last_verification: AuditVerification | None


def audit_chain_state_for_user(*, user: Any) -> ChainState:
    national = bool(getattr(user.unit, "is_national", False))
    head = AuditSeal.objects.filter(id=1).first()
    visible = audit_events_for_user(user)
    return ChainState(
        sealed_at=head.sealed_at if head else None,
        sealed_through=(head.last_seq if head else 0) if national else None,
        unsealed=visible.filter(seq__isnull=True).count(),
        last_verification=AuditVerification.objects.order_by("-id").first(),
    )
