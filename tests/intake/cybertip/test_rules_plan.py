"""The rules are worked out once per element path (`rules._Plan`) and some value checks
use one regular expression where they looked at each character: the same violations,
at the same paths, as checking every element and character one by one."""
from __future__ import annotations

import sys

import pytest

from himaya.intake.cybertip import Node, check_report, parse_xml
from himaya.intake.cybertip import rules
from himaya.intake.cybertip.rules import _email_problem, _is_dns_label, _url_problem

from .samples import FULL_REPORT, NOW


def _check(report: Node) -> list[tuple[str, str]]:
    return [(v.path, v.message) for v in check_report(report, now=NOW, prior_report_exists=lambda _: True)]


def _leaf(tag: str, text: str) -> Node:
    return Node(tag=tag, text=text)


def test_an_element_the_schema_does_not_declare_is_still_checked_by_its_context_and_tag() -> None:
    report = parse_xml(FULL_REPORT)[1]
    assert _check(report) == []
    # Under <incidentSummary> (the XSD would refuse them, the rules never assume it ran):
    # a repeated undeclared element gets positions, one alone gets none.
    summary = report.find("incidentSummary")
    assert summary is not None
    summary.children += [_leaf("escalateToHighPriority", "x" * 3001), _leaf("bogus", ""), _leaf("bogus", "")]
    nested = Node(tag="unknown", children=[_leaf("escalateToHighPriority", " ")])
    summary.children.append(nested)
    found = _check(report)
    assert ("/report/incidentSummary/escalateToHighPriority", "max length is 3000 characters (got 3001)") in found
    # Below an undeclared element the context is its tag: the incidentSummary rule does not apply there.
    assert not any(path.startswith("/report/incidentSummary/unknown") for path, _ in found)
    nested.tag = "incidentSummary"
    assert ("/report/incidentSummary/incidentSummary/escalateToHighPriority", "must not be blank") in _check(report)


def test_repeated_undeclared_siblings_are_numbered_and_checked() -> None:
    report = parse_xml(FULL_REPORT)[1]
    report.children += [Node(tag="odd", children=[_leaf("priorCTReport", "abc")]) for _ in range(2)]
    assert [p for p, _ in _check(report)] == ["/report/odd[1]/priorCTReport", "/report/odd[2]/priorCTReport"]


def test_plans_are_kept_for_the_schemas_roots_only() -> None:
    check_report(Node(tag="notAReport", children=[_leaf("x", "y")]), now=NOW, prior_report_exists=lambda _: True)
    check_report(parse_xml(FULL_REPORT)[1], now=NOW, prior_report_exists=lambda _: True)
    assert "notAReport" not in rules._ROOT_PLANS and "report" in rules._ROOT_PLANS


def test_a_check_runs_once_per_element_and_in_the_documented_order() -> None:
    # Blank and too long at once: both, blank first (the order they were always reported in).
    report = parse_xml(FULL_REPORT)[1]
    summary = report.find("incidentSummary")
    assert summary is not None
    summary.children.append(_leaf("escalateToHighPriority", " " * 3001))
    assert [m for p, m in _check(report) if p.endswith("escalateToHighPriority")] == [
        "must not be blank", "max length is 3000 characters (got 3001)"]


# What the regular expressions replaced, character by character.
def _old_dns_label(label: str, *, allow_underscore: bool = False) -> bool:
    if not 1 <= len(label) <= 63 or label[0] == "-" or label[-1] == "-":
        return False
    return all(c.isalnum() or c == "-" or (allow_underscore and c == "_") for c in label)


def _old_bad_url_char(url: str) -> bool:
    return any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url)


_ODD = ["a", "-", "_", "a_b", "_a", "a-", "a--b", "٣", "x²", "ⅷ", "é", "a.b", "a b", "a\u00a0b", "\u200b", "Ǆ", "𝟘", "a\x00"]


@pytest.mark.parametrize("label", _ODD + ["ab" * 32, "_-_", "-_", "__"])
@pytest.mark.parametrize("underscore", [False, True])
def test_dns_labels_are_judged_as_character_by_character(label: str, underscore: bool) -> None:
    assert _is_dns_label(label, allow_underscore=underscore) == _old_dns_label(label, allow_underscore=underscore)


def test_every_character_that_makes_a_url_invalid_still_does() -> None:
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        assert (rules._SPACE_OR_CONTROL.search(char) is not None) == _old_bad_url_char(char), hex(code)
    for char in ("\u00a0", "\u2028", "\x1c", "\x85", "\x7f", "\t"):
        assert _url_problem(f"http://example.com/a{char}b") == "must be a valid URL"
    assert _url_problem("http://example.com/a\u200bb") is None  # a zero-width space is not whitespace


@pytest.mark.parametrize("local", ["a.b", "a..b", ".a", "a.", "é.ü", "a b", "a\u00a0b", "a\u2028b", "ok+tag", "x~y", "a(b", "a\x7fb"])
def test_email_local_parts_beyond_ascii_are_judged_as_before(local: str) -> None:
    def old_atom(part: str) -> bool:
        return bool(part) and all(rules._is_atext(c) for c in part)

    expected = all(old_atom(p) for p in local.split("."))
    assert (_email_problem(f"{local}@example.com") is None) == expected
