"""The government calendar's table (``data/holidays.yaml``), read into
:class:`bot.schedule.workdays.HolidayRules`, with errors that name the file and line."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.domain.thai import ThaiDateError, parse_date
from bot.schedule.workdays import AnnouncedDayOff, HolidayRules, WorkedHoliday
from bot.shipped import data_file

SHIPPED_HOLIDAYS = data_file("holidays.yaml")
SECTIONS = ("worked", "announced", "days_off")
KEYS = {
    "worked": {"name", "thai", "in_lieu", "why"},
    "announced": {"name", "thai", "month", "why"},
    "days_off": {"date", "name", "why"},
}


class _Loader(yaml.SafeLoader):
    """YAML without implicit timestamps: dates stay text and are read as BE or CE."""


_Loader.yaml_implicit_resolvers = {
    ch: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class HolidayTableError(ValueError):
    """``str()`` reads ``file:line: message``."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


def _entries(node: yaml.Node, path: Path) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """Each section's entries with their line numbers."""
    if not isinstance(node, yaml.MappingNode):
        raise HolidayTableError(
            path, node.start_mark.line + 1, "expected worked, announced, days_off"
        )
    out: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for key, value in node.value:
        line = key.start_mark.line + 1
        if key.value not in SECTIONS:
            raise HolidayTableError(
                path, line, f"unknown section {key.value!r} (known: {', '.join(SECTIONS)})"
            )
        if not isinstance(value, yaml.SequenceNode):
            raise HolidayTableError(path, line, f"{key.value}: expected a list")
        entries = []
        for child in value.value:
            data = yaml.load(yaml.serialize(child), Loader=_Loader)
            if not isinstance(data, dict):
                raise HolidayTableError(
                    path, child.start_mark.line + 1, f"{key.value}: expected name: …"
                )
            unknown = sorted(set(data) - KEYS[key.value])
            if unknown:
                raise HolidayTableError(
                    path,
                    child.start_mark.line + 1,
                    f"{key.value}: unknown key {unknown[0]!r} (known: {', '.join(sorted(KEYS[key.value]))})",
                )
            entries.append((child.start_mark.line + 1, data))
        out[key.value] = entries
    return out


def _text(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key} is required")
    return value.strip()


def _day(value: Any, where: str) -> date:
    text = value.isoformat() if isinstance(value, date) else str(value)
    try:
        return parse_date(text, ce_ok=True)
    except ThaiDateError as exc:
        raise ValueError(f"{where}: {exc}") from None


def parse_holiday_table(text: str, path: Path) -> HolidayRules:
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise HolidayTableError(
            path, mark.line + 1 if mark else None, f"not valid YAML: {exc}"
        ) from None
    if node is None:
        return HolidayRules()
    sections = _entries(node, path)
    worked, announced, days_off = [], [], []
    for line, d in sections.get("worked", []):
        try:
            in_lieu = d.get("in_lieu", True)
            if not isinstance(in_lieu, bool):
                raise ValueError("worked: in_lieu is true or false")
            worked.append(
                WorkedHoliday(_text(d, "name", "worked"), str(d.get("thai") or ""), in_lieu)
            )
        except ValueError as exc:
            raise HolidayTableError(path, line, str(exc)) from None
    for line, d in sections.get("announced", []):
        try:
            month = d.get("month")
            if not isinstance(month, int) or not 1 <= month <= 12:
                raise ValueError("announced: month is 1..12")
            announced.append(
                AnnouncedDayOff(_text(d, "name", "announced"), _text(d, "thai", "announced"), month)
            )
        except ValueError as exc:
            raise HolidayTableError(path, line, str(exc)) from None
    for line, d in sections.get("days_off", []):
        try:
            days_off.append((_day(d.get("date"), "days_off"), _text(d, "name", "days_off")))
        except ValueError as exc:
            raise HolidayTableError(path, line, str(exc)) from None
    return HolidayRules(tuple(worked), tuple(sorted(days_off)), tuple(announced))


def load_holiday_table(path: str | Path | None = None) -> HolidayRules:
    p = Path(path) if path is not None else SHIPPED_HOLIDAYS
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise HolidayTableError(p, None, f"cannot read: {exc.strerror}") from None
    return parse_holiday_table(text, p)
