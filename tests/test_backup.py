"""``python -m bot backup --out FILE``: a consistent copy of the SQLite database while the
bot writes to it, which restores by pointing DATABASE_URL at it (README, Operations)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import FakeClock
from bot.config import Settings
from tests.test_cli_store import NOW, run, settings_for


def test_backup_while_another_writer_is_busy_then_restore(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = settings_for(tmp_path)
    assert run(["org", "init", "--name", "อบต.บางไทรป่า"], live, capsys)[0] == 0
    assert run(["people", "add", "--name", "สมชาย", "--role", "นิติกร"], live, capsys)[0] == 0
    writer = sqlite3.connect(tmp_path / "bot.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # the running bot, half-way through a unit of work
    writer.execute("UPDATE person SET name = 'ยังไม่บันทึก'")
    try:
        code, _, err = run(["backup", "--out", str(tmp_path / "backups" / "b.db")], live, capsys)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert code == 0 and "backed up" in err and "schema revision" in err
    copy = tmp_path / "backups" / "b.db"
    assert not list(copy.parent.glob(".*.part")) and not Path(f"{copy}-wal").exists()
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one file
    # restore: the copy is a database the bot runs on
    restored = live.model_copy(update={"database_url": f"sqlite+aiosqlite:///{copy}"})
    code, out, _ = run(["people", "list"], restored, capsys)
    assert code == 0 and "สมชาย" in out and "ยังไม่บันทึก" not in out


def test_backup_refuses_what_it_cannot_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = settings_for(tmp_path)
    code, _, err = run(["backup", "--out", str(tmp_path / "b.db")], live, capsys)
    assert code == 1 and "no database at" in err and not (tmp_path / "b.db").exists()
    run(["db", "upgrade"], live, capsys)
    code, _, err = run(["backup", "--out", str(tmp_path / "bot.db")], live, capsys)
    assert code == 1 and "is the database itself" in err
    code, _, err = run(["backup", "--out", str(tmp_path)], live, capsys)
    assert code == 1 and f"--out {tmp_path}: Is a directory" in err
    pg = Settings(_env_file=None, database_url="postgresql+asyncpg://u:p@127.0.0.1/x")
    code = main(["backup", "--out", "x.db"], settings=pg, clock=FakeClock(NOW))
    assert code == 2 and "pg_dump" in capsys.readouterr().err
