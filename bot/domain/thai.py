"""Thai calendar conventions: Buddhist Era years, Thai digits, month abbreviations."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

BE_OFFSET = 543

THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
_TO_THAI = str.maketrans("0123456789", THAI_DIGITS)
_TO_ARABIC = str.maketrans(THAI_DIGITS, "0123456789")

MONTH_ABBR = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)
MONTH_FULL = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)
MONTH_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def be_year(ce_year: int) -> int:
    """Buddhist Era year of a Common Era year (2026 → 2569)."""
    return ce_year + BE_OFFSET


def ce_year(be: int) -> int:
    """Common Era year of a Buddhist Era year (2569 → 2026)."""
    return be - BE_OFFSET


def to_thai_digits(text: str | int) -> str:
    return str(text).translate(_TO_THAI)


def to_arabic_digits(text: str) -> str:
    return text.translate(_TO_ARABIC)


def normalise_digits(text: str) -> str:
    """What a person typed, with every decimal digit made ASCII: Thai digits as Thai
    keyboards type them (``O๑๒`` → ``O12``, ``๒๕๗๐`` → ``2570``), and any other script's
    (full-width ``１２``…).  The one place to go through before parsing an item number, a
    year or a date someone typed; everything else is left as it was."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def digits(text: str | int, thai: bool) -> str:
    """Render the digits of ``text`` as Thai or leave them Arabic."""
    return to_thai_digits(text) if thai else str(text)


def _month_key(text: str) -> str:
    return re.sub(r"[\s.]", "", text)


_MONTH_LOOKUP: dict[str, int] = {}
for _i, (_abbr, _full) in enumerate(zip(MONTH_ABBR, MONTH_FULL, strict=True), start=1):
    _MONTH_LOOKUP[_month_key(_abbr)] = _i
    _MONTH_LOOKUP[_month_key(_full)] = _i

_MONTH_YEAR_RE = re.compile(r"^\s*(?P<month>[ก-๎.\s]+?)\s*(?P<year>[0-9๐-๙]{2,4})\s*$")


class ThaiDateError(ValueError):
    pass


def parse_month(text: str) -> int:
    """Month number of a Thai month name or abbreviation (``พ.ค.`` → 5)."""
    try:
        return _MONTH_LOOKUP[_month_key(text)]
    except KeyError:
        raise ThaiDateError(f"not a Thai month: {text!r}") from None


def parse_month_year(text: str) -> tuple[int, int]:
    """Parse ``พ.ค.๖๕`` or ``พฤษภาคม 2565`` into ``(be_year, month)``.

    Two-digit years are Buddhist Era years of the 2500s (``๖๕`` → 2565).
    """
    m = _MONTH_YEAR_RE.match(text)
    if not m:
        raise ThaiDateError(f"not a Thai month and year: {text!r}")
    month = parse_month(m.group("month"))
    year = int(to_arabic_digits(m.group("year")))
    if year < 100:
        year += 2500
    if not 2400 <= year <= 2700:
        raise ThaiDateError(f"not a Buddhist Era year: {text!r}")
    return year, month


MIN_BE_YEAR = 2400  # below this a "year" is a Common Era one (2026, 1999)
MAX_BE_YEAR = 2800


class BEYearError(ThaiDateError):
    """A year typed in the Common Era where a Buddhist Era one was meant.

    ``str()`` suggests the BE year: ``2026 → did you mean 2569?``."""

    def __init__(self, text: str, year: int, suggestion: str) -> None:
        self.text, self.year, self.suggestion = text, year, suggestion
        super().__init__(
            f"{text}: years are Buddhist Era (พ.ศ.) years — {text} → did you mean {suggestion}?"
        )


def check_be_year(year: int, text: str | None = None) -> int:
    """``year`` if it is a plausible BE year; a CE-looking one gets :class:`BEYearError`."""
    shown = text if text is not None else str(year)
    if year < MIN_BE_YEAR:
        raise BEYearError(shown, year, shown.replace(str(year), str(be_year(year)), 1))
    if year > MAX_BE_YEAR:
        raise ThaiDateError(f"not a Buddhist Era year: {shown!r}")
    return year


def parse_be_year(text: str) -> int:
    """A typed BE year (``2570``, ``๒๕๗๐``); ``2026`` gets a suggestion of 2569."""
    s = normalise_digits(text).strip()
    if not re.fullmatch(r"[0-9]{4}", s):
        raise ThaiDateError(f"not a year: {text!r} (a Buddhist Era year such as 2570)")
    return check_be_year(int(s), s)


_ISO_RE = re.compile(r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})$")
_DMY_RE = re.compile(r"^(?P<d>[0-9]{1,2})/(?P<m>[0-9]{1,2})/(?P<y>[0-9]{4})$")


def parse_date(text: str, *, ce_ok: bool = False) -> date:
    """A typed date, ``YYYY-MM-DD`` or ``D/M/YYYY``, its year in BE (Thai digits too).

    ``2569-10-01`` is 1 October 2026.  A year below 2400 is a CE year: accepted as such
    when ``ce_ok``, otherwise :class:`BEYearError` suggests the BE date."""
    s = normalise_digits(text).strip()
    m = _ISO_RE.match(s) or _DMY_RE.match(s)
    if m is None:
        raise ThaiDateError(f"not a date: {text!r} (try 2570-05-10 or 10/5/2570)")
    year, month, day = int(m.group("y")), int(m.group("m")), int(m.group("d"))
    if year < MIN_BE_YEAR and not ce_ok:
        check_be_year(year, s)
    if year >= MIN_BE_YEAR:
        check_be_year(year, s)
        year = ce_year(year)
    try:
        return date(year, month, day)
    except ValueError:
        raise ThaiDateError(f"not a date: {text!r} (no such day)") from None


def be_iso(d: date) -> str:
    """``2027-05-10`` → ``2570-05-10``: the ISO form people type, with the BE year."""
    return f"{be_year(d.year)}-{d.month:02d}-{d.day:02d}"


def format_date(d: date, *, thai_digits: bool = True, with_year: bool = True) -> str:
    """``10 Nov 2026`` → ``๑๐ พ.ย. ๒๕๖๙`` (or ``10 พ.ย. 2569`` with Arabic digits)."""
    text = f"{d.day} {MONTH_ABBR[d.month - 1]}"
    if with_year:
        text += f" {be_year(d.year)}"
    return digits(text, thai_digits)


def format_month(year: int, month: int, *, thai_digits: bool = True) -> str:
    """``(2026, 10)`` → ``ต.ค. ๒๕๖๙``."""
    return digits(f"{MONTH_ABBR[month - 1]} {be_year(year)}", thai_digits)


def format_date_en(d: date) -> str:
    return f"{d.day} {MONTH_EN[d.month - 1]} {d.year}"
