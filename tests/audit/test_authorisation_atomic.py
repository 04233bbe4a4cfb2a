"""A legal authorisation and its audit event commit together or not at all."""
from __future__ import annotations

from datetime import date

import pytest
from django.db import DatabaseError

from himaya.audit.models import AuditEvent
from himaya.media.models import LegalAuthorisation
from tests.audit.conftest import member

pytestmark = pytest.mark.django_db


def test_an_authorisation_whose_audit_event_fails_is_not_kept(files_of, monkeypatch):
    """Before the fix the authorisation was committed on its own when its audit event
    failed: a warrant on record with no trace of who recorded it."""
    from himaya.media import events
    from himaya.media.services import authorisation_record

    _, file_id = files_of("intake")
    prosecutor = member("rana", "prosecutor", "intake", perms=("view_media", "record_authorisation"))

    def failing(**kwargs):  # the audit write fails (a full disk, a lost connection)
        raise DatabaseError("the audit log could not be written")

    monkeypatch.setattr(events, "media_authorisation_recorded_event", failing)
    with pytest.raises(DatabaseError):
        authorisation_record(user=prosecutor, file_id=file_id, warrant_number="W-1", granted_on=date(2026, 11, 1), granted_by="Judge Example")
    assert not LegalAuthorisation.objects.exists()

    monkeypatch.undo()
    authorisation_record(user=prosecutor, file_id=file_id, warrant_number="W-1", granted_on=date(2026, 11, 1), granted_by="Judge Example")
    assert LegalAuthorisation.objects.count() == 1
    assert AuditEvent.objects.filter(action="media.authorisation_recorded", actor="user:rana").count() == 1
