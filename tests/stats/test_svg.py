"""The dashboard's SVG bars (pure, no database): mirrored right to left, escaped, linked."""
from __future__ import annotations

import re

from lxml import etree

from himaya.stats.svg import WIDTH, Bar, bar_chart

NS = {"s": "http://www.w3.org/2000/svg"}


def _parse(svg: str):  # type: ignore[no-untyped-def]
    return etree.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ', 1))


def test_bars_mirror_right_to_left():
    bars = [Bar("البوابة العامة", 10, "/?source=portal"), Bar("استيراد", 5), Bar("شريك", 0)]
    rtl, ltr = _parse(bar_chart(bars, title="t", rtl=True)), _parse(bar_chart(bars, title="t", rtl=False))
    for tree, right_to_left in ((rtl, True), (ltr, False)):
        rects = tree.findall(".//s:rect", NS)
        labels = tree.findall(".//s:text[@class='chart__label']", NS)
        widths = [float(r.get("width")) for r in rects]
        assert widths[0] == 2 * widths[1] and widths[2] == 0  # proportional; a zero draws nothing
        x_label, x_bar = float(labels[0].get("x")), float(rects[0].get("x"))
        if right_to_left:
            assert x_label > x_bar + widths[0] and x_label > WIDTH * 0.9  # labels on the right, bars grow leftwards
            assert tree.get("direction") == "rtl"
        else:
            assert x_label < x_bar
        # the same right edge (RTL) or left edge (LTR) for every bar: they start from the labels' side
        edges = {round(float(r.get("x")) + (float(r.get("width")) if right_to_left else 0)) for r in rects}
        assert len(edges) == 1


def test_every_text_is_escaped_and_bars_link_to_their_list():
    svg = bar_chart([Bar('<script>alert("x")</script>', 3, '/?q="><b>', "<5")], title="a & b", rtl=True)
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;5" in svg
    tree = _parse(svg)
    (link,) = tree.findall(".//s:a", NS)
    assert link.get("href") == '/?q="><b>'
    assert tree.find("s:title", NS).text == "a & b"
    assert re.search(r'aria-label="a &amp; b"', svg)
