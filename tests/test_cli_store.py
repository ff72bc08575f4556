"""The store's command line: an admin prepares the roster before anyone opens Telegram."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import FakeClock
from bot.config import Settings
from tests.support.botapi import BotApiEmulator

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def settings_for(tmp_path: Path, **extra: object) -> Settings:
    return Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        **extra,  # type: ignore[arg-type]
    )


def run(
    argv: list[str], settings: Settings, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    code = main(argv, settings=settings, clock=FakeClock(NOW))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_roster_before_telegram(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    st = settings_for(tmp_path)
    code, _, err = run(["db", "upgrade"], st, capsys)
    assert code == 0 and "revision" in err
    code, out, _ = run(["org", "init", "--name", "อบต.บางไทรป่า"], st, capsys)
    assert code == 0 and "256 occurrences" in out and "the default office" in out
    code, out, _ = run(
        ["people", "add", "--telegram-id", "111", "--name", "สมชาย", "--role", "นักวิเคราะห์"],
        st,
        capsys,
    )
    assert code == 0 and "นักวิเคราะห์นโยบายและแผน" in out
    run(["people", "add", "--name", "สมหญิง", "--role", "หน.สป."], st, capsys)
    code, out, _ = run(["people", "assign", "--person", "สมหญิง", "--role", "head"], st, capsys)
    assert code == 0 and "ผู้บริหาร" in out
    code, out, _ = run(["people", "list"], st, capsys)
    assert "สมชาย\tนักวิเคราะห์นโยบายและแผน\tactive" in out
    assert "สมหญิง\tผู้บริหาร (นายก/ปลัด อบต.), หัวหน้าสำนักปลัด\tactive" in out
    code, _, err = run(["people", "add", "--name", "x", "--role", "astronaut"], st, capsys)
    assert code == 1 and "unknown role 'astronaut'" in err
    code, _, err = run(["people", "add", "--telegram-id", "111", "--name", "ซ้ำ"], st, capsys)
    assert code == 1 and "already registered" in err
    code, out, _ = run(["people", "deactivate", "--person", "สมชาย"], st, capsys)
    assert code == 0 and "inactive" in out


def test_a_second_office_only_when_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    st = settings_for(tmp_path)
    run(["org", "init", "--name", "อบต.หนึ่ง"], st, capsys)
    code, out, err = run(["org", "init", "--name", "อบต.สอง"], st, capsys)
    assert code == 1 and out == "" and "there is an office already (#1 อบต.หนึ่ง)" in err
    assert "--another" in err
    code, out, _ = run(
        ["org", "init", "--name", "อบต.สอง", "--track-from", "2569-10-01", "--another"], st, capsys
    )
    assert code == 0 and "default" not in out and "0 before tracking" in out
    run(["people", "add", "--name", "สมชาย"], st, capsys)
    code, out, _ = run(["org", "list"], st, capsys)
    assert code == 0 and out.splitlines() == [
        "id\tname\tdefault\ttracking since\tpeople",
        "1\tอบต.หนึ่ง\tdefault\t2569-11-26\t1",
        "2\tอบต.สอง\t-\t2569-10-01\t0",
    ]


def test_invite_links_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with BotApiEmulator(bot_username="bangsaipa_ita_bot") as emu:
        st = settings_for(tmp_path, bot_token="123456:TEST", telegram_api_base_url=emu.base_url)
        run(["org", "init", "--name", "อบต.บางไทรป่า"], st, capsys)
        code, out, err = run(["invite", "--role", "นิติกร"], st, capsys)
        assert code == 0 and re.fullmatch(
            r"https://t\.me/bangsaipa_ita_bot\?start=[A-Za-z0-9_-]{20,64}\n", out
        )
        assert "นิติกร" in err and "works once" in err
        code, out, _ = run(["admin", "invite"], st, capsys)
        assert code == 0 and out.startswith("https://t.me/bangsaipa_ita_bot?start=")


def test_run_without_a_token_explains_botfather(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["run"], settings_for(tmp_path), capsys)
    assert code != 0 and "@BotFather" in err and "/newbot" in err and ".env" in err


def test_names_longer_than_the_store_keeps_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    st = settings_for(tmp_path)
    code, _, err = run(["org", "init", "--name", "อบต." + "ก" * 200], st, capsys)
    assert code == 1 and "at most 200" in err
    assert run(["org", "init", "--name", "อบต.บางไทรป่า"], st, capsys)[0] == 0
    code, _, err = run(["people", "add", "--name", "😀" * 201], st, capsys)
    assert code == 1 and "at most 200" in err
    assert run(["people", "add", "--name", "😀" * 200], st, capsys)[0] == 0


def test_people_list_tells_the_two_kinds_of_admin_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    st = settings_for(tmp_path, admin_telegram_ids=[777])
    run(["org", "init", "--name", "อบต.บางไทรป่า"], st, capsys)
    run(["people", "add", "--name", "ปลัด", "--telegram-id", "777"], st, capsys)
    run(["people", "add", "--name", "ธุรการ", "--telegram-id", "778", "--admin"], st, capsys)
    _, out, _ = run(["people", "list"], st, capsys)
    assert "ปลัด	-	deployment admin active" in out and "ธุรการ	-	admin active" in out
