"""The report's charts (no database): matplotlib shapes Arabic and lays it right to
left by itself (≥ 3.11), so labels go in as plain text; a right-to-left chart is
mirrored."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from himaya.stats.charts import Chart, _font_family, amiri_available, chart_svg

pytestmark = pytest.mark.skipif(not amiri_available(), reason="the Arabic font Amiri is missing: install the Debian package fonts-hosny-amiri")


def _ink(text: str) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    fig = Figure(figsize=(3, 1.5), dpi=100)
    fig.text(0.5, 0.5, text, fontproperties=FontProperties(family=_font_family(), size=40), ha="center", va="baseline")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, 0] < 128


def _dot_below_is_right_of_centre(text: str) -> bool:
    """Where the ink below the baseline (the dot of ب) lies, against the word's middle."""
    ink = _ink(text)
    baseline = ink.shape[0] // 2
    columns = np.where(ink.any(axis=0))[0]
    below = np.where(ink[baseline + 3:, :].any(axis=0))[0]
    return below.mean() > (columns.min() + columns.max()) / 2


def test_matplotlib_lays_arabic_right_to_left() -> None:
    # "با": ب first, so on the right; "اب": ب last, so on the left.
    assert _dot_below_is_right_of_centre("با")
    assert not _dot_below_is_right_of_centre("اب")


def test_matplotlib_joins_arabic_letters() -> None:
    joined = np.where(_ink("بلاغ").any(axis=0))[0]
    apart = np.where(_ink("ب\u200cل\u200cا\u200cغ").any(axis=0))[0]  # zero-width non-joiners: the letters' isolated forms
    assert joined.max() - joined.min() < 0.8 * (apart.max() - apart.min())


def test_no_reshaping_library_is_used() -> None:
    chart_svg(Chart(title="البلاغات حسب المصدر", labels=["مزوّد الخدمة", "البوابة"], values=[3, 1]), rtl=True)
    assert "arabic_reshaper" not in sys.modules and "bidi" not in sys.modules


def test_a_right_to_left_chart_is_the_mirror_of_the_left_to_right_one() -> None:
    chart = Chart(title="Reports by source", labels=["Provider", "Portal"], values=[30, 10], value_labels=["30", "<5"])
    ltr, rtl = chart_svg(chart, rtl=False), chart_svg(chart, rtl=True)
    assert ltr.startswith("<?xml") and "<svg" in ltr and ltr != rtl


def test_stacked_bars_draw_each_part_with_its_legend() -> None:
    chart = Chart(title="Time to triage", labels=["P1", "P2"], values=[5, 9], parts=[("Within target", [4, 6]), ("Late", [1, 3])])
    plain = Chart(title="Time to triage", labels=["P1", "P2"], values=[5, 9])
    # two more bar segments and two legend swatches than the same totals unstacked
    assert chart_svg(chart, rtl=True).count('id="patch_') - chart_svg(plain, rtl=True).count('id="patch_') == 4
