"""Charts: drawn in Sarabun from fontpkg-sarabun, with no missing glyph (no tofu boxes)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fontpkg_sarabun
import pytest
from matplotlib.text import Text

from bot.fmt import Fmt
from bot.reports import chart
from bot.reports.digest_data import digest_data
from bot.reports.period_report import parse_report_period, report_data
from bot.store.db import Database
from tests.test_reports_history import History, bkk


def render_checked(
    build: Callable[[], Any], caplog: pytest.LogCaptureFixture
) -> tuple[bytes, set[str], list[str], list[str]]:
    """Build and draw a figure; return the PNG, the fonts of its texts, the texts, and every
    warning matplotlib gave (as a Python warning or through its loggers)."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="matplotlib"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with chart.sarabun_context():
                fig = build()
                png = chart.png(fig)
                texts = [t for t in fig.findobj(match=Text) if t.get_text().strip()]
                fonts = {t.get_fontname() for t in texts}
        problems = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    return png, fonts, [t.get_text() for t in texts], problems


def test_sarabun_comes_from_the_package_not_the_system() -> None:
    files = chart.font_files()
    assert {f.name for f in files} >= {"Sarabun-Regular.ttf", "Sarabun-Bold.ttf"}
    path = chart.sarabun_path()
    assert path.name == "Sarabun-Regular.ttf"
    assert path.resolve().is_relative_to(Path(fontpkg_sarabun.ROOT).resolve())


def test_the_checker_would_see_a_missing_glyph(caplog: pytest.LogCaptureFixture) -> None:
    """The detector works: an emoji (not in Sarabun) is reported as a missing glyph."""
    fmt = Fmt()

    def build() -> Any:
        return chart.stacked_bars(
            "📊 ทดสอบ",
            "",
            ["ก"],
            [chart.Series("x", "#000000", [1])],
            axis_label="",
            empty_label="",
            num=fmt,
        )

    *_, problems = render_checked(build, caplog)
    assert any("Glyph" in p and "missing" in p for p in problems), problems


async def test_the_digest_chart_is_all_sarabun_with_no_missing_glyph(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    h = await History.create(sqlite_db)
    await h.play_until(bkk(2027, 1, 5, 10))
    async with sqlite_db.transaction() as s:
        data = await digest_data(s, h.world.ctx, h.world.org.id, h.world.clock.now())
    fmt = Fmt.of(h.world.ctx.settings, "th")
    png, fonts, texts, problems = render_checked(lambda: chart.digest_figure(fmt, data), caplog)
    assert problems == []
    assert fonts == {"Sarabun"}
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert "สถานะงานตามบทบาท ปีงบประมาณ ๒๕๗๐" in texts
    assert "นักวิเคราะห์นโยบายและแผน" in texts and "เลยกำหนด" in texts
    assert "๒๑" in texts  # counts in Thai digits on the bars


async def test_the_report_chart_is_all_sarabun_with_no_missing_glyph(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    h = await History.create(sqlite_db)
    await h.play_until(bkk(2027, 1, 5, 10))
    async with sqlite_db.transaction() as s:
        data = await report_data(
            s, h.world.ctx, h.world.org.id, parse_report_period("2570Q1"), h.world.clock.now()
        )
    for lang in ("th", "en"):
        fmt = Fmt.of(h.world.ctx.settings, lang)

        def build(fmt: Fmt = fmt) -> Any:
            return chart.report_figure(fmt, data)

        png, fonts, texts, problems = render_checked(build, caplog)
        assert problems == [] and fonts == {"Sarabun"}
        assert png.startswith(b"\x89PNG")
    assert "ตรงเวลา" not in texts  # the last rendering was in English
    assert "on time" in texts and "late" in texts


def test_an_empty_chart_still_renders(caplog: pytest.LogCaptureFixture) -> None:
    fmt = Fmt()
    png, fonts, _, problems = render_checked(
        lambda: chart.stacked_bars(
            "ไม่มีข้อมูล", "", [], [], axis_label="จำนวนรอบ", empty_label="ไม่มีข้อมูล", num=fmt
        ),
        caplog,
    )
    assert problems == [] and fonts == {"Sarabun"} and png.startswith(b"\x89PNG")
