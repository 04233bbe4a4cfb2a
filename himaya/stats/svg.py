"""Server-drawn bar charts for the dashboard: plain SVG, no script, no library,
no font download. Pure (no Django): labels arrive translated, links built.

Right to left, the chart mirrors as the page does: labels stand on the right,
bars grow leftwards from them, and the numbers sit at the bars' ends. Each bar
is a link to the list it counts, like the number in the table beside it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

ROW = 22
BAR = 14
WIDTH = 360  # about a dashboard card's width: the text stays readable
LABEL = 150
NUMBER = 36


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    link: str | None = None
    shown: str = ""  # the text at the bar's end ("<5" when suppressed); default the value


def bar_chart(bars: Sequence[Bar], *, title: str, rtl: bool) -> str:
    """A horizontal bar chart as an inline SVG element, titled for screen readers."""
    height = max(1, len(bars)) * ROW + 8
    top = max((b.value for b in bars), default=0) or 1
    span = WIDTH - LABEL - NUMBER - 16
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}" direction="{"rtl" if rtl else "ltr"}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, bar in enumerate(bars):
        y = 4 + i * ROW
        length = 0 if bar.value <= 0 else max(2, round(span * bar.value / top))
        # Text anchored at its "start": the left edge left to right, the right edge
        # right to left (the SVG's `direction`), so the same anchor mirrors.
        anchor = number_anchor = "start"
        if rtl:
            label_x = WIDTH - 4
            bar_x = WIDTH - LABEL - 8 - length
            number_x = bar_x - 6
        else:
            label_x = 4
            bar_x = LABEL + 8
            number_x = bar_x + length + 6
        label = escape(bar.label if len(bar.label) <= 26 else bar.label[:25] + "…")
        shown = escape(bar.shown or str(bar.value))
        row = (
            f'<text x="{label_x}" y="{y + BAR - 2}" text-anchor="{anchor}" class="chart__label">{label}</text>'
            f'<rect x="{bar_x}" y="{y}" width="{length}" height="{BAR}" rx="2" class="chart__bar"></rect>'
            f'<text x="{number_x}" y="{y + BAR - 2}" text-anchor="{number_anchor}" class="chart__value">{shown}</text>'
        )
        if bar.link:
            row = f'<a href="{escape(bar.link)}" aria-label="{label}: {shown}">{row}</a>'
        parts.append(f"<g><title>{escape(bar.label)}: {shown}</title>{row}</g>")
    parts.append("</svg>")
    return "".join(parts)
