"""Every mistake a person putting the bot into service makes gets one line — naming the
setting, file or argument and saying what to do — and a non-zero exit, never a traceback.
Each case runs ``python -m bot`` as a real process, as a person would."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.store.db import Database
from bot.store.migrate import head_revision, upgrade
from tests.support.db import POSTGRES_URL, _postgres_reachable, _require_postgres, run

ROOT = Path(__file__).resolve().parents[1]
SETTING_VARS = {name.upper() for name in Settings.model_fields} | {"ENV_FILE"}


@dataclass
class Case:
    name: str
    argv: list[str]
    expect: list[str]  # fragments of the one line
    env: dict[str, str] = field(default_factory=dict)
    code: int = 1


def bot(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGV`` in ``cwd`` with only ``env`` as its settings (no .env there)."""
    clean = {k: v for k, v in os.environ.items() if k.upper() not in SETTING_VARS}
    return subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a database holding one office, an empty SQLite file, databases at an
    old and at an unknown (newer) schema revision, a catalogue saved in cp874, a plain file."""
    where = tmp_path_factory.mktemp("office")
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{where / 'bot.db'}")
    assert main(["org", "init", "--name", "อบต.ทดสอบ"], settings=settings) == 0
    (where / "empty.db").touch()
    (where / "newer.db").write_bytes((where / "bot.db").read_bytes())
    with sqlite3.connect(where / "newer.db") as newer:  # as a later version leaves it
        newer.execute("UPDATE alembic_version SET version_num = '9999'")
    old = Database(f"sqlite+aiosqlite:///{where / 'old.db'}")
    run(upgrade(old, "0001"))
    run(old.dispose())
    shipped = (ROOT / "data" / "catalogue" / "ita-2565.yaml").read_text(encoding="utf-8")
    (where / "cat874.yaml").write_bytes(shipped.encode("cp874"))
    (where / "a-file").write_text("not a folder\n")
    return where


def cases(office: Path) -> list[Case]:
    db = {"DATABASE_URL": f"sqlite+aiosqlite:///{office / 'bot.db'}"}
    seed = str(ROOT / "data" / "seed" / "000_c89b0b1080fe7d54.txt")
    return [
        # settings
        Case("ids", ["calendar"], ["ADMIN_TELEGRAM_IDS", "'abc'", ".env"], {"ADMIN_TELEGRAM_IDS": "abc"}, 2),
        Case("zone", ["calendar"], ["TIMEZONE", "Mars/Base", "Asia/Bangkok"], {"TIMEZONE": "Mars/Base"}, 2),
        Case("digits", ["calendar"], ["THAI_DIGITS='maybe'", "true or false"], {"THAI_DIGITS": "maybe"}, 2),
        Case("json", ["calendar"], ["EXTRA_HOLIDAYS", "not valid JSON"], {"EXTRA_HOLIDAYS": "{2026"}, 2),
        # the database URL
        Case("not a url", ["db", "upgrade"], ["DATABASE_URL", "not a database URL", "postgresql+asyncpg://"], {"DATABASE_URL": "notaurl"}, 2),
        Case("no driver", ["db", "upgrade"], ["DATABASE_URL", "write postgresql+asyncpg://"], {"DATABASE_URL": "postgresql://bot:s3cret@127.0.0.1/test"}, 2),
        Case("port", ["people", "list"], ["DATABASE_URL", "bot:***@127.0.0.1:5999", "is PostgreSQL running"], {"DATABASE_URL": "postgresql+asyncpg://bot:s3cret@127.0.0.1:5999/test"}),
        Case("sqlite folder", ["db", "upgrade"], ["DATABASE_URL", "/proc/ita/bot.db", "choose a place"], {"DATABASE_URL": "sqlite+aiosqlite:////proc/ita/bot.db"}),
        # an unwritable --out
        Case("calendar out", ["calendar", "--format", "ics", "--out", "/proc/ita-calendar"], ["--out /proc/ita-calendar"]),
        Case("report out", ["report", "--quarter", "2570Q1", "--out", str(office / "a-file" / "q1.xlsx")], ["--out", "a-file", "not a folder"], db),
        Case("import out", ["catalogue", "import", seed, "--out", str(office)], ["--out", "a folder: give a file name"]),
        # no database, or not migrated
        Case("no database", ["people", "list"], ["DATABASE_URL", "no database at data/bot.db", "org init"]),
        Case("empty file", ["people", "list"], ["no tables yet", "db upgrade"], {"DATABASE_URL": f"sqlite+aiosqlite:///{office / 'empty.db'}"}),
        Case("old schema", ["invite", "--role", "นิติกร"], ["revision 0001", f"needs {head_revision()}", "db upgrade"], {"DATABASE_URL": f"sqlite+aiosqlite:///{office / 'old.db'}", "BOT_USERNAME": "x_bot"}),
        Case("newer schema", ["db", "upgrade"], ["revision 9999", "a newer version migrated it"], {"DATABASE_URL": f"sqlite+aiosqlite:///{office / 'newer.db'}"}),
        Case("newer schema list", ["people", "list"], ["revision 9999", "a newer version migrated it"], {"DATABASE_URL": f"sqlite+aiosqlite:///{office / 'newer.db'}"}),
        # a catalogue saved in Thai Windows' encoding
        Case("cp874", ["calendar", "--catalogue", str(office / "cat874.yaml")], ["cat874.yaml:5", "not UTF-8", "cp874"]),
        Case("cp874 setting", ["org", "init", "--name", "x"], ["cat874.yaml:5", "not UTF-8"], {"CATALOGUE_FILE": str(office / "cat874.yaml")}),
        # arguments
        Case("fy -5", ["calendar", "--fy", "-5"], ["argument --fy", "'-5'", "Buddhist Era"], code=2),
        Case("fy CE", ["calendar", "--fy", "2026"], ["argument --fy", "did you mean 2569?"], code=2),
        # offices and invites
        Case("second office", ["org", "init", "--name", "อบต.สอง"], ["an office already", "org list", "--another"], db),
        Case("no username", ["invite", "--role", "นิติกร"], ["BOT_USERNAME", "BOT_TOKEN"], db),
        Case("telegram down", ["admin", "invite"], ["could not ask Telegram", "BOT_USERNAME"], {**db, "BOT_TOKEN": "123456:SECRET-token", "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9", "REQUEST_TIMEOUT_SECONDS": "3"}),
    ]  # fmt: skip


def test_each_mistake_is_one_line_and_a_non_zero_exit(office: Path, tmp_path: Path) -> None:
    todo = cases(office)
    folders = []
    for i, _ in enumerate(todo):
        folders.append(tmp_path / f"case{i}")
        folders[-1].mkdir()
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(lambda c, d: bot(c.argv, d, c.env), todo, folders))
    for case, proc, cwd in zip(todo, done, folders, strict=True):
        where = f"{case.name}: {proc.stderr!r}"
        assert proc.returncode == case.code, where
        assert proc.stdout == "", where
        assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, where
        for fragment in case.expect:
            assert fragment in proc.stderr, where
        assert "s3cret" not in proc.stderr and "SECRET-token" not in proc.stderr, where
        assert list(cwd.iterdir()) == [], f"{case.name} left {list(cwd.iterdir())} behind"
    # nothing half-done: the refused second office and invites changed nothing
    out = bot(
        ["org", "list"], tmp_path, {"DATABASE_URL": f"sqlite+aiosqlite:///{office / 'bot.db'}"}
    )
    assert out.returncode == 0 and out.stdout.count("\n") == 2, out  # the header, one office


def test_a_missing_postgresql_database_is_named(tmp_path: Path) -> None:
    if not run(_postgres_reachable()):
        if _require_postgres():
            pytest.fail(f"PostgreSQL is required here but {POSTGRES_URL} cannot be reached")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    url = POSTGRES_URL.rsplit("/", 1)[0] + "/ita_no_such_database"
    proc = bot(["db", "upgrade"], tmp_path, {"DATABASE_URL": url})
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert 'database "ita_no_such_database" does not exist' in proc.stderr
    assert "createdb ita_no_such_database" in proc.stderr


def test_version() -> None:
    from importlib.metadata import version

    proc = bot(["--version"], ROOT, {})
    assert proc.returncode == 0 and proc.stdout == f"ita-duty-bot {version('ita-duty-bot')}\n"


def test_dispatch_makes_and_migrates_a_missing_database(tmp_path: Path) -> None:
    """An extra sender started before the receiver: like `run`, it creates the database at
    this version's schema (nothing is due there yet) instead of failing on "no such table"."""
    from tests.support.botapi import BotApiEmulator

    with BotApiEmulator() as emu:
        env = {"BOT_TOKEN": emu.token, "TELEGRAM_API_BASE_URL": emu.base_url}
        proc = bot(["dispatch", "--once"], tmp_path, env)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "dispatch: " in proc.stderr
    with sqlite3.connect(tmp_path / "data" / "bot.db") as made:
        [(revision,)] = made.execute("SELECT version_num FROM alembic_version").fetchall()
    assert revision == head_revision()
    # a database a newer version migrated is refused in one line, and left as it was
    newer = {**env, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'newer.db'}"}
    (tmp_path / "newer.db").write_bytes((tmp_path / "data" / "bot.db").read_bytes())
    with sqlite3.connect(tmp_path / "newer.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    proc = bot(["dispatch", "--once"], tmp_path, newer)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert "revision 9999" in proc.stderr
