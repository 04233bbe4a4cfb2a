"""What a match session leaves behind (himaya.exchange.matching): the matches as
links with their evidence on the report page, the session and its audit event;
checked against the unit's own identifiers; seen only by the unit."""
from __future__ import annotations

import socket
import threading
import time

import pytest
from nacl.signing import SigningKey

from himaya.accounts.permissions import OPERATOR
from himaya.exchange import psi

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def keys(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.HIMAYA_KEY_DIR = tmp_path / "keys"
    settings.HIMAYA_COUNTRY = "PS"


@pytest.fixture
def setup():  # type: ignore[no-untyped-def]
    """This unit (intake) with two reports, and a partner whose key the test holds."""
    from himaya.accounts.services import unit_get_or_create
    from himaya.exchange.models import Partner
    from himaya.exchange.package import fingerprint
    from tests.linking.factory import Person, report_xml, store

    unit = unit_get_or_create()
    shared = store(report_xml(suspect=Person(esp_id="m-1", emails=["known.abroad@example.com"], phones=[("599000777", "+970")])), unit=unit)
    alone = store(report_xml(suspect=Person(esp_id="m-2", emails=["only.here@example.com"])), unit=unit)
    partner_key = SigningKey.generate()
    signing, encryption = partner_key.verify_key.encode().hex(), "11" * 32
    partner = Partner.objects.create(unit=unit, name="Amman unit", country="JO", signing_key=signing, encryption_key=encryption,
                                     fingerprint=fingerprint(signing, encryption))
    return unit, shared, alone, partner, partner_key


def _partner_side(server: socket.socket, key: SigningKey, items: list[bytes], expect: bytes, out: dict) -> None:  # type: ignore[type-arg]
    try:
        out["partner"] = psi.serve(server, deadline=time.monotonic() + 30, timeout=10, signing_key=key, peer_key=expect, items=items)
    except psi.PSIError as exc:
        out["partner"] = exc


def test_a_match_becomes_a_reason_on_the_report_page_with_its_evidence(setup, client) -> None:  # type: ignore[no-untyped-def]
    from himaya.accounts.services import unit_get_or_create, user_create
    from himaya.audit.models import AuditEvent
    from himaya.exchange.matching import match_with_partner
    from himaya.exchange.models import MatchSession, PartnerMatch
    from himaya.exchange.services import keys_of
    from tests.auth_helpers import login_verified

    unit, shared, alone, partner, partner_key = setup
    server = psi.listen("127.0.0.1", 0)
    out: dict = {}  # type: ignore[type-arg]
    theirs = [b"email:known.abroad@example.com", b"phone:+970599000777", b"email:someone.else@example.com"]
    t = threading.Thread(target=_partner_side, args=(server, partner_key, theirs, keys_of(unit).signing.verify_key.encode(), out))
    t.start()
    session = match_with_partner(partner_name="Amman unit", host="127.0.0.1", port=server.getsockname()[1], timeout=10, actor=OPERATOR)
    t.join(timeout=30)
    assert sorted(out["partner"].matched) == [b"email:known.abroad@example.com", b"phone:+970599000777"]
    assert (session.offered, session.partner_offered, session.matched, session.partner_matched) == (5, 3, 2, 2)
    assert sorted(PartnerMatch.objects.values_list("kind", "display")) == [("email", "known.abroad@example.com"), ("phone", "+970599000777")]
    event = AuditEvent.objects.get(action="exchange.match_completed")
    assert event.data["partner"] == "Amman unit" and event.data["matched"] == 2
    assert {"kind": "email", "value": "known.abroad@example.com"} in event.data["identifiers"]
    assert MatchSession.objects.get().side == "caller"

    analyst = user_create(username="ia-match", password="a long enough passphrase 17", roles=["intake_analyst"], unit_code=unit.code)
    login_verified(client, analyst)
    page = client.get(f"/reports/{shared.pk}/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()  # the page in Arabic
    assert "معروف أيضًا لدى الشريك <bdi>Amman unit</bdi> (<bdi>JO</bdi>)" in page
    assert "known.abroad@example.com" in page and "+970599000777" in page
    assert "partner-matches" not in client.get(f"/reports/{alone.pk}/").content.decode()

    other = unit_get_or_create(code="other-unit")
    stranger = user_create(username="ia-other", password="a long enough passphrase 17", roles=["supervisor"], unit_code=other.code)
    from himaya.exchange.matching_selectors import partner_matches_of_report

    assert partner_matches_of_report(user=stranger, report=shared) == []
    assert len(partner_matches_of_report(user=analyst, report=shared)) == 2

    answer = client.get(f"/api/v1/reports/{shared.pk}/partner-matches/")
    assert answer.status_code == 200
    assert sorted((m["partner"], m["country"], m["kind"], m["value"]) for m in answer.json()) == [
        ("Amman unit", "JO", "email", "known.abroad@example.com"), ("Amman unit", "JO", "phone", "+970599000777")]
    assert client.get(f"/api/v1/reports/{alone.pk}/partner-matches/").json() == []
    login_verified(client, stranger)
    assert client.get(f"/api/v1/reports/{shared.pk}/partner-matches/").status_code == 404  # another unit's report


def test_a_match_no_longer_held_is_not_recorded(setup) -> None:  # type: ignore[no-untyped-def]
    """The protocol returns own items only, and each is checked against what the unit
    still holds when the session ends (a report deleted meanwhile)."""
    from himaya.exchange.matching import Identifier, _record
    from himaya.exchange.models import PartnerMatch

    unit, shared, alone, partner, _ = setup
    offered = {b"email:known.abroad@example.com": Identifier("email", "email:known.abroad@example.com", "known.abroad@example.com"),
               b"email:gone@example.com": Identifier("email", "email:gone@example.com", "gone@example.com")}
    outcome = psi.Outcome(matched=list(offered), own_size=2, peer_size=9, peer_found=2, started=time.time(), finished=time.time())
    session = _record(actor=OPERATOR, unit=unit, partner=partner, side="caller", outcome=outcome, offered=offered)
    assert session.matched == 1 and list(PartnerMatch.objects.values_list("display", flat=True)) == ["known.abroad@example.com"]


def test_a_refused_session_is_audited_and_a_clear_error(setup) -> None:  # type: ignore[no-untyped-def]
    from himaya.audit.models import AuditEvent
    from himaya.exchange.errors import ExchangeError
    from himaya.exchange.matching import match_with_partner
    from himaya.exchange.services import keys_of

    unit = setup[0]
    server = psi.listen("127.0.0.1", 0)
    out: dict = {}  # type: ignore[type-arg]
    impostor = SigningKey.generate()  # answers in the partner's place with another key
    t = threading.Thread(target=_partner_side, args=(server, impostor, [b"x"], keys_of(unit).signing.verify_key.encode(), out))
    t.start()
    with pytest.raises(ExchangeError, match="matching with Amman unit failed: .*another key than the partner's"):
        match_with_partner(partner_name="Amman unit", host="127.0.0.1", port=server.getsockname()[1], timeout=5, actor=OPERATOR)
    t.join(timeout=30)
    event = AuditEvent.objects.get(action="exchange.match_failed")
    assert event.data["partner"] == "Amman unit" and "another key" in event.data["reason"]
