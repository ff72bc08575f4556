"""Turn the seed document (text extracted from a PDF) into a clean catalogue.

The seed is dirty input (see the brief).  :mod:`bot.catalogue.seedreader` makes one
pass over its lines and keeps every cell as written; this module then reads the
fields, with the document's own mistakes corrected from ``data/corrections.yaml``,
checks the result against itself and against the edition's item count, and lists
every repair, every correction and every contradiction it could not resolve.  The
spelling tables (roles, frequency phrases, columns, look-alike characters) are data
in ``data/aliases.yaml``, not code.

``import_seed`` either returns a complete result or raises :class:`CatalogueError`
naming the file and line; it reads its input files and does nothing else.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.catalogue.aliases import DEFAULT_ALIASES, Aliases, load_aliases, source_label
from bot.catalogue.corrections import (
    DEFAULT_CORRECTIONS,
    Corrections,
    contradictions,
    load_corrections,
    no_corrections,
)
from bot.catalogue.loader import CatalogueError, dump_catalogue
from bot.catalogue.schema import (
    Activity,
    Catalogue,
    Frequency,
    Item,
    Measure,
    MonthRef,
    default_reports_on,
)
from bot.catalogue.seeddrafts import COLUMN_NAMES, ActivityDraft, Fix, ItemDraft, MeasureDraft
from bot.catalogue.seedreader import SeedReader
from bot.catalogue.seedtext import DueText, clean_field, norm
from bot.domain import CHAIN
from bot.domain.fiscal import fiscal_year, fy_start
from bot.domain.thai import ce_year, to_thai_digits

__all__ = [
    "DEFAULT_ALIASES",
    "DEFAULT_CORRECTIONS",
    "Fix",
    "ImportResult",
    "import_seed",
    "render_catalogue",
]


@dataclass
class ImportResult:
    catalogue: Catalogue
    fixes: list[Fix]  # mechanical repairs of the source
    corrections: list[Fix] = field(default_factory=list)  # from the corrections table
    warnings: list[Fix] = field(default_factory=list)  # contradictions nobody resolved
    corrections_label: str = "no corrections"

    def report(self) -> list[str]:
        """Every fix, correction and warning, one line each, for the import's output."""
        return (
            [f"fixed: {f}" for f in self.fixes]
            + [f"corrected: {f}" for f in self.corrections]
            + [f"warning: {f}" for f in self.warnings]
        )


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _fiscal_year_of(be_year: int, month: int) -> int:
    return fiscal_year(date(ce_year(be_year), month, 1))


class _Finisher:
    """From the drafts of one pass to the catalogue, with the corrections applied."""

    def __init__(self, reader: SeedReader, corrections: Corrections) -> None:
        self.r = reader
        self.table = corrections
        self.corrected: list[Fix] = []
        self.warnings: list[Fix] = []

    def correct(self, code: str, name: str, line: int, text: str) -> str:
        text, done = self.table.apply(code, name, text)
        for c in done:
            if (fix := Fix(line, code, c.describe())) not in self.corrected:
                self.corrected.append(fix)  # once a line, however many steps it corrects
        return text

    # -- the fiscal year ------------------------------------------------------------------
    def fiscal_year(self) -> int:
        """The year the document states most often, else the first its due months lie in."""
        dated = [
            (a.due_line, a.due_text, _fiscal_year_of(*ym))
            for m in self.r.measures.values()
            for a in m.activities
            for ym in a.due.months
        ]
        stated = Counter(y for _, y in self.r.stated_years)
        if stated:
            top = max(stated.values())
            fy = max(y for y, k in stated.items() if k == top)
        elif dated:
            fy = min(y for *_, y in dated)
        else:
            raise self.r.error(
                None, "cannot tell the fiscal year: no ประจำปีงบประมาณ and no due month (กำหนดเสร็จ)"
            )
        for line, text, year in dated:
            if year - fy not in (0, 1):
                raise self.r.error(
                    line,
                    f"due date {text!r} is in fiscal year {year}, but the document is for fiscal "
                    f"year {fy}: dates must lie in it or in the first months after it",
                )
        agree = [n for n, y in self.r.stated_years if y == fy]
        for line, year in self.r.stated_years:
            if year != fy:
                lines = ", ".join(map(str, agree)) or "its due months"
                self.warnings.append(
                    Fix(
                        line,
                        f"line {line}",
                        f"says ประจำปีงบประมาณ พ.ศ. {to_thai_digits(year)}, but lines {lines} say "
                        f"{to_thai_digits(fy)}: imported as fiscal year {fy}",
                    )
                )
        return fy

    # -- items ------------------------------------------------------------------------------
    def item(self, d: ItemDraft) -> Item:
        line, text = d.fields("title")[0]
        title, notes = clean_field(text, "title")
        self.r.fix(line, d.code, notes)
        title = self.correct(d.code, "title", line, title)
        if not title:
            raise self.r.error(d.line, f"{d.code}: empty {COLUMN_NAMES['title']} cell")
        roles: dict[str, str] = {}
        co_roles: dict[str, tuple[str, ...]] = {}
        for stage in CHAIN:
            keys: list[str] = []
            for line, text in d.fields(stage):
                if not text:
                    continue
                text = self.correct(d.code, stage.value, line, text)
                found, notes = self.r.roles(line, text, COLUMN_NAMES[stage])
                self.r.fix(line, d.code, notes)
                keys += [k for k in found if k not in keys]
            if not keys:
                raise self.r.error(d.line, f"{d.code}: empty {COLUMN_NAMES[stage]} cell")
            roles[stage.value] = keys[0]
            if len(keys) > 1:
                co_roles[stage.value] = tuple(keys[1:])
                self.r.fix(
                    d.fields(stage)[0][0],
                    d.code,
                    [f"{stage.value} names {len(keys)} roles: {keys[0]} is accountable, "
                     f"{', '.join(keys[1:])} kept as co_roles"],
                )  # fmt: skip
        line, text = d.fields("frequency")[0]
        phrase, notes = clean_field(text, "frequency")
        self.r.fix(line, d.code, notes)
        phrase = self.correct(d.code, "frequency", line, phrase)
        kind = self.r.aliases.frequencies.get(norm(phrase))
        if kind is None:
            raise self.r.error(
                line,
                f"{d.code}: unknown frequency {phrase!r}; add the phrase to frequencies in {self.r.aliases.label}",
            )
        return Item(
            code=d.code,
            title=title,
            frequency=Frequency(kind=kind, phrase=phrase),
            co_roles=co_roles,
            reports_on=default_reports_on(title, kind),
            **roles,
        )

    def check_count(self, fy: int, expect_items: int | bool) -> None:
        items = self.r.items
        numbers = sorted(items)
        for before, after in pairwise(numbers):
            if after != before + 1:
                missing = f"O{before + 1}" + (f"–O{after - 1}" if after > before + 2 else "")
                raise self.r.error(
                    items[after].line,
                    f"{missing} missing: the table goes from O{before} (line "
                    f"{items[before].line}) to O{after}",
                )
        if numbers[0] != 1:
            raise self.r.error(items[numbers[0]].line, f"the table starts at O{numbers[0]}, not O1")
        expected = (
            expect_items
            if not isinstance(expect_items, bool)
            else self.r.aliases.item_counts.get(fy)
            if expect_items
            else None
        )
        if expected is not None and len(numbers) != expected:
            last = items[numbers[-1]]
            raise self.r.error(
                last.line,
                f"expected {expected} items (the ITA {fy} numbering, item_counts in "
                f"{self.r.aliases.label}), found {len(numbers)}: the table ends at {last.code}"
                + (" — is the document cut short?" if len(numbers) < expected else ""),
            )

    # -- measures ---------------------------------------------------------------------------
    def due_fields(self, a: ActivityDraft, due: DueText, text: str, fy: int) -> dict[str, Any]:
        def ref(ym: tuple[int, int]) -> MonthRef:
            offset = _fiscal_year_of(*ym) - fy
            if offset not in (0, 1):
                raise self.r.error(
                    a.due_line, f"{a.code}: due date {text!r} is outside fiscal year {fy}"
                )
            return MonthRef(month=ym[1], fy_offset=offset)

        phrase = " ".join(text.split())
        if due.whole_year:
            return {"due": MonthRef(month=9), "starts": MonthRef(month=10), "due_phrase": phrase}
        if due.within_days is not None:
            day = fy_start(fy) + timedelta(days=due.within_days)
            month = MonthRef(month=day.month, fy_offset=fiscal_year(day) - fy)
            return {"due": month, "within_days": due.within_days, "due_phrase": phrase}
        assert due.end is not None
        if due.start is None:
            return {"due": ref(due.end)}
        return {"due": ref(due.end), "starts": ref(due.start), "due_phrase": phrase}

    def activity(self, a: ActivityDraft, fy: int) -> Activity:
        title, notes = clean_field(a.title, "title")
        self.r.fix(a.line, a.code, notes)
        title = self.correct(a.code, "title", a.line, title)
        steps = tuple(self.correct(a.code, "steps", line, s) for line, s in a.steps)
        keys: list[tuple[int, str]] = []
        for line, text in a.responsible:
            text = self.correct(a.code, "responsible", line, text)
            key, notes = self.r.role(line, text, "ผู้รับผิดชอบ")
            self.r.fix(line, a.code, notes)
            if keys and key != keys[0][1]:
                raise self.r.error(
                    line, f"{a.code}: ผู้รับผิดชอบ is {key} here but {keys[0][1]} on line {keys[0][0]}"
                )
            keys.append((line, key))
        due_text = self.correct(a.code, "due", a.due_line, a.due_text)
        due = a.due if due_text == a.due_text else self.r.due(a.due_line, due_text)
        quarter_text = self.correct(a.code, "report_quarter", a.quarter_line, a.quarter_text)
        quarter = (
            a.quarter
            if quarter_text == a.quarter_text
            else self.r.quarter(a.quarter_line, quarter_text)
        )
        return Activity(
            code=a.code,
            title=title,
            steps=steps,
            responsible=keys[0][1],
            report_quarter=quarter,
            **self.due_fields(a, due, due_text, fy),
        )

    def measure(self, m: MeasureDraft, fy: int) -> Measure:
        title, notes = clean_field(m.title, "title")
        self.r.fix(m.line, m.code, notes)
        title = self.correct(m.code, "title", m.line, title)
        return Measure(
            code=m.code, title=title, activities=tuple(self.activity(a, fy) for a in m.activities)
        )

    # -- the whole -------------------------------------------------------------------------
    def line_of(self, code: str) -> int:
        if code.startswith("O") and (d := self.r.items.get(int(code[1:]))) is not None:
            return d.line
        for m in self.r.measures.values():
            if m.code == code:
                return m.line
            for a in m.activities:
                if a.code == code:
                    return a.line
        return 0

    def catalogue(self, source: str, edition: str | None, expect_items: int | bool) -> Catalogue:
        if not self.r.items:
            raise self.r.error(None, "no responsibility table (ที่ / ประเภทข้อมูล / ผู้รับผิดชอบ …) found")
        fy = self.fiscal_year()
        if not self.table.matches(self.r.organisation, fy):
            if self.table.label != source_label(DEFAULT_CORRECTIONS):
                self.warnings.append(
                    Fix(0, "corrections", f"{self.table.label} is for {self.table.organisation} "
                        f"FY {self.table.fiscal_year}: not applied")
                )  # fmt: skip
            self.table = no_corrections()
        items = [self.item(d) for d in self.r.items.values()]
        measures = [self.measure(m, fy) for m in self.r.measures.values()]
        self.check_count(fy, expect_items)
        try:
            cat = Catalogue(
                edition=edition or f"ITA {fy} (OIT {fy - 1}–{fy} numbering)",
                fiscal_year=fy,
                source=source,
                organisation=self.r.organisation,
                roles=self.r.aliases.roles,
                items=tuple(items),
                measures=tuple(measures),
            )
        except ValidationError as exc:
            raise self.r.error(
                None, f"the imported catalogue is invalid: {exc.errors()[0]['msg']}"
            ) from None
        for c in self.table.unapplied():
            self.warnings.append(
                Fix(self.line_of(c.code), c.code,
                    f'correction not applied: its {c.field} does not read "{c.seed}" '
                    f"({self.table.label}, line {c.line})")
            )  # fmt: skip
        for code, message in contradictions(cat):
            self.warnings.append(Fix(self.line_of(code), code, message))
        return cat


# -- public API -------------------------------------------------------------------------------


def import_seed(
    path: str | Path,
    *,
    aliases: str | Path = DEFAULT_ALIASES,
    corrections: str | Path | None = DEFAULT_CORRECTIONS,
    edition: str | None = None,
    expect_items: int | bool = True,
) -> ImportResult:
    """Parse the seed document into a catalogue plus the list of repairs made on the way.

    ``corrections``: the table of the document's own mistakes (None: none).
    ``expect_items``: True checks the item count of the edition's numbering
    (``item_counts`` in the alias tables), a number checks that count, False neither."""
    seed = Path(path)
    tables: Aliases = load_aliases(Path(aliases))
    table = load_corrections(Path(corrections)) if corrections is not None else no_corrections()
    try:
        text = seed.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CatalogueError(seed, None, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CatalogueError(seed, None, "not UTF-8 text") from None
    reader = SeedReader(seed, tables)
    reader.read(text)
    finisher = _Finisher(reader, table)
    catalogue = finisher.catalogue(source_label(seed), edition, expect_items)
    return ImportResult(
        catalogue,
        sorted(reader.fixes, key=lambda f: f.line),
        sorted(finisher.corrected, key=lambda f: f.line),
        sorted(finisher.warnings, key=lambda f: f.line),
        finisher.table.label,
    )


def render_catalogue(result: ImportResult) -> str:
    """The catalogue YAML, with a short header; deterministic (no dates, no absolute paths)."""
    counts = f"{len(result.fixes)} repairs of the source"
    if result.corrections:
        counts += f", {len(result.corrections)} corrections from {result.corrections_label}"
    if result.warnings:
        counts += f", {plural(len(result.warnings), 'warning')}"
    header = (
        "# Generated by `python -m bot catalogue import` "
        f"from {result.catalogue.source or 'a seed document'}\n"
        f"# ({counts}; the importer lists them).\n"
        "# Edit freely; validated on load.\n\n"
    )
    return dump_catalogue(result.catalogue, header=header)
