"""The seed's own mistakes, fixed in the open (``data/corrections.yaml``), and the checks
that find the contradictions nobody has corrected yet.

A correction names an item, activity or measure, one of its fields, the text the
document prints there and what it should say, and why.  The importer applies it to
the cell's text before reading the field, so a corrected role or quarter is read
like any other.  A correction whose text is not found is a warning, never skipped in
silence; so is every contradiction the checks find in the corrected catalogue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.catalogue.aliases import source_label
from bot.catalogue.loader import CatalogueError
from bot.catalogue.schema import Catalogue
from bot.catalogue.seedtext import flexible, norm
from bot.domain import FrequencyKind
from bot.domain.thai import MONTH_ABBR, to_thai_digits
from bot.shipped import data_file

DEFAULT_CORRECTIONS = data_file("corrections.yaml")

ITEM_FIELDS = ("title", "prepare", "collect", "publish", "frequency")
ACTIVITY_FIELDS = ("title", "steps", "responsible", "due", "report_quarter")
_CODE = re.compile(r"^(O[1-9][0-9]*|M[1-9][0-9]*(\.[1-9][0-9]*)?)$")


@dataclass(frozen=True)
class Correction:
    code: str
    field: str
    seed: str
    fix: str
    why: str
    line: int  # in the corrections file

    def describe(self) -> str:
        return f'{self.field}: "{self.seed}" → "{self.fix}" ({self.why})'


@dataclass
class Corrections:
    """One document's corrections, and which of them the import has applied."""

    label: str
    organisation: str | None
    fiscal_year: int | None
    entries: list[Correction] = field(default_factory=list)
    applied: set[Correction] = field(default_factory=set)

    def matches(self, organisation: str | None, fiscal_year: int) -> bool:
        return (self.organisation is None or self.organisation == organisation) and (
            self.fiscal_year is None or self.fiscal_year == fiscal_year
        )

    def apply(self, code: str, field_name: str, text: str) -> tuple[str, list[Correction]]:
        """``text`` with every correction of ``code``'s ``field_name`` made; and which ones."""
        done: list[Correction] = []
        for c in self.entries:
            if c.code != code or c.field != field_name:
                continue
            corrected = flexible(c.seed).sub(c.fix, text)
            if corrected != text:
                text = corrected
                done.append(c)
                self.applied.add(c)
        return text, done

    def unapplied(self) -> list[Correction]:
        return [c for c in self.entries if c not in self.applied]


def _fail(path: Path, line: int | None, message: str) -> CatalogueError:
    return CatalogueError(path, line, message)


def _entry(path: Path, code: str, node: yaml.Node, value: Any) -> Correction:
    line = node.start_mark.line + 1
    if not isinstance(value, dict):
        raise _fail(path, line, f"{code}: expected field, seed, fix and why")
    missing = [k for k in ("field", "seed", "fix", "why") if not str(value.get(k) or "").strip()]
    if missing:
        raise _fail(path, line, f"{code}: missing {', '.join(missing)}")
    extra = set(value) - {"field", "seed", "fix", "why"}
    if extra:
        raise _fail(path, line, f"{code}: unknown keys {', '.join(sorted(extra))}")
    name = str(value["field"])
    allowed = (
        ITEM_FIELDS if code.startswith("O") else ACTIVITY_FIELDS if "." in code else ("title",)
    )
    if name not in allowed:
        raise _fail(path, line, f"{code}: cannot correct {name!r}; one of {', '.join(allowed)}")
    seed, fix = str(value["seed"]), str(value["fix"])
    if norm(seed) == norm(fix) and seed.split() == fix.split():
        raise _fail(path, line, f"{code}: the fix is the seed's text")
    return Correction(code, name, seed, fix, str(value["why"]), line)


def load_corrections(path: Path = DEFAULT_CORRECTIONS) -> Corrections:
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except OSError as exc:
        raise _fail(path, None, f"cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise _fail(path, mark.line + 1 if mark else None, f"not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise _fail(path, 1, "expected a mapping with document and corrections")
    doc = data.get("document") or {}
    table = Corrections(
        source_label(path),
        doc.get("organisation"),
        int(doc["fiscal_year"]) if doc.get("fiscal_year") else None,
    )
    nodes = {k.value: v for k, v in root.value}
    by_code = nodes.get("corrections")
    if not isinstance(by_code, yaml.MappingNode):
        raise _fail(path, 1, "corrections: expected a mapping of item codes")
    for key_node, list_node in by_code.value:
        code = str(key_node.value)
        if not _CODE.match(code):
            raise _fail(path, key_node.start_mark.line + 1, f"{code!r} is not an item code")
        values = data["corrections"][code]
        if not isinstance(list_node, yaml.SequenceNode) or not isinstance(values, list):
            raise _fail(path, key_node.start_mark.line + 1, f"{code}: expected a list")
        for node, value in zip(list_node.value, values, strict=True):
            table.entries.append(_entry(path, code, node, value))
    return table


def no_corrections() -> Corrections:
    return Corrections("no corrections", None, None)


# -- contradictions --------------------------------------------------------------------------

# the last of these words in a title names the period the item reports on
_TITLE_PERIODS = (
    ("รายเดือน", (FrequencyKind.MONTHLY,)),
    ("รายไตรมาส", (FrequencyKind.QUARTERLY,)),
    ("รอบ๖เดือน", (FrequencyKind.SEMIANNUAL,)),
    ("รอบ6เดือน", (FrequencyKind.SEMIANNUAL,)),
    ("ประจำปี", (FrequencyKind.YEARLY, FrequencyKind.AT_LEAST_YEARLY)),
)


def _title_period(title: str) -> tuple[str, tuple[FrequencyKind, ...]] | None:
    text = norm(title)
    best: tuple[int, str, tuple[FrequencyKind, ...]] | None = None
    for word, kinds in _TITLE_PERIODS:
        at = text.rfind(word)
        if at >= 0 and (best is None or at > best[0]):
            best = (at, word, kinds)
    return None if best is None else (best[1], best[2])


def fiscal_quarter(month: int, fy_offset: int = 0) -> int:
    """ไตรมาส of a month counted from the fiscal year's October (Oct–Dec is 1)."""
    return ((month - 10) % 12) // 3 + 1 + 4 * fy_offset


def contradictions(cat: Catalogue) -> list[tuple[str, str]]:
    """What the catalogue says against itself: ``(code, message)`` pairs."""
    found: list[tuple[str, str]] = []
    for it in cat.items:
        hit = _title_period(it.title)
        if hit is not None and it.frequency.kind not in hit[1]:
            found.append(
                (
                    it.code,
                    f'the title says "{hit[0]}" but the frequency is '
                    f'"{it.frequency.phrase or it.frequency.kind.value}"',
                )
            )
    for a in cat.activities:
        due_q = fiscal_quarter(a.due.month, a.due.fy_offset)
        if a.report_quarter < due_q:
            month = MONTH_ABBR[a.due.month - 1]
            found.append(
                (
                    a.code,
                    f"due in {month} (ไตรมาส {to_thai_digits(due_q)}) but reported in "
                    f"ไตรมาส {to_thai_digits(a.report_quarter)}, before it is due",
                )
            )
    for kind, entries in (("items", cat.items), ("activities", cat.activities)):
        seen: dict[str, str] = {}
        for e in entries:
            first = seen.setdefault(norm(e.title), e.code)
            if first != e.code:
                found.append((e.code, f"has the same title as {first} ({kind} must differ)"))
    return found
