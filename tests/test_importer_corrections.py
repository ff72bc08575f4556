"""The seed's own mistakes, fixed in the open (data/corrections.yaml), and import safety."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.catalogue.corrections import DEFAULT_CORRECTIONS, load_corrections
from bot.catalogue.importer import ImportResult, import_seed, render_catalogue
from bot.catalogue.loader import SHIPPED_CATALOGUE, CatalogueError
from bot.cli import main
from bot.clock import FakeClock
from bot.config import Settings

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "data" / "seed" / "000_c89b0b1080fe7d54.txt"
SEED_ARG = "data/seed/000_c89b0b1080fe7d54.txt"


@pytest.fixture(scope="module")
def result() -> ImportResult:
    return import_seed(SEED)


@pytest.fixture(scope="module")
def uncorrected() -> ImportResult:
    return import_seed(SEED, corrections=None)


def where(result: ImportResult, code: str) -> list[str]:
    return [f.message for f in result.corrections if f.where == code]


def test_every_correction_is_applied_and_listed(result: ImportResult) -> None:
    table = load_corrections(DEFAULT_CORRECTIONS)
    assert len(table.entries) >= 30
    assert not [w for w in result.warnings if "correction not applied" in w.message]
    listed = {f.message for f in result.corrections}
    assert {c.describe() for c in table.entries} == listed
    lines = SEED.read_text(encoding="utf-8").split("\n")
    for fix in result.corrections:  # each at the line of the text it corrected
        row = lines[fix.line - 1]
        if fix.where.startswith("O"):
            thai = "".join("๐๑๒๓๔๕๖๗๘๙"[int(d)] for d in fix.where[1:])
            assert row.startswith(f"{thai}.\t"), str(fix)
        else:
            assert "\t" in row, str(fix)


def test_the_issues_mistakes_are_corrected(result: ImportResult) -> None:
    cat = result.catalogue
    o26, o22 = cat.item("O26"), cat.item("O22")
    assert o26 is not None and o26.title == "การดำเนินการตามนโยบายการบริหารทรัพยากรบุคคล"
    assert o22 is not None and not o22.title.endswith("รายเดือน")
    m11 = cat.activity("M1.1")
    assert m11 is not None and (m11.due.month, m11.report_quarter) == (5, 3)
    titles = [a.title for a in cat.activities]
    assert len(set(titles)) == len(titles) == 4
    text = render_catalogue(result)
    for gap in ("อบต.บาง ไทรป่า", "ต่อ สาธารณะ", "มองเห็น ได้", "การปฏิบัติ หน้าที่"):
        assert gap not in text
    gaps = [f for f in result.corrections if "line wrap" in f.message]
    assert len(gaps) >= 25
    # ทุกหน่วยงาน: corrected in the open, in both of M2.1's rows
    renamed = [f for f in result.corrections if f.where == "M2.1" and "responsible" in f.message]
    assert [f.line for f in renamed] == [43, 46]
    assert "ทุกกอง" in renamed[0].message
    m21 = cat.activity("M2.1")
    assert m21 is not None and m21.responsible == "all_divisions"


def test_without_corrections_every_contradiction_is_a_warning(uncorrected: ImportResult) -> None:
    warned = {(w.where, w.line): w.message for w in uncorrected.warnings}
    assert "before it is due" in warned[("M1.1", 30)]
    assert "same title as M1.1" in warned[("M1.2", 31)]
    assert "same title as M1.1" in warned[("M1.3", 32)]
    assert "รายเดือน" in warned[("O22", 81)]
    assert uncorrected.corrections == []


def test_the_cover_page_contradiction_is_a_warning(result: ImportResult) -> None:
    (warning,) = result.warnings  # the seed's cover says FY 2564, the report 2565
    assert warning.line == 12 and "๒๕๖๔" in warning.message and "2565" in warning.message
    assert result.catalogue.fiscal_year == 2565


def test_a_correction_that_no_longer_matches_is_a_warning(tmp_path: Path) -> None:
    table = tmp_path / "corrections.yaml"
    text = DEFAULT_CORRECTIONS.read_text(encoding="utf-8")
    table.write_text(text.replace('seed: "การจัดหาพัสดุรายเดือน"', 'seed: "ไม่มีข้อความนี้"'))
    res = import_seed(SEED, corrections=table)
    (miss,) = [w for w in res.warnings if "not applied" in w.message]
    assert miss.where == "O22" and miss.line == 81 and "ไม่มีข้อความนี้" in miss.message
    assert "corrections.yaml, line" in miss.message
    # and the contradiction it was meant to resolve is back, as a warning
    assert any(w.where == "O22" and "รายเดือน" in w.message for w in res.warnings)


def test_a_table_for_another_document_is_not_applied(tmp_path: Path) -> None:
    other = tmp_path / "tessaban.txt"
    other.write_text(
        SEED.read_text(encoding="utf-8").replace(
            "องค์การบริหารส่วนตำบลบางไทรป่า\n", "เทศบาลตำบลบางไทรป่า\n", 1
        ),
        encoding="utf-8",
    )
    assert import_seed(other).corrections == []  # the default table: not this document's
    table = tmp_path / "corrections.yaml"
    table.write_text(DEFAULT_CORRECTIONS.read_text(encoding="utf-8"), encoding="utf-8")
    res = import_seed(other, corrections=table)  # named explicitly: say why it did nothing
    assert res.corrections == []
    assert any(w.where == "corrections" and "not applied" in w.message for w in res.warnings)


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("  O26:\n", "  X26:\n", "not an item code"),
        ('      why: "garbled', '      wy: "garbled', "missing why"),
        (
            '    - field: title\n      seed: "การจัดหา',
            '    - field: colour\n      seed: "การจัดหา',
            "cannot correct 'colour'",
        ),
    ],
)
def test_a_malformed_table_names_its_file_and_line(
    tmp_path: Path, old: str, new: str, needle: str
) -> None:
    text = DEFAULT_CORRECTIONS.read_text(encoding="utf-8")
    assert old in text
    table = tmp_path / "corrections.yaml"
    table.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CatalogueError) as info:
        import_seed(SEED, corrections=table)
    assert info.value.path == str(table) and info.value.line and needle in info.value.message


# -- the command line ----------------------------------------------------------------------


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    clock = FakeClock(datetime(2026, 11, 26, 3, 0, tzinfo=UTC))
    code = main(argv, settings=Settings(_env_file=None), clock=clock)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_documented_command_reproduces_the_shipped_catalogue(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m bot catalogue import data/seed/…` as README says, in the repository."""
    monkeypatch.chdir(REPO)
    before = SHIPPED_CATALOGUE.read_bytes()
    code, _, err = run(["catalogue", "import", SEED_ARG], capsys)
    assert code == 0, err
    assert "already holds this catalogue: unchanged" in err
    assert SHIPPED_CATALOGUE.read_bytes() == before
    assert "corrected: O26: title:" in err and "corrected: M1.1: report_quarter:" in err
    assert "warning: line 12:" in err
    assert err.count("\ncorrected: ") + err.startswith("corrected: ") == len(
        import_seed(SEED).corrections
    )


def test_import_never_overwrites_without_force_and_keeps_a_backup(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "cat.yaml"
    out.write_text("# an office's own edits\n", encoding="utf-8")
    code, _, err = run(["catalogue", "import", str(SEED), "--out", str(out)], capsys)
    assert code == 1 and "not overwritten (use --force" in err
    assert out.read_text(encoding="utf-8") == "# an office's own edits\n"
    code, _, err = run(["catalogue", "import", str(SEED), "--out", str(out), "--force"], capsys)
    assert code == 0
    assert out.read_text(encoding="utf-8") == SHIPPED_CATALOGUE.read_text(encoding="utf-8")
    (backup,) = tmp_path.glob("cat.yaml.*.bak")
    assert backup.name == "cat.yaml.20261126-100000.bak"  # the time in Bangkok
    assert backup.read_text(encoding="utf-8") == "# an office's own edits\n"
    assert str(backup) in err


def test_a_truncated_document_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    short = tmp_path / "short.txt"
    short.write_text("\n".join(SEED.read_text(encoding="utf-8").split("\n")[:59]), "utf-8")
    out = tmp_path / "cat.yaml"
    code, _, err = run(["catalogue", "import", str(short), "--out", str(out)], capsys)
    assert code == 1 and "expected 43 items" in err and "found 6" in err
    assert f"{short}:59:" in err
    assert not out.exists()
    code, _, _ = run(["catalogue", "import", str(short), "--out", str(out), "--items", "6"], capsys)
    assert code == 0 and out.exists()  # a document that is known to be partial
