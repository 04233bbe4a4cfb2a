"""Identifier normalisation: pure, no database."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from himaya.linking.normalize import (
    handle_is_generic, normalize, normalize_device, normalize_email, normalize_ip, normalize_phone, normalize_url, parsed_phone_country,
    phone_country,
)


@pytest.mark.parametrize("raw,expected", [
    ("John.Smith+kids@GMAIL.com", "johnsmith@gmail.com"),
    ("j.o.h.n.smith@googlemail.com", "johnsmith@gmail.com"),
    ("first.last+x@example.com", "first.last+x@example.com"),  # unknown provider: dots and tags are significant
    ("Someone+tag@Outlook.com", "someone@outlook.com"),
    ("mailto:A@Example.COM", "a@example.com"),
    ("not-an-email", None),
    ("a@b@example.com", None),
])
def test_email(raw: str, expected: str | None) -> None:
    assert normalize_email(raw) == expected


def test_phone_with_calling_code_and_region() -> None:
    assert normalize_phone("599000111", calling_code="+970") == "+970599000111"
    assert normalize_phone("0599 000 111", calling_code="970") == "+970599000111"
    assert normalize_phone("0599-000-111", region="PS") == "+970599000111"
    assert normalize_phone("+970 (599) 000-111") == "+970599000111"
    assert normalize_phone("00970599000111") == "+970599000111"
    assert normalize_phone("no digits") is None
    assert phone_country("+970599000111") == "PS"
    assert phone_country("+201000000001") == "EG"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="0123456789", min_size=0, max_size=19))
def test_phone_country_is_what_parsing_says(digits: str) -> None:
    # The shortcut for calling codes of one country must agree with a full parse
    # everywhere, the shared codes (+1, +7, +44) and the malformed included.
    assert phone_country.__wrapped__("+" + digits) == parsed_phone_country("+" + digits)


def test_phone_country_of_shared_and_single_codes() -> None:
    assert phone_country("+966501234567") == "SA"
    assert phone_country("+12025550143") == "US"  # +1 is shared: the number decides
    assert phone_country("+14165550143") == "CA"
    assert phone_country("+0966501234567") is None
    assert phone_country("966501234567") is None


def test_ip_canonical_and_mapped_folded() -> None:
    assert normalize_ip("::ffff:192.0.2.10") == "192.0.2.10"
    assert normalize_ip("2001:DB8:0:0::1") == "2001:db8::1"
    assert normalize_ip(" 198.51.100.7 ") == "198.51.100.7"
    assert normalize_ip("203.0.113.5:443") == "203.0.113.5"
    assert normalize_ip("999.1.1.1") is None
    # Private, loopback and carrier-grade NAT space name nobody outside their network.
    assert normalize("ip", "10.0.0.1") is None
    assert normalize("ip", "100.64.1.1") is None
    assert normalize("ip", "127.0.0.1") is None
    assert normalize("ip", "192.0.2.1").key == "ip:192.0.2.1"


def test_url_canonical() -> None:
    a = normalize_url("HTTPS://WWW.Example.com:443/u/bad_user_77/?utm_source=x&b=2&a=1#frag")
    b = normalize_url("http://example.com/u/bad_user_77?a=1&b=2")
    assert a == b == "http://example.com/u/bad_user_77?a=1&b=2"
    assert normalize_url("example.com") == "http://example.com/"


def test_device_ids() -> None:
    # With and without the Luhn check digit: the same handset.
    assert normalize_device("49-015420-323751-8", "IMEI") == normalize_device("49015420323751", "imei") == ("IMEI", "49015420323751")
    assert normalize_device("89970000000000000001F", "ICCID") == ("ICCID", "89970000000000000001")
    assert normalize_device("000000000000000", "IMEI") is None
    assert normalize_device("aa:bb:cc:dd:ee:ff", "MAC address") == ("MAC", "AABBCCDDEEFF")


def test_platform_scoped_names() -> None:
    a = normalize("screen_name", "@Bad_User_77", platform="ExampleChat")
    b = normalize("screen_name", "bad_user_77", platform="examplechat ")
    c = normalize("screen_name", "bad_user_77", platform="OtherSite")
    assert a.key == b.key != c.key
    assert normalize("display_name", "Bad User") is None


def test_generic_handles() -> None:
    assert handle_is_generic("admin") and handle_is_generic("user123") and handle_is_generic("ab") and handle_is_generic("مجهول")
    assert not handle_is_generic("falcon_ramallah_88")


def _ipv6_with_zero_runs() -> st.SearchStrategy[int]:
    # Eight groups, each zero half the time: runs of zeros of every length and
    # place, ties between runs, the all-zero and the IPv4-tailed addresses.
    group = st.one_of(st.just(0), st.integers(0, 0xFFFF))
    return st.lists(group, min_size=8, max_size=8).map(lambda gs: sum(g << (16 * (7 - i)) for i, g in enumerate(gs)))


@settings(max_examples=3000, deadline=None)
@given(st.one_of(_ipv6_with_zero_runs(), st.integers(0, 2**128 - 1), st.integers(0, 2**32 - 1)))
def test_canonical_ip_writes_what_ipaddress_writes(number: int) -> None:
    # inet_ntop writes IPv6 for speed: it must agree with ipaddress everywhere,
    # or a rebuild would key an address differently from what is stored.
    import ipaddress

    from himaya.linking.normalize import canonical_ip

    for address in {ipaddress.IPv6Address(number), *([ipaddress.IPv4Address(number)] if number < 2**32 else [])}:
        assert canonical_ip(address) == address.compressed


def test_locating_an_address_without_a_ranges_file_asks_the_registries() -> None:
    from himaya.linking.geo import locate_ip

    place = locate_ip("8.8.8.8")
    assert place is not None and (place.country, place.source) == ("US", "rir")
    assert locate_ip("192.0.2.1") is None  # documentation range: registered to nobody
    assert locate_ip("not an address") is None


def _ip_like_text() -> st.SearchStrategy[str]:
    # Texts near addresses: written-out addresses, then cut, doubled or sprinkled
    # with the characters addresses are made of (leading zeros, too many groups,
    # a stray dot or colon, embedded IPv4 tails, non-ASCII digits).
    import ipaddress

    written = st.one_of(
        st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n))),
        st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n))),
        st.integers(0, 2**128 - 1).map(lambda n: ipaddress.IPv6Address(n).exploded),
        st.integers(0, 2**32 - 1).map(lambda n: f"::ffff:{ipaddress.IPv4Address(n)}"),
    )
    noise = st.text(alphabet="0123456789abcdefABCDEFg:.٣ x", max_size=45)
    edit = st.tuples(st.integers(0, 45), st.integers(0, 45), st.text(alphabet="0:.f1", max_size=3))
    mutated = st.tuples(written, edit).map(lambda t: t[0][:t[1][0]] + t[1][2] + t[0][t[1][1]:])
    return st.one_of(written, mutated, noise)


@settings(max_examples=5000, deadline=None)
@given(_ip_like_text())
def test_parse_ip_answers_what_ipaddress_answers(text: str) -> None:
    # inet_pton parses first for speed; it must accept nothing ipaddress refuses,
    # and read what it accepts as the same address.
    import ipaddress

    from himaya.linking.normalize import parse_ip

    try:
        expected: object = ipaddress.ip_address(text)
    except ValueError:
        expected = ValueError
    try:
        got: object = parse_ip(text)
    except ValueError:
        got = ValueError
    assert got == expected and type(got) is type(expected)
