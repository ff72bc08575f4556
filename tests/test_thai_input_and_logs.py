"""Thai digits wherever a person types an item number, a year or a date; and the bot token
in no log, at any level."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.app import build_application
from bot.cli import main
from bot.clock import FakeClock
from bot.config import Settings
from bot.domain.thai import normalise_digits
from bot.logs import REDACTED
from bot.store.db import Database
from bot.store.models import Occurrence
from tests.support.botapi import BotApiEmulator
from tests.support.chat import User, chat_harness, text_of
from tests.support.world import chat_world

ANALYST, HR, HEAD = User(1001, "สมชาย"), User(1004, "สมปอง"), User(1005, "นายก")
TOKEN = "7234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"  # the shape @BotFather gives


def test_one_helper_makes_every_typed_digit_ascii() -> None:
    assert normalise_digits("O๑๒") == "O12" and normalise_digits("๒๕๗๐Q๑") == "2570Q1"
    assert normalise_digits("M๑.๑") == "M1.1" and normalise_digits("ｏ１２")[1:] == "12"
    assert normalise_digits("เสร็จ O10 ข้อ ๓") == "เสร็จ O10 ข้อ 3"
    assert normalise_digits("ไม่มีตัวเลข") == "ไม่มีตัวเลข"


async def test_thai_digits_work_in_every_command_that_names_an_item_or_a_year(
    db: Database,
) -> None:
    w = await chat_world(db, start=datetime(2027, 1, 5, 3, 0, tzinfo=UTC),
                         tracking_since=datetime(2026, 10, 1, tzinfo=UTC))  # fmt: skip
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            assert "ส่งต่อให้" in text_of(await h.say(ANALYST, "/done O๑๐"))
            assert "ส่งต่อให้" in text_of(await h.say(ANALYST, "เสร็จ o๑๒"))
            history = text_of(await h.say(ANALYST, "/item O๑๐"))
            assert "แผนดำเนินงานประจำปี" in history and "จัดทำเสร็จ" in history
            assert "เปิดรอบแจ้งเปลี่ยนแปลง O1" in text_of(await h.say(HR, "/changed O๑"))
            assert "ไตรมาส" in text_of(await h.say(HEAD, "/report ๒๕๗๐Q๑"))
    async with db.transaction() as s:
        stages = dict(
            (await s.execute(select(Occurrence.code, Occurrence.stage).where(
                Occurrence.code.in_(["O10", "O12"]), Occurrence.period_key == "2570"))).all()
        )  # fmt: skip
    assert stages == {"O10": "collect", "O12": "collect"}


def test_the_cli_takes_thai_digits_too(capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock(datetime(2026, 11, 26, 3, 0, tzinfo=UTC))
    settings = Settings(_env_file=None)
    assert main(["calendar", "--fy", "๒๕๗๐", "--item", "O๑๐", "--format", "csv"],
                settings=settings, clock=clock) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert out.count("O10,") == 3 and "O1," not in out


async def test_the_token_is_in_no_log_at_any_level(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    w = await chat_world(db)
    caplog.set_level(logging.DEBUG)  # every logger, every level
    caplog.set_level(logging.DEBUG, logger="httpx")  # python -m bot run quietens it below DEBUG
    with BotApiEmulator(token=TOKEN, clock=w.clock.monotonic) as emu:
        w.ctx.settings = w.ctx.settings.model_copy(update={"bot_token": SecretStr(TOKEN)})
        async with chat_harness(w, emu) as h:
            await h.say(ANALYST, "/tasks")
            logging.getLogger("anything").warning("a url %s", f"{emu.base_url}/bot{TOKEN}/x")
            try:
                raise RuntimeError(f"failed at /bot{TOKEN}/getMe")
            except RuntimeError:
                logging.getLogger("anything").exception("boom")
    text = caplog.text + "".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "Set Bot API URL" in text and "HTTP Request" in text  # the lines that carried it
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    assert REDACTED in text


def test_the_application_redacts_its_token_before_anything_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "6234567890:BBHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw2"  # not seen by this process before
    caplog.set_level(logging.DEBUG)
    settings = Settings(_env_file=None, bot_token=token,
                        database_url="sqlite+aiosqlite:///:memory:")  # fmt: skip
    build_application(settings, with_jobs=False, startup=False)
    logging.getLogger("httpx").info(
        "HTTP Request: POST https://api.telegram.org/bot%s/getMe", token
    )
    assert "Set Bot API URL" in caplog.text
    assert token not in caplog.text and f"bot{REDACTED}" in caplog.text
