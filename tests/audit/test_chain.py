"""`himaya audit verify` exits 1 when audit rows were altered, deleted, inserted or
reordered directly in the database, and 0 for an untouched log; events are typed."""
from __future__ import annotations

import hashlib

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent, AuditSeal, AuditVerification
from himaya.audit.services import _content_digest, _link_digest, audit_record, audit_seal

pytestmark = pytest.mark.django_db
TABLE = AuditEvent._meta.db_table


def verify() -> int:
    try:
        call_command("audit", "verify")
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


@pytest.fixture
def log() -> list[AuditEvent]:
    """Six sealed events."""
    for n in range(6):
        audit_record(actor=f"user:person-{n}", action=AuditAction.REPORT_VIEWED, target_type="reports.report", target_id=100 + n,
                     unit_id=1, data={"identities": n % 2 == 0})
    audit_seal()
    return list(AuditEvent.objects.order_by("seq"))


def sql(statement: str, *params: object) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_an_untouched_log_verifies(log, capsys):
    assert verify() == 0
    assert "audit chain intact" in capsys.readouterr().out
    assert verify() == 0  # the verification's own event does not break anything
    assert AuditVerification.objects.latest("id").intact


def test_an_altered_event_breaks_the_chain(log, capsys):
    AuditEvent.objects.filter(pk=log[2].pk).update(data={"identities": False, "note": "nothing to see"})
    assert verify() == 1
    assert f"event {log[2].pk}: content does not match" in capsys.readouterr().err
    assert not AuditVerification.objects.latest("id").intact


def test_an_event_altered_by_raw_sql_breaks_the_chain(log):
    sql(f"UPDATE {TABLE} SET actor = %s WHERE id = %s", "user:someone-else", log[0].pk)
    assert verify() == 1


def test_an_altered_timestamp_breaks_the_chain(log):
    AuditEvent.objects.filter(pk=log[4].pk).update(at=log[4].at - timezone.timedelta(days=1))
    assert verify() == 1


def test_a_rehashed_alteration_still_breaks_the_links(log):
    """Whoever recomputes the content hash of an altered event still breaks its link."""
    e = log[3]
    forged = _content_digest(at=e.at, actor="user:nobody", action=e.action, target_type=e.target_type, target_id=e.target_id, unit_id=e.unit_id, data=e.data)
    AuditEvent.objects.filter(pk=e.pk).update(actor="user:nobody", content_hash=forged)
    assert verify() == 1


def test_a_deleted_event_breaks_the_chain(log, capsys):
    sql(f"DELETE FROM {TABLE} WHERE id = %s", log[2].pk)
    assert verify() == 1
    assert "skips here" in capsys.readouterr().err


def test_deleting_the_last_events_breaks_the_chain(log, capsys):
    AuditEvent.objects.filter(pk__in=[log[-1].pk, log[-2].pk]).delete()
    assert verify() == 1
    assert "head says 6" in capsys.readouterr().err


def _forge(*, seq: int, prev_hash: str, actor: str = "user:intruder") -> None:
    at = timezone.now()
    content = _content_digest(at=at, actor=actor, action=AuditAction.REPORT_VIEWED.value, target_type="reports.report", target_id="999", unit_id=1, data={})
    AuditEvent.objects.bulk_create([AuditEvent(at=at, actor=actor, action=AuditAction.REPORT_VIEWED.value, target_type="reports.report", target_id="999",
                                               unit_id=1, data={}, content_hash=content, seq=seq, prev_hash=prev_hash,
                                               hash=_link_digest(prev_hash, seq, content))])


def test_an_event_inserted_at_the_end_with_valid_hashes_breaks_the_chain(log):
    _forge(seq=7, prev_hash=log[-1].hash)
    assert verify() == 1


def test_an_event_inserted_in_the_middle_breaks_the_chain(log):
    # Make room after the third event, then link a forged event to it.
    for e in reversed(log[3:]):
        AuditEvent.objects.filter(pk=e.pk).update(seq=e.seq + 1)
    _forge(seq=4, prev_hash=log[2].hash)
    AuditSeal.objects.filter(id=1).update(last_seq=7)
    assert verify() == 1


def test_reordered_events_break_the_chain(log):
    a, b = log[1], log[4]
    AuditEvent.objects.filter(pk=a.pk).update(seq=-1)
    AuditEvent.objects.filter(pk=b.pk).update(seq=a.seq)
    AuditEvent.objects.filter(pk=a.pk).update(seq=b.seq)
    assert verify() == 1


def test_reordered_chain_positions_and_links_still_break_the_chain(log):
    """Swapping two events whole (position, links and all) breaks the links around them."""
    a, b = log[1], log[2]
    sql(f"UPDATE {TABLE} SET seq = NULL, hash = NULL WHERE id IN (%s, %s)", a.pk, b.pk)
    sql(f"UPDATE {TABLE} SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s", a.seq, a.prev_hash, a.hash, b.pk)
    sql(f"UPDATE {TABLE} SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s", b.seq, b.prev_hash, b.hash, a.pk)
    assert verify() == 1


def test_an_event_altered_before_it_was_sealed_is_caught_by_its_content_hash(log):
    late = audit_record(actor="user:late", action=AuditAction.REPORT_VIEWED, target_type="reports.report", target_id=7, unit_id=1)
    AuditEvent.objects.filter(pk=late.pk).update(target_id="8")
    assert verify() == 1


def test_audit_record_refuses_a_free_string():
    with pytest.raises(TypeError, match="AuditAction"):
        audit_record(actor=None, action="report.viewed")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        audit_record(actor=None, action="anything.new")  # type: ignore[arg-type]
    assert not AuditEvent.objects.exists()
    event = audit_record(actor=None, action=AuditAction.REPORT_VIEWED, target_type="reports.report", target_id=1)
    assert event.action == "report.viewed" and type(event.action) is str


def test_content_hashes_of_events_recorded_before_the_catalogue_still_match():
    """The stored value is the member's value: an event written as a plain string
    before the catalogue existed verifies the same."""
    at = timezone.now()
    digest = _content_digest(at=at, actor="system", action="report.expired", target_type="", target_id="", unit_id=None, data={})
    assert digest == hashlib.sha256(
        f'["{at.isoformat()}","system","report.expired","","",null,{{}}]'.encode()).hexdigest()


def test_every_event_type_reads_as_a_sentence_in_arabic():
    """Each type renders from its fields through gettext; none shows its stored value."""
    from django.utils import translation

    from himaya.audit.presentation import describe

    with translation.override("ar"):
        for action in AuditAction:
            event = AuditEvent(at=timezone.now(), actor="system", action=action.value, target_type="reports.report", target_id="5", data={})
            text = describe(event)
            assert text and action.value not in text and not text.isascii(), (action, text)
