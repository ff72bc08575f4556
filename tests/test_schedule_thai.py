from datetime import date

import pytest

from bot.domain import thai
from bot.domain.fiscal import (
    fiscal_year,
    fy_end,
    fy_month_date,
    fy_start,
    half_period,
    month_period,
    parse_period,
    quarter_of,
    quarter_period,
)


def test_be_and_ce_round_trip() -> None:
    assert thai.be_year(2026) == 2569
    assert thai.ce_year(2570) == 2027
    for y in range(1900, 2200):
        assert thai.ce_year(thai.be_year(y)) == y


def test_thai_digits_both_ways() -> None:
    assert thai.to_thai_digits("10 พ.ย. 2569") == "๑๐ พ.ย. ๒๕๖๙"
    assert thai.to_arabic_digits("๑๐ พ.ย. ๒๕๖๙") == "10 พ.ย. 2569"
    assert thai.to_thai_digits(1234567890) == "๑๒๓๔๕๖๗๘๙๐"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("พ.ค.๖๕", (2565, 5)),
        ("ก.ย.๖๕", (2565, 9)),
        ("ต.ค. ๒๕๖๔", (2564, 10)),
        ("พฤษภาคม 2565", (2565, 5)),
        ("มี.ค.70", (2570, 3)),
        ("ธ.ค. 69", (2569, 12)),
    ],
)
def test_parse_month_year(text: str, expected: tuple[int, int]) -> None:
    assert thai.parse_month_year(text) == expected


@pytest.mark.parametrize("text", ["", "May 65", "พ.ค.", "xx.๖๕", "พ.ค.๖", "พ.ค.๑๒๓๔๕"])
def test_parse_month_year_rejects(text: str) -> None:
    with pytest.raises(thai.ThaiDateError):
        thai.parse_month_year(text)


def test_every_month_abbreviation_parses_back() -> None:
    for m, abbr in enumerate(thai.MONTH_ABBR, start=1):
        assert thai.parse_month(abbr) == m
        assert thai.parse_month_year(f"{abbr}{thai.to_thai_digits(69)}") == (2569, m)


def test_format_date_thai_and_arabic_digits() -> None:
    assert thai.format_date(date(2026, 11, 10)) == "๑๐ พ.ย. ๒๕๖๙"
    assert thai.format_date(date(2026, 11, 10), thai_digits=False) == "10 พ.ย. 2569"
    assert thai.format_date(date(2027, 1, 1), with_year=False) == "๑ ม.ค."
    assert thai.format_month(2026, 10) == "ต.ค. ๒๕๖๙"


def test_fiscal_year_boundaries() -> None:
    assert fiscal_year(date(2025, 9, 30)) == 2568
    assert fiscal_year(date(2025, 10, 1)) == 2569
    assert fiscal_year(date(2026, 9, 30)) == 2569
    assert fy_start(2569) == date(2025, 10, 1)
    assert fy_end(2569) == date(2026, 9, 30)
    assert fy_start(2570) == date(2026, 10, 1)


def test_quarters_and_halves() -> None:
    assert quarter_of(date(2026, 10, 1)) == (2570, 1)
    assert quarter_of(date(2026, 12, 31)) == (2570, 1)
    assert quarter_of(date(2027, 1, 1)) == (2570, 2)
    assert quarter_of(date(2027, 4, 1)) == (2570, 3)
    assert quarter_of(date(2027, 9, 30)) == (2570, 4)
    q2 = quarter_period(2570, 2)
    assert (q2.start, q2.end, q2.key) == (date(2027, 1, 1), date(2027, 3, 31), "2570Q2")
    h1 = half_period(2570, 1)
    assert (h1.start, h1.end) == (date(2026, 10, 1), date(2027, 3, 31))
    h2 = half_period(2570, 2)
    assert (h2.start, h2.end) == (date(2027, 4, 1), date(2027, 9, 30))


def test_period_keys_parse_back() -> None:
    for p in (
        quarter_period(2570, 3),
        half_period(2570, 2),
        month_period(2026, 10),
        month_period(2027, 9),
    ):
        assert parse_period(p.key) == p
    assert parse_period("2570").start == date(2026, 10, 1)
    assert month_period(2026, 10).key == "2570M10"
    with pytest.raises(ValueError):
        parse_period("2570Q5")
    with pytest.raises(ValueError):
        parse_period("Q1")


def test_fy_month_date_clamps_and_offsets() -> None:
    assert fy_month_date(2570, 12, 31) == date(2026, 12, 31)
    assert fy_month_date(2570, 4, 31) == date(2027, 4, 30)
    assert fy_month_date(2570, 10, 31, fy_offset=1) == date(2027, 10, 31)
    # leap year: FY 2571 holds February 2028
    assert fy_month_date(2571, 2, 30) == date(2028, 2, 29)
    assert fy_month_date(2570, 2, 30) == date(2027, 2, 28)
