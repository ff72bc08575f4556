"""The command line: calendar output and catalogue import/check."""

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.catalogue.loader import SHIPPED_CATALOGUE
from bot.cli import main
from bot.clock import FakeClock
from bot.config import Settings

SEED = Path("data/seed/000_c89b0b1080fe7d54.txt")


def run(
    argv: list[str], capsys: pytest.CaptureFixture[str], now: datetime | None = None
) -> tuple[int, str, str]:
    clock = FakeClock(now or datetime(2026, 11, 26, 3, 0, tzinfo=UTC))
    # no database: the government calendar alone (an office's own days: test_cli_holidays)
    settings = Settings(_env_file=None, database_url="sqlite+aiosqlite:///no/such/bot.db")
    code = main(argv, settings=settings, clock=clock)
    out = capsys.readouterr()
    return code, out.out, out.err


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_lists_every_item_and_activity_with_deadlines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(["calendar", "--fy", "2570", "--format", "csv"], capsys)
    assert code == 0
    table = rows(out)
    assert list(table[0])[:5] == ["item", "period", "stage", "role", "due_date"]
    items = {r["item"] for r in table}
    assert {f"O{n}" for n in range(1, 44)} <= items
    assert {"M1.1", "M1.2", "M1.3", "M2.1"} <= items
    assert {r["stage"] for r in table} == {"prepare", "collect", "publish", "confirm"}
    o10 = {r["stage"]: r for r in table if r["item"] == "O10"}
    assert o10["publish"]["due_date"] == "2026-12-30"  # 31 Dec is วันสิ้นปี
    assert o10["collect"]["due_date"] == "2026-12-28"
    assert o10["prepare"]["due_date"] == "2026-12-23"
    assert o10["prepare"]["role"] == "นักวิเคราะห์นโยบายและแผน"
    assert o10["publish"]["role"] == "เจ้าพนักงานธุรการ"
    o23 = [r for r in table if r["item"] == "O23" and r["stage"] == "publish"]
    assert len(o23) == 12
    assert o23[-1]["period"] == "2570M09" and o23[-1]["due_date"] == "2027-10-08"
    m11 = [r for r in table if r["item"] == "M1.1"]
    assert [(r["stage"], r["due_date"], r["role"]) for r in m11] == [
        ("prepare", "2027-05-31", "สำนักปลัด")
    ]
    assert len(table) == 200


def test_default_fiscal_year_is_the_current_one(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(
        ["calendar", "--format", "csv"], capsys, now=datetime(2026, 9, 30, 12, tzinfo=UTC)
    )
    assert {r["period"] for r in rows(out) if r["item"] == "O10"} == {
        "2569"
    }  # 19:00 Bangkok, 30 Sep 2026
    _, out, _ = run(
        ["calendar", "--format", "csv"], capsys, now=datetime(2026, 9, 30, 16, 59, tzinfo=UTC)
    )
    assert {r["period"] for r in rows(out) if r["item"] == "O10"} == {"2569"}
    _, out, _ = run(
        ["calendar", "--format", "csv"], capsys, now=datetime(2026, 9, 30, 17, 0, tzinfo=UTC)
    )
    assert {r["period"] for r in rows(out) if r["item"] == "O10"} == {"2570"}  # 1 Oct 00:00 Bangkok


def test_filters_by_role_name_and_item(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["calendar", "--fy", "2570", "--format", "csv", "--role", "นักวิเคราะห์"], capsys)
    table = rows(out)
    assert table and {r["role"] for r in table} == {"นักวิเคราะห์นโยบายและแผน"}
    _, out, _ = run(["calendar", "--fy", "2570", "--format", "csv", "--item", "o11"], capsys)
    assert {(r["item"], r["period"]) for r in rows(out)} == {("O11", "2570H1"), ("O11", "2570H2")}


def test_bad_role_or_item_is_a_polite_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["calendar", "--role", "นักบินอวกาศ"], capsys)
    assert code == 2 and out == "" and "unknown role" in err
    code, _, err = run(["calendar", "--item", "O99"], capsys)
    assert code == 2 and "unknown item" in err


def test_table_is_thai_with_be_dates(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["calendar", "--fy", "2570", "--item", "O10"], capsys)
    assert code == 0
    assert "ปีงบประมาณ" in out and "๓๐ ธ.ค. ๒๕๖๙" in out and "จัดทำ" in out


def test_ics_writes_one_subscribable_file_per_role(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(
        ["calendar", "--fy", "2570", "--format", "ics", "--out", str(tmp_path)], capsys
    )
    assert code == 0
    files = sorted(p.name for p in tmp_path.glob("*.ics"))
    assert (
        "admin_officer.ics" in files
        and "legal_officer.ics" in files
        and "chief_office.ics" in files
    )
    text = (tmp_path / "policy_analyst.ics").read_bytes().decode("utf-8")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert text.count("BEGIN:VEVENT") == text.count("END:VEVENT") > 0
    assert "DTSTART;VALUE=DATE:20261223" in text  # O10 prepare
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    uids = [line for line in text.split("\r\n") if line.startswith("UID:")]
    assert len(uids) == len(set(uids))
    assert "wrote" in err


def test_catalogue_import_reproduces_the_shipped_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_file = tmp_path / "cat.yaml"
    code, _, err = run(["catalogue", "import", str(SEED), "--out", str(out_file)], capsys)
    assert code == 0
    assert out_file.read_text(encoding="utf-8") == SHIPPED_CATALOGUE.read_text(encoding="utf-8")
    assert "fixed: O22: replaced Devanagari U+0941 U+0930 with Thai" in err
    code, out, _ = run(["catalogue", "check", str(out_file)], capsys)
    assert code == 0 and "43 items" in out


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("prepare: policy_analyst", "prepare: astronaut", 1), "unknown role 'astronaut'"),
        (("kind: monthly", "kind: fortnightly", 1), "frequency.kind"),
        (("code: O11\n", "code: O10\n", 1), "duplicate item number O10"),
    ],
)
def test_catalogue_check_names_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, edit: tuple[str, str, int], expected: str
) -> None:
    text = SHIPPED_CATALOGUE.read_text(encoding="utf-8")
    old, new, count = edit
    assert old in text
    bad = text.replace(old, new, count)
    path = tmp_path / "bad.yaml"
    path.write_text(bad, encoding="utf-8")
    code, _, err = run(["catalogue", "check", str(path)], capsys)
    assert code == 1
    assert f"{path}:" in err and expected in err
    line = int(err.split(f"{path}:")[1].split(":")[0])
    changed = next(
        i
        for i, (a, b) in enumerate(zip(text.splitlines(), bad.splitlines(), strict=True), 1)
        if a != b
    )
    assert abs(line - changed) <= 8  # the error points at the entry that was broken
