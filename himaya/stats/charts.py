"""Charts of the national report, drawn by matplotlib as SVG (no Django here).

matplotlib ≥ 3.11 lays text out with libraqm: Arabic comes out shaped and in
visual order by itself. Do not pre-shape labels with `arabic-reshaper` and
`python-bidi` (the old trick): matplotlib would reverse them a second time.

For a right-to-left report a chart is mirrored as the page is: bars grow from
the right, category labels and the value axis stand on the right, and a time
axis runs from right to left. Labels arrive already translated.

The report embeds charts as PNG at print resolution (WeasyPrint draws an SVG's
glyph outlines in Python, ten times slower); `chart_svg` gives the same drawing
as SVG with text as outlines. The numbers of every chart are also in a table of
the report, which is what a reader copies and `pdftotext` finds.
"""
from __future__ import annotations

import io
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Debian's `fonts-hosny-amiri` (Amiri: Arabic with Latin letters and digits). DejaVu
# Sans, matplotlib's own, stands in when it is absent (its Arabic is plainer).
AMIRI_DIR = Path("/usr/share/fonts/opentype/fonts-hosny-amiri")
AMIRI_REGULAR = AMIRI_DIR / "Amiri-Regular.ttf"
AMIRI_BOLD = AMIRI_DIR / "Amiri-Bold.ttf"

BAR = "#2f5d8a"
BAR_HIGHLIGHT = "#b5651d"
PART_COLOURS = ("#2f5d8a", "#b5651d", "#7a9c59", "#8c6bb1", "#c44e52", "#777777")
INK = "#222222"
GRID = "#d9d9d9"

# matplotlib's global state (the font list, rcParams) is not thread-safe: a web
# worker with threads draws one chart at a time.
_lock = threading.Lock()
_fonts_loaded = False


@dataclass(frozen=True)
class Chart:
    """One chart to draw: categories (translated labels) and their values."""

    title: str
    labels: Sequence[str]
    values: Sequence[float]
    kind: str = "bars"          # "bars": horizontal bars, one per category; "series": columns along time
    unit: str = ""              # what the values count, under the value axis
    value_format: str = "{:,.0f}"
    value_labels: Sequence[str] | None = None  # the text at each bar's end (e.g. "<5" for a suppressed count)
    highlight_first: bool = False              # the funnel: its first stage in another colour
    # Stacked bars: the parts of each bar (name, one value per category); `values` are then the totals.
    parts: Sequence[tuple[str, Sequence[float]]] = ()

    def value_text(self, index: int) -> str:
        if self.value_labels is not None:
            return self.value_labels[index]
        return self.value_format.format(self.values[index])


def _font_family() -> list[str]:
    global _fonts_loaded
    from matplotlib import font_manager

    if not _fonts_loaded:
        for path in (AMIRI_REGULAR, AMIRI_BOLD):
            if path.is_file():
                font_manager.fontManager.addfont(str(path))
        _fonts_loaded = True
    return ["Amiri", "DejaVu Sans"] if AMIRI_REGULAR.is_file() else ["DejaVu Sans"]


def amiri_available() -> bool:
    return AMIRI_REGULAR.is_file()


def _colours(chart: Chart, n: int) -> list[str]:
    return [BAR_HIGHLIGHT if chart.highlight_first and i == 0 else BAR for i in range(n)]


def chart_svg(chart: Chart, *, rtl: bool, width_cm: float = 16.0) -> str:
    """The chart as an SVG document (text as outlines)."""
    out = io.StringIO()
    with _lock:
        _draw(chart, rtl=rtl, width_cm=width_cm).savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def chart_png(chart: Chart, *, rtl: bool, width_cm: float = 16.0, dpi: int = 200) -> bytes:
    """The chart as a PNG at print resolution: a PDF lays an image out far faster
    than it draws an SVG's thousands of glyph outlines."""
    out = io.BytesIO()
    with _lock:
        _draw(chart, rtl=rtl, width_cm=width_cm).savefig(out, format="png", dpi=dpi, metadata={"Software": None})
    return out.getvalue()


# Print resolution of the report's charts. 150 dpi keeps 9-point Arabic labels
# sharp on paper and screen (checked with pdftoppm) and draws in about half the
# time of 200 dpi.
REPORT_DPI = 150
# The charts of a report are drawn in this many processes at once (matplotlib is
# single-threaded and holds the GIL): the machine's cores, at most 4.
CHART_PROCESSES = max(1, min(4, os.cpu_count() or 1))


def _child_start() -> None:
    """A forked child's own lock: the parent's may have been held by another thread."""
    global _lock
    _lock = threading.Lock()


def _png_job(args: tuple[Chart, bool, int]) -> bytes:
    chart, rtl, dpi = args
    return chart_png(chart, rtl=rtl, dpi=dpi)


def chart_pngs(charts: Sequence[Chart], *, rtl: bool, dpi: int = REPORT_DPI, processes: int | None = None) -> list[bytes]:
    """Every chart as a PNG, in order, drawn in parallel processes when there are
    several charts and cores (forked: the children use no database or thread)."""
    processes = CHART_PROCESSES if processes is None else processes
    jobs = [(c, rtl, dpi) for c in charts]
    if processes <= 1 or len(jobs) < 4 or "fork" not in multiprocessing.get_all_start_methods():
        return [_png_job(j) for j in jobs]
    _font_family()  # load the fonts once, before forking: every child inherits them
    with ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("fork"), initializer=_child_start) as pool:
        return list(pool.map(_png_job, jobs, chunksize=max(1, len(jobs) // (processes * 2))))


def _draw(chart: Chart, *, rtl: bool, width_cm: float) -> Any:
    from matplotlib.figure import Figure

    family = _font_family()
    labels = [str(label) for label in chart.labels]
    values = [float(v) for v in chart.values]
    n = max(len(labels), 1)
    inch = width_cm / 2.54
    if chart.kind == "series":
        height = 2.8
    else:
        height = min(0.9 + 0.32 * n, 7.5) + (0.35 if chart.parts else 0)
    fig = Figure(figsize=(inch, height), dpi=72)
    ax = fig.add_subplot()
    ax.set_title(chart.title, fontsize=12, fontfamily=family, color=INK, loc="right" if rtl else "left")
    for spine in ("top", "left", "right", "bottom"):
        ax.spines[spine].set_visible(False)
    text_kw = {"fontfamily": family, "fontsize": 9, "color": INK}
    top = max(values, default=0) or 1
    if chart.kind == "series":
        positions = list(range(len(values)))
        ax.bar(positions, values, color=_colours(chart, len(values)), width=0.7)
        ax.set_xticks(positions, labels, **text_kw)
        ax.set_ylim(0, top * 1.18)
        ax.yaxis.grid(True, color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(axis="y", labelsize=8)
        if rtl:
            ax.invert_xaxis()            # time runs from right to left
            ax.yaxis.tick_right()
        for x, v in zip(positions, values):
            ax.text(x, v + top * 0.02, chart.value_text(x), ha="center", va="bottom", **{**text_kw, "fontsize": 8})
        if len(labels) > 12:  # the days of a month: numbers, smaller
            for tick in ax.get_xticklabels():
                tick.set_fontsize(7)
    else:
        positions = list(range(len(values)))
        if chart.parts:
            left = [0.0] * len(values)
            for i, (name, part) in enumerate(chart.parts):
                ax.barh(positions, list(part), left=left, height=0.65, label=name, color=PART_COLOURS[i % len(PART_COLOURS)])
                left = [a + float(b) for a, b in zip(left, part)]
            legend = ax.legend(loc="lower left" if rtl else "lower right", bbox_to_anchor=(0.0 if rtl else 1.0, 1.0),
                               ncols=min(len(chart.parts), 4), frameon=False, prop={"family": family, "size": 8},
                               markerfirst=not rtl)
            for text in legend.get_texts():
                text.set_color(INK)
        else:
            ax.barh(positions, values, color=_colours(chart, len(values)), height=0.65)
        ax.set_yticks(positions, labels, **text_kw)
        ax.invert_yaxis()                # first category on top
        ax.set_xlim(0, top * 1.22)
        ax.xaxis.grid(True, color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(axis="x", labelsize=8)
        ax.tick_params(axis="y", length=0)
        if rtl:
            ax.invert_xaxis()            # bars grow from the right
            ax.yaxis.tick_right()
        for y, v in zip(positions, values):
            ax.text(v + top * 0.015, y, chart.value_text(y), va="center",
                    ha="right" if rtl else "left", **{**text_kw, "fontsize": 8})
    if chart.unit:
        (ax.set_ylabel if chart.kind == "series" else ax.set_xlabel)(chart.unit, **text_kw)
        if rtl and chart.kind == "series":
            ax.yaxis.set_label_position("right")
    fig.tight_layout()
    return fig
