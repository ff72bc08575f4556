"""The fiscal-year calendar as rows, a Thai table, CSV and iCalendar (one file per role)."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.catalogue.schema import Catalogue
from bot.domain import Stage
from bot.domain.fiscal import fy_end, fy_start
from bot.domain.thai import digits, format_date
from bot.fmt import Fmt
from bot.schedule.policy import SchedulePolicy
from bot.schedule.rules import PlannedOccurrence, plan_fiscal_year
from bot.schedule.workdays import NO_CHANGES, DayChanges, HolidayRules, WorkCalendar
from bot.texts import stage_name, tr


@dataclass(frozen=True, slots=True)
class CalendarRow:
    code: str
    title: str
    kind: str
    period: str  # the period it reports on (an annual results report: the year before)
    period_start: date
    period_end: date
    stage: Stage
    role_key: str
    role_name: str
    due: date
    key: str  # the occurrence's own period key (stable event ids)


def calendar_for(
    fy: int,
    rules: HolidayRules,
    extra: dict[date, str] | None = None,
    changes: DayChanges = NO_CHANGES,
) -> WorkCalendar:
    """The government working-day calendar that covers every deadline of fiscal year ``fy``."""
    years = range(fy_start(fy).year, fy_end(fy).year + 2)
    return WorkCalendar.government(years, rules, extra).with_changes(changes)


def calendar_rows(
    catalogue: Catalogue,
    occurrences: Iterable[PlannedOccurrence],
    *,
    role: str | None = None,
    item: str | None = None,
) -> list[CalendarRow]:
    rows: list[CalendarRow] = []
    for occ in occurrences:
        if item is not None and occ.code != item:
            continue
        for s in occ.stages:
            if role is not None and s.role != role:
                continue
            r = catalogue.role(s.role)
            rows.append(
                CalendarRow(
                    occ.code,
                    catalogue.title_of(occ.code),
                    occ.kind.value,
                    occ.covered.key,
                    occ.covered.start,
                    occ.covered.end,
                    s.stage,
                    r.key,
                    r.name,
                    s.due,
                    occ.period.key,
                )
            )
    return rows


def fiscal_year_rows(
    catalogue: Catalogue,
    fy: int,
    policy: SchedulePolicy,
    *,
    role: str | None = None,
    item: str | None = None,
    cal: WorkCalendar,
) -> list[CalendarRow]:
    occs = plan_fiscal_year(catalogue, fy, cal, policy)
    return calendar_rows(catalogue, occs, role=role, item=item)


CSV_COLUMNS = (
    "item",
    "period",
    "stage",
    "role",
    "due_date",
    "role_key",
    "kind",
    "period_start",
    "period_end",
    "title",
)


def to_csv(rows: Iterable[CalendarRow]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        w.writerow(
            [
                r.code,
                r.period,
                r.stage.value,
                r.role_name,
                r.due.isoformat(),
                r.role_key,
                r.kind,
                r.period_start.isoformat(),
                r.period_end.isoformat(),
                r.title,
            ]
        )
    return buf.getvalue()


def display_width(text: str) -> int:
    """Columns a string takes in a terminal: Thai combining marks take none."""
    return sum(
        0 if unicodedata.combining(ch) or unicodedata.category(ch) == "Mn" else 1 for ch in text
    )


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def to_table(
    rows: list[CalendarRow], fy: int, *, lang: str = "th", thai_digits: bool = True
) -> str:
    heads = [tr(lang, f"cal.head.{k}") for k in ("item", "period", "stage", "role", "due", "title")]
    fmt = Fmt(lang=lang, thai_digits=thai_digits)
    body = [
        [
            r.code,
            fmt.period(r.period),  # ต.ค. ๒๕๖๙, ไตรมาส ๑/๒๕๗๐, ปีงบ ๒๕๖๙
            stage_name(lang, r.stage.value),
            r.role_name,
            format_date(r.due, thai_digits=thai_digits),
            r.title,
        ]
        for r in rows
    ]
    widths = [
        max([display_width(h)] + [display_width(b[i]) for b in body]) for i, h in enumerate(heads)
    ]
    widths[-1] = 0  # the title runs to the end of the line
    lines = [tr(lang, "cal.title", fy=digits(fy, thai_digits)), ""]
    lines.append("  ".join(_pad(h, w) for h, w in zip(heads, widths, strict=True)).rstrip())
    lines.append("  ".join("-" * max(w, 4) for w in widths[:-1]) + "  ----")
    for b in body:
        lines.append("  ".join(_pad(c, w) for c, w in zip(b, widths, strict=True)).rstrip())
    occurrences = len({(r.code, r.key) for r in rows})
    lines += [
        "",
        tr(
            lang,
            "cal.count",
            occurrences=digits(occurrences, thai_digits),
            stages=digits(len(rows), thai_digits),
        ),
    ]
    return "\n".join(lines) + "\n"


def _ics_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """RFC 5545 folding: lines of at most 75 octets, continued with a leading space."""
    out: list[str] = []
    current = b""
    for ch in line:
        enc = ch.encode("utf-8")
        if len(current) + len(enc) > (75 if not out else 74):
            out.append(current.decode("utf-8"))
            current = b""
        current += enc
    out.append(current.decode("utf-8"))
    return "\r\n ".join(out)


def to_ics(
    rows: Iterable[CalendarRow], role_name: str, fy: int, *, stamp: datetime, lang: str = "th"
) -> str:
    """One iCalendar file of all-day events, for subscribing on a phone."""
    dtstamp = stamp.strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//ITA duty bot//TH",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_ics_escape(tr(lang, 'cal.ics.name', role=role_name))} {fy}",
        "X-WR-TIMEZONE:Asia/Bangkok",
    ]
    for r in rows:
        summary = tr(
            lang,
            "cal.ics.summary",
            code=r.code,
            stage=stage_name(lang, r.stage.value),
            title=r.title,
        )
        lines += [
            "BEGIN:VEVENT",
            f"UID:{fy}-{r.code}-{r.key}-{r.stage.value}-{r.role_key}@ita-duty-bot",
            f"DTSTAMP:{dtstamp}",
            f"DTSTART;VALUE=DATE:{r.due:%Y%m%d}",
            f"DTEND;VALUE=DATE:{r.due + timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{_ics_escape(summary)}",
            f"DESCRIPTION:{_ics_escape(f'{Fmt(lang=lang).period(r.period)} · {r.role_name}')}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)
