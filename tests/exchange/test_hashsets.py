"""Hash sets with partners (issue 17, item 3): a signed VICS export of what the
unit categorised, and a partner's VICS imported as a hash list with its
provenance, shown on the hash list page."""
from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from himaya.accounts.permissions import OPERATOR
from himaya.exchange.errors import ExchangeError
from himaya.exchange.hashsets import hashset_export, hashset_import
from himaya.media.models import HashList, ListKind
from himaya.media.services import hashlist_import

pytestmark = pytest.mark.django_db

SEIZURE_CSV = (b"md5,category\n" + b"".join(b"%032x,%d\n" % (0xABC000 + i, 1 + i % 2) for i in range(5)))


@pytest.fixture(autouse=True)
def keys(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.HIMAYA_KEY_DIR = tmp_path / "keys"


@pytest.fixture
def partner_setup():  # type: ignore[no-untyped-def]
    """Two units in one database standing for two countries: 'amman' exports its
    seizures, 'intake' (this unit) has registered amman as the partner 'Jordan unit'."""
    from himaya.accounts.services import unit_get_or_create
    from himaya.exchange.services import partner_add, unit_key_export

    unit_get_or_create()
    amman = unit_get_or_create(code="amman")
    partner = partner_add(name="Jordan unit", country="JO", key_file=unit_key_export(unit_code="amman", actor=OPERATOR),
                          unit_code="intake", actor=OPERATOR)
    hashlist_import(data=SEIZURE_CSV, name="Amman seizures", kind=ListKind.SEIZURE, fmt="csv", scheme="projectvic", actor=OPERATOR)
    return amman, partner


def test_export_then_import_keeps_every_hash_and_names_its_provenance(partner_setup) -> None:  # type: ignore[no-untyped-def]
    amman, partner = partner_setup
    exported = hashset_export(unit_code="amman", actor=OPERATOR)
    assert exported.entries == 5 and exported.lists == ["Amman seizures"]
    doc = json.loads(exported.data)
    media = doc["value"][0]["Media"]
    assert sorted(m["MD5"].lower() for m in media) == sorted("%032x" % (0xABC000 + i) for i in range(5))
    assert {m["Category"] for m in media} == {1, 2}
    sig = json.loads(exported.signature)
    assert sig["signer"] == partner.fingerprint

    listed = hashset_import(data=exported.data, signature=exported.signature, partner_name="Jordan unit", unit_code="intake",
                            actor=OPERATOR)
    assert listed.name == "Jordan unit hash set" and listed.kind == ListKind.KNOWN and listed.entry_count == 5
    assert sorted(listed.entries.values_list("category", flat=True)) == ["1", "1", "1", "2", "2"]
    for part in ("Jordan unit", "(JO)", partner.fingerprint, timezone.localdate().isoformat(), "signature verified"):
        assert part in listed.provenance


def test_a_changed_file_or_another_signer_is_refused_and_nothing_is_imported(partner_setup) -> None:  # type: ignore[no-untyped-def]
    from himaya.accounts.services import unit_get_or_create

    exported = hashset_export(unit_code="amman", actor=OPERATOR)
    changed = exported.data.replace(b"ABC000", b"ABC00F")
    with pytest.raises(ExchangeError, match="changed after it was signed"):
        hashset_import(data=changed, signature=exported.signature, partner_name="Jordan unit", unit_code="intake", actor=OPERATOR)
    unit_get_or_create(code="elsewhere")
    hashlist_import(data=SEIZURE_CSV, name="Elsewhere seizures", kind=ListKind.SEIZURE, fmt="csv", actor=OPERATOR)
    other = hashset_export(lists=["Elsewhere seizures"], unit_code="elsewhere", actor=OPERATOR)
    with pytest.raises(ExchangeError, match="does not verify with the partner's registered key"):
        hashset_import(data=other.data, signature=other.signature, partner_name="Jordan unit", unit_code="intake", actor=OPERATOR)
    with pytest.raises(ExchangeError, match="no signature"):
        hashset_import(data=exported.data, signature=None, partner_name="Jordan unit", unit_code="intake", actor=OPERATOR)
    with pytest.raises(ExchangeError, match="not a Himaya hash-set signature"):
        hashset_import(data=exported.data, signature=b"{}", partner_name="Jordan unit", unit_code="intake", actor=OPERATOR)
    assert not HashList.objects.filter(name="Jordan unit hash set").exists()


def test_an_unsigned_file_accepted_says_so_and_a_partners_list_is_not_shared_again(partner_setup) -> None:  # type: ignore[no-untyped-def]
    exported = hashset_export(unit_code="amman", actor=OPERATOR)
    listed = hashset_import(data=exported.data, signature=None, allow_unsigned=True, partner_name="Jordan unit", name="From Amman",
                            unit_code="intake", actor=OPERATOR)
    assert "unsigned" in listed.provenance and "signature verified" not in listed.provenance
    with pytest.raises(ExchangeError, match="came from a partner unit"):
        hashset_export(lists=["From Amman"], unit_code="intake", actor=OPERATOR)
    with pytest.raises(ExchangeError, match="no hash list named 'nothing'"):
        hashset_export(lists=["nothing"], unit_code="intake", actor=OPERATOR)


def test_broken_vics_is_a_clear_error(partner_setup) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ExchangeError, match="cannot be imported"):
        hashset_import(data=b"{not json", signature=None, allow_unsigned=True, partner_name="Jordan unit", unit_code="intake",
                       actor=OPERATOR)


def test_commands_and_the_hash_list_page(partner_setup, tmp_path, client) -> None:  # type: ignore[no-untyped-def]
    from himaya.accounts.services import user_create
    from tests.auth_helpers import login_verified

    out = tmp_path / "amman.vics.json"
    stdout = StringIO()
    call_command("exchange", "hashset", "export", "--out", str(out), "--unit", "amman", stdout=stdout)
    assert "5 hash(es) from Amman seizures" in stdout.getvalue() and (tmp_path / "amman.vics.json.sig").is_file()
    stdout = StringIO()
    call_command("exchange", "hashset", "import", str(out), "--partner", "Jordan unit", "--unit", "intake", stdout=stdout)
    assert "hash list Jordan unit hash set: 5 hash(es); Partner unit Jordan unit (JO)" in stdout.getvalue()
    (tmp_path / "amman.vics.json.sig").unlink()
    with pytest.raises(CommandError, match="no signature"):
        call_command("exchange", "hashset", "import", str(out), "--partner", "Jordan unit", "--unit", "intake")

    _, partner = partner_setup
    user = user_create(username="sup-hashsets", password="a long enough passphrase 17", roles=["supervisor"], unit_code="intake")
    page = login_verified(client, user).get("/media/lists/", HTTP_ACCEPT_LANGUAGE="ar")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Jordan unit hash set" in text and partner.fingerprint in text and "(JO)" in text
