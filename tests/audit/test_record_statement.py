"""`audit_record` writes its event with a statement made once per process
(himaya.audit.services._insert_event) instead of the ORM's create: what is stored, what
the caller gets back, who hears of it and the chain's verification stay as they were."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_save
from django.utils import timezone

from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent
from himaya.audit.services import _content_digest, _insert_event, audit_record, audit_verify

pytestmark = pytest.mark.django_db(transaction=True)

AWKWARD = {
    "text": "تقرير \"مقتبس\" \\ %s \x01 😀",
    "when": dt.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=dt.timezone(dt.timedelta(hours=2, minutes=30))),
    "amount": Decimal("12.50"),
    7: ["a", None, True, 1.5, {"nested": [1, 2]}],
    "tuple": (1, "b"),
}


def _columns(event: AuditEvent) -> dict:
    """The stored row as the database holds it, every column as text."""
    columns = [f.column for f in AuditEvent._meta.local_concrete_fields if not f.primary_key]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(f'CAST({c} AS TEXT)' for c in columns)} FROM {AuditEvent._meta.db_table} WHERE id = %s",
                       [event.pk])
        return dict(zip(columns, cursor.fetchone()))


def test_an_event_is_stored_as_the_orm_stored_it_and_the_chain_verifies() -> None:
    heard: list[tuple[int, bool]] = []

    def listener(sender, instance, created, **kwargs):  # type: ignore[no-untyped-def]
        heard.append((instance.pk, created))

    post_save.connect(listener, sender=AuditEvent, dispatch_uid="test_record_statement")
    try:
        written = audit_record(actor="user:amal", action=AuditAction.REPORT_VIEWED, target_type="reports.report",
                               target_id=42, unit_id=3, data=AWKWARD)
    finally:
        post_save.disconnect(dispatch_uid="test_record_statement")
    assert written.pk and not written._state.adding
    assert heard == [(written.pk, True)]

    # The same event through the ORM, as audit_record wrote it before.
    fields = dict(at=written.at, actor=written.actor, action=written.action, target_type=written.target_type,
                  target_id=written.target_id, unit_id=written.unit_id, data=written.data)
    by_orm = AuditEvent.objects.create(content_hash=_content_digest(**fields), **fields)
    assert _columns(written) == _columns(by_orm)
    stored = AuditEvent.objects.get(pk=written.pk)
    assert stored.data == {"text": AWKWARD["text"], "when": "2026-03-04 05:06:07.891011+02:30", "amount": "12.50",
                           "7": ["a", None, True, 1.5, {"nested": [1, 2]}], "tuple": [1, "b"]}
    assert stored.target_id == "42" and stored.at == written.at and stored.seq is None and stored.hash is None

    audit_record(actor=None, action=AuditAction.REPORT_VIEWED, target_type="reports.report", target_id=43)
    count, breaks = audit_verify()
    assert count == 3 and breaks == []
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3]


def test_an_event_is_rolled_back_with_its_change() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor="user:amal", action=AuditAction.REPORT_VIEWED, target_type="reports.report", target_id=1)
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.exists()


def test_a_failed_write_marks_the_transaction_for_rollback_as_the_orm_save_does() -> None:
    def clashing() -> AuditEvent:  # the same unique link hash twice
        return AuditEvent(at=timezone.now(), actor="user:amal", action=AuditAction.REPORT_VIEWED.value, target_id="3",
                          data={}, content_hash="0" * 64, hash="h" * 64)

    with transaction.atomic():
        audit_record(actor="user:amal", action=AuditAction.REPORT_VIEWED, target_type="reports.report", target_id=2)
        _insert_event(clashing())
        with pytest.raises(IntegrityError):
            _insert_event(clashing())
        assert transaction.get_rollback()
    assert not AuditEvent.objects.exists()
