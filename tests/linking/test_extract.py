"""extract(): a report's identifiers → its index entries. Pure: no database."""
from __future__ import annotations

from himaya.linking.extract import RawIdentifier, extract


def test_a_party_is_named_by_its_first_account_identifier_never_a_generic_name() -> None:
    rows = [
        RawIdentifier("screen_name", "admin", role="reported", party=1, platform="ExampleChat"),  # generic: names nobody
        RawIdentifier("screen_name", "falcon_77", role="reported", party=1, platform="ExampleChat"),
        RawIdentifier("email", "Someone@Example.com", role="reported", party=1),  # after screen names in ACCOUNT_KINDS
        RawIdentifier("screen_name", "guest", role="reported", party=2, platform="ExampleChat"),
        RawIdentifier("ip", "203.0.113.5", role="reported", party=2, possible_proxy=True),
        RawIdentifier("ip", "203.0.113.5", role="reported", party=2, possible_proxy=False),  # the same key and role: the strong one kept
        RawIdentifier("email", "staff@example.com", role="reporter", party=3),  # not a linked role
    ]
    entries = {(e.key, e.role): e for e in extract(rows)}
    falcon = "screen_name:examplechat:falcon_77"
    assert {k for k, _ in entries} == {"screen_name:examplechat:admin", falcon, "email:someone@example.com", "screen_name:examplechat:guest", "ip:203.0.113.5"}
    assert {e.account for e in entries.values() if e.key != "ip:203.0.113.5" and "guest" not in e.key} == {falcon}
    assert entries[("screen_name:examplechat:admin", "reported")].weak == "generic_name"
    assert entries[("screen_name:examplechat:guest", "reported")].account == ""  # a generic name alone names no account
    ip = entries[("ip:203.0.113.5", "reported")]
    assert (ip.weak, ip.account) == ("", "")
