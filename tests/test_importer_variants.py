"""Any office's document: variants of the seed (tests/fixtures/seed_variants.yaml).

Each variant changes a line or two of the seed the way another office's document
does; what can be read imports (with every choice reported), what cannot fails with
file, line and reason and imports nothing.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.catalogue.importer import ImportResult, import_seed
from bot.catalogue.loader import CatalogueError
from bot.catalogue.schema import Catalogue
from bot.domain import FrequencyKind, Stage
from bot.holiday_table import load_holiday_table
from bot.schedule.policy import SchedulePolicy
from bot.schedule.rules import plan_activity, plan_item
from bot.schedule.workdays import WorkCalendar

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "data" / "seed" / "000_c89b0b1080fe7d54.txt"
FIXTURES = REPO / "tests" / "fixtures"
VARIANTS: dict[str, dict[str, Any]] = yaml.safe_load(
    (FIXTURES / "seed_variants.yaml").read_text(encoding="utf-8")
)


def build(name: str, tmp_path: Path) -> Path:
    """The seed with the variant's changes, written to ``<tmp>/<name>.txt``."""
    spec = VARIANTS[name]
    lines = SEED.read_text(encoding="utf-8").split("\n")
    for change in spec.get("changes", []):
        first, last = change.get("lines", [change.get("line"), change.get("line")])
        for n in range(first, last + 1):
            assert change["from"] in lines[n - 1], f"{name}: line {n} lacks {change['from']!r}"
            lines[n - 1] = lines[n - 1].replace(change["from"], change["to"])
    if "keep_lines" in spec:
        lines = lines[: spec["keep_lines"]]
    path = tmp_path / f"{name}.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def variant(name: str, tmp_path: Path) -> ImportResult:
    return import_seed(build(name, tmp_path))


def fails(name: str, tmp_path: Path, line: int, *needles: str) -> None:
    path = build(name, tmp_path)
    with pytest.raises(CatalogueError) as info:
        import_seed(path)
    err = info.value
    assert err.path == str(path) and err.line == line, str(err)
    assert str(err).startswith(f"{path}:{line}: ")
    for needle in needles:
        assert needle in err.message, err.message


@pytest.fixture(scope="module")
def seed() -> Catalogue:
    return import_seed(SEED).catalogue


def same_but(
    cat: Catalogue, seed: Catalogue, *, items: frozenset[str] | set[str] = frozenset()
) -> None:
    """``cat`` is the seed's catalogue except for ``items`` and the given fields."""
    keep = {"source": None}
    assert [i for i in cat.items if i.code not in items] == [
        i for i in seed.items if i.code not in items
    ]
    assert cat.model_copy(update={**keep, "items": ()}) == seed.model_copy(
        update={**keep, "items": ()}
    )


def test_every_variant_has_a_test() -> None:
    tested = {n.removeprefix("test_") for n in globals() if n.startswith("test_")}
    assert set(VARIANTS) <= tested


# -- what imports --------------------------------------------------------------------------


def test_item_number_O1(tmp_path: Path, seed: Catalogue) -> None:
    same_but(variant("item_number_O1", tmp_path).catalogue, seed)


def test_item_number_o1(tmp_path: Path, seed: Catalogue) -> None:
    same_but(variant("item_number_o1", tmp_path).catalogue, seed)


def test_item_number_arabic(tmp_path: Path, seed: Catalogue) -> None:
    same_but(variant("item_number_arabic", tmp_path).catalogue, seed)


def test_row_aligned_with_spaces(tmp_path: Path, seed: Catalogue) -> None:
    same_but(variant("row_aligned_with_spaces", tmp_path).catalogue, seed)


def test_a_whole_document_aligned_with_spaces(seed: Catalogue) -> None:
    """The seed with every tab replaced by the spaces that line its columns up."""
    path = FIXTURES / "seed_space_aligned.txt"
    assert "\t" not in path.read_text(encoding="utf-8")
    result = import_seed(path)
    same_but(result.catalogue, seed)
    assert len(result.corrections) == len(import_seed(SEED).corrections)


def test_two_roles_in_a_cell(tmp_path: Path, seed: Catalogue) -> None:
    result = variant("two_roles_in_a_cell", tmp_path)
    o4 = result.catalogue.item("O4")
    assert o4 is not None
    assert o4.prepare == "policy_analyst"  # the first is accountable (and reminded)
    assert o4.co_roles == {Stage.PREPARE: ("legal_officer",)}
    assert (
        "O4: prepare names 2 roles: policy_analyst is accountable, legal_officer kept as co_roles"
        in {str(f) for f in result.fixes}
    )
    same_but(result.catalogue, seed, items={"O4"})


def test_fourth_role_column(tmp_path: Path, seed: Catalogue) -> None:
    cat = variant("fourth_role_column", tmp_path).catalogue
    for n in range(1, 15):
        it = cat.item(f"O{n}")
        assert it is not None and it.collect == "head_of_office", n
        assert it.co_roles == {Stage.COLLECT: ("head",)}, n
    assert all(not it.co_roles for it in cat.items[14:])  # the next page has three columns
    same_but(cat, seed, items={f"O{n}" for n in range(1, 15)})


def test_quarterly_frequency(tmp_path: Path, seed: Catalogue) -> None:
    result = variant("quarterly_frequency", tmp_path)
    o15 = result.catalogue.item("O15")
    assert o15 is not None and o15.frequency.kind is FrequencyKind.QUARTERLY
    assert o15.frequency.phrase == "รายไตรมาส"
    same_but(result.catalogue, seed, items={"O15"})
    cal = WorkCalendar.government(range(2025, 2029), load_holiday_table())
    plans = plan_item(o15, 2570, cal, SchedulePolicy())
    assert [p.period.key for p in plans] == ["2570Q1", "2570Q2", "2570Q3", "2570Q4"]
    # the default: the 15th of the month after the quarter, back to a working day
    assert [p.nominal_due for p in plans] == [
        date(2027, 1, 15),
        date(2027, 4, 15),
        date(2027, 7, 15),
        date(2027, 10, 15),
    ]
    assert all(p.due <= p.nominal_due and cal.is_working_day(p.due) for p in plans)
    later = plan_item(o15, 2570, cal, SchedulePolicy(quarterly_due_day=30))
    assert later[0].nominal_due == date(2027, 1, 30)  # configurable


def test_due_in_the_next_october(tmp_path: Path, seed: Catalogue) -> None:
    result = variant("due_in_the_next_october", tmp_path)
    m12 = result.catalogue.activity("M1.2")
    assert m12 is not None and (m12.due.month, m12.due.fy_offset) == (10, 1)
    assert result.catalogue.fiscal_year == 2565
    cal = WorkCalendar.government(range(2025, 2029), load_holiday_table())
    assert plan_activity(m12, 2570, cal, SchedulePolicy()).nominal_due == date(2027, 10, 31)
    # reported in ไตรมาส ๔ of the year before it is due: said, not silently kept
    assert any(
        w.where == "M1.2" and "reported in ไตรมาส ๔, before it is due" in w.message
        for w in result.warnings
    )


def test_due_within_days(tmp_path: Path, seed: Catalogue) -> None:
    m11 = variant("due_within_days", tmp_path).catalogue.activity("M1.1")
    assert m11 is not None
    assert (m11.within_days, m11.due.month, m11.due_phrase) == (30, 10, "ภายใน ๓๐ วัน")
    cal = WorkCalendar.government(range(2025, 2029), load_holiday_table())
    planned = plan_activity(m11, 2570, cal, SchedulePolicy())
    assert planned.nominal_due == date(2026, 10, 31)  # 1 October + 30 days
    assert planned.due == date(2026, 10, 30)  # a Saturday: the Friday before


def test_due_month_range(tmp_path: Path, seed: Catalogue) -> None:
    m11 = variant("due_month_range", tmp_path).catalogue.activity("M1.1")
    assert m11 is not None and m11.starts is not None
    assert (m11.starts.month, m11.starts.fy_offset, m11.due.month) == (10, 0, 5)
    assert m11.due_phrase == "ต.ค.๖๔ – พ.ค.๖๕"


def test_due_whole_year(tmp_path: Path, seed: Catalogue) -> None:
    m12 = variant("due_whole_year", tmp_path).catalogue.activity("M1.2")
    assert m12 is not None and m12.starts is not None
    assert (m12.starts.month, m12.due.month, m12.due_phrase) == (10, 9, "ตลอดปีงบประมาณ")


def test_tessaban(tmp_path: Path, seed: Catalogue) -> None:
    result = variant("tessaban", tmp_path)
    assert result.catalogue.organisation == "เทศบาลตำบลบางไทรป่า"
    # the corrections are อบต.บางไทรป่า's: not applied, so its contradictions are warned of
    assert result.corrections == []
    warned = {w.where for w in result.warnings}
    assert {"O22", "M1.1", "M1.2", "M1.3"} <= warned


def test_ongkan_changwat(tmp_path: Path) -> None:
    cat = variant("ongkan_changwat", tmp_path).catalogue
    assert cat.organisation == "องค์การบริหารส่วนจังหวัดนนทบุรี"
    assert cat.find_role("นายก อบจ.") == cat.head_role


# -- what cannot be read --------------------------------------------------------------------


def test_continuation_aligned_with_spaces(tmp_path: Path) -> None:
    fails("continuation_aligned_with_spaces", tmp_path, 31, "aligned with spaces", "5 cells")


def test_unreadable_due(tmp_path: Path) -> None:
    fails("unreadable_due", tmp_path, 30, "cannot read the due date", "ภายในสิ้นปี")


def test_truncated(tmp_path: Path) -> None:
    fails("truncated", tmp_path, 59, "expected 43 items", "found 6", "cut short")
