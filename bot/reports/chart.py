"""Charts for the head, drawn with matplotlib in Sarabun (the Thai government typeface).

The font comes from the ``fontpkg-sarabun`` package: its ``.ttf`` files are registered
with matplotlib's font manager once, and every text of a chart names the family
explicitly, so no system font is ever looked up (no tofu boxes, whatever the machine).
Only the object-oriented API is used (``Figure`` + the Agg canvas, never pyplot), so
rendering is safe in a worker thread and leaves no global state behind.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fontpkg_sarabun

from bot.fmt import Fmt
from bot.reports.digest_data import DigestData
from bot.reports.period_report import RESULT_LABELS, ReportData, Result
from bot.reports.view import NO_ROLE

FONT_FAMILY: str = fontpkg_sarabun.FAMILY
FONT_DIR = Path(fontpkg_sarabun.ROOT) / "files"

COLORS = {
    "done": "#2e7d32",
    "open": "#90caf9",
    "overdue": "#c62828",
    "not_applicable": "#9e9e9e",
    Result.ON_TIME.value: "#2e7d32",
    Result.LATE.value: "#f9a825",
    Result.OVERDUE.value: "#c62828",
    Result.NOT_APPLICABLE.value: "#9e9e9e",
    Result.BEFORE_TRACKING.value: "#d7ccc8",
    Result.NOT_DUE.value: "#90caf9",
}

_lock = threading.RLock()  # rcParams and the Agg font cache are process-wide
_registered: list[str] = []


def font_files() -> list[Path]:
    """Sarabun's font files, as shipped by ``fontpkg-sarabun``."""
    files = sorted(FONT_DIR.glob("*.ttf"))
    if not files:  # pragma: no cover - a broken installation
        raise RuntimeError(f"no Sarabun .ttf files under {FONT_DIR}")
    return files


def register_sarabun() -> str:
    """Register every Sarabun face with matplotlib (once); returns the family name."""
    with _lock:
        if not _registered:
            from matplotlib import font_manager

            for path in font_files():
                font_manager.fontManager.addfont(str(path))
            _registered.append(FONT_FAMILY)
    return FONT_FAMILY


def sarabun_path() -> Path:
    """The file matplotlib uses for regular Sarabun text (for tests and diagnostics)."""
    from matplotlib import font_manager

    register_sarabun()
    props = font_manager.FontProperties(family=FONT_FAMILY, weight="normal", style="normal")
    return Path(font_manager.findfont(props, fallback_to_default=False))


def _rc(family: str) -> Any:
    return {
        "font.family": [family],
        "font.sans-serif": [family],
        "axes.unicode_minus": False,
        "mathtext.fontset": "custom",
        "mathtext.rm": family,
    }


@contextmanager
def sarabun_context() -> Iterator[str]:
    """Build and draw figures inside this: Sarabun is the only font matplotlib will use.

    It holds a process-wide lock, as matplotlib's settings are process-wide."""
    family = register_sarabun()
    from matplotlib import rc_context

    with _lock, rc_context(_rc(family)):
        yield family


@dataclass(frozen=True)
class Series:
    label: str
    color: str
    values: Sequence[int]


def stacked_bars(
    title: str,
    subtitle: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    axis_label: str,
    empty_label: str,
    num: Fmt,
) -> Any:
    """A horizontal stacked bar chart, one bar per category (top to bottom), as a Figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with sarabun_context() as family:
        height = max(3.2, 0.42 * max(len(categories), 1) + 2.0)
        fig = Figure(figsize=(8.0, height), dpi=130)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        fig.suptitle(title, fontsize=14, fontweight="bold", family=family)
        ax.set_title(subtitle, fontsize=10, color="#555555", family=family)
        cats = list(categories) or [empty_label]
        positions = list(range(len(cats)))
        left = [0] * len(cats)
        for s in series:
            values = list(s.values) or [0] * len(cats)
            bars = ax.barh(positions, values, left=left, color=s.color, label=s.label, height=0.6)
            for bar, v in zip(bars, values, strict=True):
                if v:
                    ax.text(
                        bar.get_x() + bar.get_width() / 2,
                        bar.get_y() + bar.get_height() / 2,
                        num.num(v),
                        ha="center",
                        va="center",
                        fontsize=8,
                        family=family,
                        color="white" if s.color in ("#2e7d32", "#c62828") else "#222222",
                    )
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_yticks(positions)
        ax.set_yticklabels(cats, family=family, fontsize=10)
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(axis_label, family=family)
        for label in ax.get_xticklabels():
            label.set_fontfamily(family)
        ax.spines[["top", "right"]].set_visible(False)
        if series:
            ax.legend(
                loc="upper center",
                bbox_to_anchor=(0.5, -0.12 - 0.9 / height),
                ncol=min(len(series), 3),
                frameon=False,
                prop={"family": family, "size": 9},
            )
        fig.tight_layout()
    return fig


def png(fig: Any) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    with sarabun_context():
        fig.savefig(buf, format="png")
    return buf.getvalue()


def digest_figure(fmt: Fmt, data: DigestData) -> Any:
    """Status by role for the fiscal year: done / open (not overdue) / overdue / n/a."""
    s = data.summary
    roles = sorted(
        (k for k, c in s.by_role.items() if c.total and k != NO_ROLE),
        key=lambda k: (-s.by_role[k].total, data.view.role_name(k)),
    )
    counts = [s.by_role[k] for k in roles]
    series = [
        Series(fmt.t("chart.done"), COLORS["done"], [c.done for c in counts]),
        Series(fmt.t("chart.open"), COLORS["open"], [c.open - c.overdue for c in counts]),
        Series(fmt.t("chart.overdue"), COLORS["overdue"], [c.overdue for c in counts]),
        Series(
            fmt.t("chart.not_applicable"),
            COLORS["not_applicable"],
            [c.not_applicable for c in counts],
        ),
    ]
    return stacked_bars(
        fmt.t("chart.digest_title", fy=fmt.num(data.fy)),
        fmt.t("chart.subtitle", org=data.org_name, date=fmt.date(data.today)),
        [data.view.role_name(k) for k in roles],
        series,
        axis_label=fmt.t("chart.axis"),
        empty_label=fmt.t("chart.empty"),
        num=fmt,
    )


def report_figure(fmt: Fmt, data: ReportData) -> Any:
    """Results by role for the report period."""
    roles = sorted(
        (k for k, tally in data.by_role.items() if tally.total),
        key=lambda k: (-data.by_role[k].total, data.view.role_name(k)),
    )
    present = [r for r in Result if data.totals[r]]
    series = [
        Series(fmt.t(RESULT_LABELS[r]), COLORS[r.value], [data.by_role[k][r] for k in roles])
        for r in present
    ]
    return stacked_bars(
        fmt.t("chart.report_title", period=fmt.period(data.period.key)),
        fmt.t("chart.subtitle", org=data.org_name, date=fmt.date(data.as_of)),
        [data.view.role_name(k) for k in roles],
        series,
        axis_label=fmt.t("chart.axis"),
        empty_label=fmt.t("chart.empty"),
        num=fmt,
    )


def digest_chart(fmt: Fmt, data: DigestData) -> bytes:
    """The digest's chart as PNG bytes (CPU-bound: run it in a thread from async code)."""
    with sarabun_context():
        return png(digest_figure(fmt, data))


def report_chart(fmt: Fmt, data: ReportData) -> bytes:
    """The report's chart as PNG bytes (CPU-bound: run it in a thread from async code)."""
    with sarabun_context():
        return png(report_figure(fmt, data))
