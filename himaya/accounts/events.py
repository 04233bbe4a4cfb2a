"""Audit events of accounts and authentication: one typed function per event type
(himaya.audit.catalogue.AuditAction), called inside the transaction of the change."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent
from himaya.audit.services import audit_record


def user_locked_event(*, username: str, user: Any, failures: int, until: datetime) -> AuditEvent:
    """An account name reached the failure limit (it may name no account: no enumeration)."""
    return audit_record(actor=None, action=AuditAction.USER_LOCKED, target=user, target_type="accounts.user",
                        target_id="" if user is not None else username, unit_id=getattr(user, "unit_id", None),
                        data={"username": username, "failures": failures, "until": until.isoformat()})


def user_unlocked_event(*, actor: Any, user: Any, cleared: int) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.USER_UNLOCKED, target=user, unit_id=user.unit_id,
                        data={"username": user.username, "cleared": cleared})


def user_second_factor_enrolled_event(*, user: Any) -> AuditEvent:
    return audit_record(actor=user, action=AuditAction.USER_SECOND_FACTOR_ENROLLED, target=user, unit_id=user.unit_id,
                        data={"username": user.username})


def user_second_factor_reset_event(*, actor: Any, user: Any, devices: int) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.USER_SECOND_FACTOR_RESET, target=user, unit_id=user.unit_id,
                        data={"username": user.username, "devices": devices})


def user_recovery_code_used_event(*, user: Any, remaining: int) -> AuditEvent:
    return audit_record(actor=user, action=AuditAction.USER_RECOVERY_CODE_USED, target=user, unit_id=user.unit_id,
                        data={"remaining": remaining})


def user_recovery_codes_renewed_event(*, user: Any) -> AuditEvent:
    return audit_record(actor=user, action=AuditAction.USER_RECOVERY_CODES_RENEWED, target=user, unit_id=user.unit_id)


def reporter_locked_event(*, username: str, reporter: Any, failures: int, until: datetime) -> AuditEvent:
    return audit_record(actor=None, action=AuditAction.REPORTER_LOCKED, target=reporter, target_type="accounts.reporter",
                        target_id="" if reporter is not None else username, unit_id=getattr(reporter, "unit_id", None),
                        data={"username": username, "failures": failures, "until": until.isoformat()})


def address_throttled_event(*, scope: str, address: str, failures: int, until: datetime) -> AuditEvent:
    return audit_record(actor=None, action=AuditAction.ADDRESS_THROTTLED, target_type="address", target_id=address,
                        data={"scope": scope, "failures": failures, "until": until.isoformat()})


def token_created_event(*, actor: Any, token: Any) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.TOKEN_CREATED, target=token.user, unit_id=token.user.unit_id,
                        data={"token": token.pk, "name": token.name, "prefix": token.prefix,
                              "expires": token.expires_at.isoformat() if token.expires_at else None})


def token_revoked_event(*, actor: Any, token: Any) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.TOKEN_REVOKED, target=token.user, unit_id=token.user.unit_id,
                        data={"token": token.pk, "name": token.name, "prefix": token.prefix})


# user management (supervisors, `himaya create_user`)

def user_created_event(*, actor: Any, user: Any) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.USER_CREATED, target=user, unit_id=user.unit_id,
                        data={"username": user.username, "roles": list(user.roles)})


def user_updated_event(*, actor: Any, user: Any) -> AuditEvent:
    """The operator re-ran `himaya create_user` for an existing name: password, roles and unit set again."""
    return audit_record(actor=actor, action=AuditAction.USER_UPDATED, target=user, unit_id=user.unit_id,
                        data={"username": user.username, "roles": list(user.roles)})


def user_roles_changed_event(*, actor: Any, user: Any, old: list[str], new: list[str]) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.USER_ROLES_CHANGED, target=user, unit_id=user.unit_id,
                        data={"username": user.username, "old": list(old), "new": list(new)})


def user_deactivated_event(*, actor: Any, user: Any) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.USER_DEACTIVATED, target=user, unit_id=user.unit_id,
                        data={"username": user.username})


def user_reactivated_event(*, actor: Any, user: Any) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.USER_REACTIVATED, target=user, unit_id=user.unit_id,
                        data={"username": user.username})


# units and provider accounts

def unit_created_event(*, unit: Any) -> AuditEvent:
    return audit_record(actor=None, action=AuditAction.UNIT_CREATED, target=unit, unit_id=unit.id, data={"code": unit.code})


def reporter_created_event(*, actor: Any, reporter: Any) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.REPORTER_CREATED, target=reporter, unit_id=reporter.unit_id,
                        data={"username": reporter.username})


def reporter_password_set_event(*, actor: Any, reporter: Any) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.REPORTER_PASSWORD_SET, target=reporter, unit_id=reporter.unit_id,
                        data={"username": reporter.username})


def reporter_suspended_event(*, actor: Any, reporter: Any) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.REPORTER_SUSPENDED, target=reporter, unit_id=reporter.unit_id)


def reporter_restored_event(*, actor: Any, reporter: Any) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.REPORTER_RESTORED, target=reporter, unit_id=reporter.unit_id)
