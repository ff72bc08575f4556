"""Tests for the Bot API emulator in tests/support/botapi.py, driven by a real PTB ``Bot``."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import struct
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from tests.support.botapi import BotApiEmulator

USER_ID, OTHER_ID = 1001, 1002
USER: dict[str, Any] = {
    "id": USER_ID,
    "is_bot": False,
    "first_name": "Somchai",
    "language_code": "th",
}
OTHER: dict[str, Any] = {"id": OTHER_ID, "is_bot": False, "first_name": "Malee"}
GROUP = -100_123_456_789
MARKUP = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("เสร็จแล้ว", callback_data="done:O10"),
            InlineKeyboardButton("เลื่อน", callback_data="snooze:O10"),
        ]
    ]
)


class FakeClock:
    """A clock the test advances by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_bot(emu: BotApiEmulator, read_timeout: float = 5.0) -> Bot:
    return Bot(
        emu.token,
        base_url=f"{emu.base_url}/bot",
        base_file_url=f"{emu.base_url}/file/bot",
        request=HTTPXRequest(read_timeout=read_timeout, connect_timeout=2.0),
    )


@pytest.fixture
def emu() -> Iterator[BotApiEmulator]:
    with BotApiEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with make_bot(emu) as b:
        yield b


@pytest.fixture(autouse=True)
def _timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    # Opt in to PTB's future RetryAfter.retry_after type (avoids a deprecation warning).
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


# ---------------------------------------------------------------- basic methods


async def test_get_me_and_send_message_round_trip(emu: BotApiEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "ita_duty_test_bot", True)
    assert me.can_join_groups is True

    first = await bot.send_message(USER_ID, "แจ้งเตือน O10", reply_markup=MARKUP)
    second = await bot.send_message(USER_ID, "again")
    other = await bot.send_message(OTHER_ID, "hi")
    group = await bot.send_message(GROUP, "group hello")

    assert first.reply_markup == MARKUP
    assert first.text == "แจ้งเตือน O10"
    assert first.from_user is not None and first.from_user.id == me.id
    assert first.chat.type == "private" and group.chat.type == "supergroup"
    assert second.message_id == first.message_id + 1
    assert other.message_id == 1
    assert isinstance(first.date, dtm.datetime)

    call = emu.sent_messages(chat_id=USER_ID)[0]
    assert call.method == "sendMessage" and call.status == 200
    assert call.params["chat_id"] == USER_ID
    assert call.params["reply_markup"] == MARKUP.to_dict()
    assert call.result["message_id"] == first.message_id
    assert [c.params["text"] for c in emu.sent_messages()] == [
        "แจ้งเตือน O10",
        "again",
        "hi",
        "group hello",
    ]
    assert len(emu.calls("getMe")) == 2  # Bot.initialize() + get_me()
    emu.clear_calls()
    assert emu.calls() == []


async def test_html_is_validated_and_stripped(bot: Bot) -> None:
    msg = await bot.send_message(USER_ID, "<b>ด่วน</b> &amp; ok", parse_mode="HTML")
    assert msg.text == "ด่วน & ok"
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER_ID, "<b>unclosed", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER_ID, "ก" * 4097)


async def test_telegram_length_limits_are_enforced_in_utf16(bot: Bot) -> None:
    """Emoji count two UTF-16 units: 2,048 fit a message, 2,049 do not."""
    await bot.send_message(USER_ID, "😀" * 2048)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER_ID, "😀" * 2049)
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_document(USER_ID, b"x", filename="a.txt", caption="😀" * 513)
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(USER_ID, "x", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("ok", callback_data="ก" * 22)]]))  # fmt: skip
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(USER_ID, "x", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)]))  # fmt: skip
    with pytest.raises(BadRequest, match=r"(?i)placeholder"):
        await bot.send_message(
            USER_ID, "x", reply_markup=ForceReply(input_field_placeholder="😀" * 33)
        )
    with pytest.raises(BadRequest, match=r"(?i)message_too_long"):
        await bot.answer_callback_query("1", text="ก" * 201)
    await bot.answer_callback_query("1", text="ก" * 200)
    with pytest.raises(BadRequest, match=r"(?i)description"):
        await bot.set_my_commands([BotCommand("tasks", "ก" * 257)])


async def test_edit_and_delete(emu: BotApiEmulator, bot: Bot) -> None:
    msg = await bot.send_message(USER_ID, "v1", reply_markup=MARKUP)
    edited = await bot.edit_message_text("v2", chat_id=USER_ID, message_id=msg.message_id)
    assert not isinstance(edited, bool)
    assert edited.text == "v2" and edited.reply_markup is None  # keyboard dropped, as Telegram
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("v2", chat_id=USER_ID, message_id=msg.message_id)
    await bot.edit_message_reply_markup(USER_ID, msg.message_id, reply_markup=MARKUP)
    assert emu.message(USER_ID, msg.message_id)["reply_markup"] == MARKUP.to_dict()
    assert await bot.delete_message(USER_ID, msg.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER_ID, msg.message_id)
    assert await bot.answer_callback_query("42", text="ok")
    assert await bot.send_chat_action(USER_ID, "typing")


async def test_send_document_and_download(emu: BotApiEmulator, bot: Bot) -> None:
    payload = "รายงาน ITA\n".encode() * 100
    msg = await bot.send_document(USER_ID, payload, filename="report.csv", caption="สรุป")
    assert msg.document is not None
    assert (msg.document.file_name, msg.document.file_size) == ("report.csv", len(payload))
    assert msg.document.mime_type == "text/csv"
    assert msg.caption == "สรุป"

    call = emu.sent_messages()[0]
    assert call.files == {"document": payload}
    assert call.filenames == {"document": "report.csv"}
    assert call.params["caption"] == "สรุป"
    assert emu.file_bytes(msg.document.file_id) == payload

    tg_file = await bot.get_file(msg.document.file_id)
    assert bytes(await tg_file.download_as_bytearray()) == payload

    again = await bot.send_document(OTHER_ID, msg.document.file_id)  # re-send by file_id
    assert again.document is not None and again.document.file_id == msg.document.file_id
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("nope")


async def test_send_photo_records_upload(emu: BotApiEmulator, bot: Bot) -> None:
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I4sII", 13, b"IHDR", 640, 480) + b"\0" * 20
    msg = await bot.send_photo(GROUP, png, caption="กราฟ", filename="chart.png")
    assert (msg.photo[-1].width, msg.photo[-1].height) == (640, 480)
    call = emu.sent_messages(GROUP)[0]
    assert (call.method, call.files["photo"], call.params["caption"]) == ("sendPhoto", png, "กราฟ")


async def test_chat_and_member_info(emu: BotApiEmulator, bot: Bot) -> None:
    chat = await bot.get_chat(GROUP)
    assert chat.type == "supergroup" and chat.title
    member = await bot.get_chat_member(GROUP, USER_ID)
    assert member.status == "member"
    emu.set_member_status(GROUP, USER_ID, "administrator")
    assert (await bot.get_chat_member(GROUP, USER_ID)).status == "administrator"
    assert await bot.set_webhook("https://example.invalid/hook")
    assert (await bot.get_webhook_info()).url == "https://example.invalid/hook"
    assert await bot.delete_webhook()


async def test_commands_per_scope_and_language(emu: BotApiEmulator, bot: Bot) -> None:
    scope = BotCommandScopeChat(chat_id=USER_ID)
    cmds = [BotCommand("start", "เริ่มต้น"), BotCommand("done", "ปิดงาน")]
    assert await bot.set_my_commands(cmds, scope=scope, language_code="th")
    assert list(await bot.get_my_commands(scope=scope, language_code="th")) == cmds
    assert await bot.get_my_commands() == ()  # default scope untouched
    assert emu.commands({"type": "chat", "chat_id": USER_ID}, "th")[0]["command"] == "start"
    assert await bot.delete_my_commands(scope=scope, language_code="th")
    assert await bot.get_my_commands(scope=scope, language_code="th") == ()


# ---------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("kind", "exc_type", "message"),
    [
        ("5xx", NetworkError, "Bad Gateway"),
        ("blocked", Forbidden, "bot was blocked by the user"),
        ("deactivated", Forbidden, "user is deactivated"),
        ("chat_not_found", BadRequest, r"(?i)chat not found"),
    ],
)
async def test_injected_faults_raise_ptb_errors(
    emu: BotApiEmulator, bot: Bot, kind: str, exc_type: type[Exception], message: str
) -> None:
    emu.fail_next(kind, method="sendMessage")  # type: ignore[arg-type]
    with pytest.raises(exc_type, match=message):
        await bot.send_message(USER_ID, "x")
    await bot.send_message(USER_ID, "recovered")  # one-shot
    failed, ok = emu.calls("sendMessage")
    assert failed.status >= 400 and not failed.ok and ok.ok


async def test_injected_429_carries_retry_after(emu: BotApiEmulator, bot: Bot) -> None:
    emu.fail_next("429", retry_after=7)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(USER_ID, "x")
    assert info.value.retry_after == dtm.timedelta(seconds=7)
    assert emu.too_many_requests == 1
    assert emu.calls()[-1].response["parameters"] == {"retry_after": 7}


async def test_injected_timeout_raises_timed_out(emu: BotApiEmulator) -> None:
    async with make_bot(emu, read_timeout=0.3) as fast_bot:
        emu.fail_next("timeout", method="sendMessage")
        with pytest.raises(TimedOut):
            await fast_bot.send_message(USER_ID, "x")
        assert (await fast_bot.send_message(USER_ID, "y")).text == "y"
    held = emu.calls("sendMessage")[0]
    assert held.status == 0 and held.response == {}


def test_stop_is_prompt_with_held_requests() -> None:
    emu = BotApiEmulator().start()
    emu.fail_next("timeout")
    client = httpx.Client(timeout=5.0)
    with pytest.raises(httpx.HTTPError):
        client.get(f"{emu.base_url}/bot{emu.token}/getMe", timeout=0.2)
    started = time.monotonic()
    emu.stop()
    assert time.monotonic() - started < 3.0
    client.close()


async def test_fault_filters_and_counts(emu: BotApiEmulator, bot: Bot) -> None:
    emu.fail_next("blocked", chat_id=OTHER_ID, count=2)
    await bot.send_message(USER_ID, "fine")  # other chat: unaffected
    for _ in range(2):
        with pytest.raises(Forbidden):
            await bot.send_message(OTHER_ID, "x")
    await bot.send_message(OTHER_ID, "fine again")

    emu.fail_next("5xx", method="sendDocument")
    await bot.send_message(USER_ID, "not a document")
    with pytest.raises(NetworkError):
        await bot.send_document(USER_ID, b"1", filename="a.txt")

    emu.block_chat(USER_ID)
    for _ in range(3):
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(USER_ID, "x")
    emu.unblock_chat(USER_ID)
    await bot.send_message(USER_ID, "welcome back")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message("@nobody", "x")
    assert [c.status for c in emu.calls("sendMessage", chat_id=USER_ID)] == [
        200,
        200,
        403,
        403,
        403,
        200,
    ]


def test_unfiltered_faults_spare_get_updates(emu: BotApiEmulator) -> None:
    emu.fail_next("5xx")
    with httpx.Client() as client:
        root = f"{emu.base_url}/bot{emu.token}"
        assert client.post(f"{root}/getUpdates").status_code == 200
        assert client.post(f"{root}/getMe").status_code == 502


# ---------------------------------------------------------------- flood limits


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def limited(clock: FakeClock) -> AsyncIterator[tuple[BotApiEmulator, Bot]]:
    with BotApiEmulator(clock=clock, enforce_limits=True) as emulator:
        async with make_bot(emulator) as b:
            yield emulator, b


async def test_limit_one_per_second_per_private_chat(
    limited: tuple[BotApiEmulator, Bot], clock: FakeClock
) -> None:
    emu, bot = limited
    await bot.send_message(USER_ID, "1")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(USER_ID, "2")
    assert info.value.retry_after == dtm.timedelta(seconds=1)
    await bot.send_message(OTHER_ID, "other chat is fine")
    clock.now += 1.0
    await bot.send_message(USER_ID, "2 again")
    assert emu.too_many_requests == 1
    assert emu.calls()[-1].at == clock.now


async def test_limit_thirty_per_second_overall(
    limited: tuple[BotApiEmulator, Bot], clock: FakeClock
) -> None:
    emu, bot = limited
    for chat_id in range(1, 31):
        await bot.send_message(chat_id, "hi")
    with pytest.raises(RetryAfter):
        await bot.send_message(31, "hi")
    clock.now += 0.5
    with pytest.raises(RetryAfter):
        await bot.send_message(31, "hi")
    clock.now += 0.5
    await bot.send_message(31, "hi")
    assert emu.too_many_requests == 2


async def test_limit_twenty_per_minute_per_group(
    limited: tuple[BotApiEmulator, Bot], clock: FakeClock
) -> None:
    emu, bot = limited
    for i in range(20):
        await bot.send_message(GROUP, f"m{i}")
        clock.now += 1.0
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(GROUP, "m20")
    assert info.value.retry_after == dtm.timedelta(seconds=40)  # first send leaves at t0+60
    clock.now += 40
    await bot.send_message(GROUP, "m20 again")
    assert emu.too_many_requests == 1


# ---------------------------------------------------------------- inbound updates


async def test_long_poll_returns_pushed_message_and_offsets(emu: BotApiEmulator, bot: Bot) -> None:
    assert await bot.get_updates(timeout=0) == ()
    loop = asyncio.get_running_loop()
    loop.call_later(0.1, emu.user_message, USER, "สวัสดี")
    started = loop.time()
    updates = await bot.get_updates(timeout=5)
    assert loop.time() - started < 3.0  # woke on push, did not wait out the timeout
    assert len(updates) == 1 and updates[0].message is not None
    assert updates[0].message.text == "สวัสดี"
    assert updates[0].message.from_user is not None and updates[0].message.from_user.id == 1001

    emu.user_message(USER, "two")
    emu.user_message(USER, "three")
    again = await bot.get_updates(timeout=0, limit=2)  # unconfirmed ones are re-delivered
    assert [u.update_id for u in again] == [updates[0].update_id, updates[0].update_id + 1]
    rest = await bot.get_updates(offset=again[-1].update_id + 1, timeout=0)
    assert [u.message.text for u in rest if u.message] == ["three"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1, timeout=0) == ()
    assert emu.pending_updates() == []


async def test_command_entities_parse_in_ptb(emu: BotApiEmulator, bot: Bot) -> None:
    update = Update.de_json(emu.user_message(USER, "/start abc123"), bot)
    assert update.message is not None
    assert update.message.text == "/start abc123"
    (entity,) = update.message.entities
    assert (entity.type, entity.offset, entity.length) == (MessageEntity.BOT_COMMAND, 0, 6)

    text = "👍 ok /done@ita_duty_test_bot O10"
    msg = Update.de_json(
        emu.user_message(USER, text, chat={"id": GROUP, "type": "supergroup", "title": "อบต."}), bot
    ).message
    assert msg is not None and msg.chat.title == "อบต."
    assert list(msg.parse_entities([MessageEntity.BOT_COMMAND]).values()) == [
        "/done@ita_duty_test_bot"
    ]

    async def on_done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        pass

    handler = CommandHandler("done", on_done)
    for accepted in ("/done O10", "/done@ita_duty_test_bot O10"):
        assert handler.check_update(Update.de_json(emu.user_message(USER, accepted), bot))
    for ignored in ("done O10", "/done@someone_elses_bot O10", text):  # PTB: command at offset 0
        assert not handler.check_update(Update.de_json(emu.user_message(USER, ignored), bot))


async def test_reply_and_press_quote_the_bot_message(emu: BotApiEmulator, bot: Bot) -> None:
    sent = await bot.send_message(USER_ID, "กรอกเลขที่หนังสือ", reply_markup=MARKUP)

    reply = Update.de_json(
        emu.user_message(USER, "ที่ 123/2567", reply_to_message_id=sent.message_id), bot
    )
    assert reply.message is not None and reply.message.reply_to_message is not None
    quoted = reply.message.reply_to_message
    assert quoted.from_user is not None and quoted.from_user.is_bot
    assert (quoted.text, quoted.reply_markup) == ("กรอกเลขที่หนังสือ", MARKUP)
    assert reply.message.message_id == sent.message_id + 1  # ids shared within the chat

    first = emu.user_press(USER, sent.message_id, USER_ID, "done:O10")
    second = emu.user_press(OTHER, sent.message_id, USER_ID, "snooze:O10")
    press = Update.de_json(first, bot).callback_query
    assert press is not None and press.data == "done:O10"
    assert press.from_user.id == USER_ID
    assert isinstance(press.message, Message) and press.message.reply_markup == MARKUP
    assert first["callback_query"]["id"] != second["callback_query"]["id"]
    with pytest.raises(KeyError):
        emu.user_press(USER, 999, USER_ID, "x")


async def test_application_polling_end_to_end(emu: BotApiEmulator) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"hello {' '.join(context.args or [])}")

    app = (
        Application.builder()
        .token(emu.token)
        .base_url(f"{emu.base_url}/bot")
        .base_file_url(f"{emu.base_url}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=2))
        emu.user_message(USER, "/start INVITE42")
        (reply,) = await emu.await_calls(1, method="sendMessage", timeout=5)
        await app.updater.stop()
        await app.stop()
    assert reply.params["text"] == "hello INVITE42"
    assert reply.params["chat_id"] == USER_ID


# ---------------------------------------------------------------- raw HTTP / sync usage


def test_raw_http_encodings_and_errors(emu: BotApiEmulator) -> None:
    root = f"{emu.base_url}/bot{emu.token}"
    with httpx.Client() as client:
        got = client.get(f"{root}/getMe").json()
        assert got["ok"] and got["result"]["username"] == "ita_duty_test_bot"

        markup = {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}
        by_json = client.post(
            f"{root}/sendMessage", json={"chat_id": 5, "text": "j", "reply_markup": markup}
        ).json()
        by_form = client.post(
            f"{root}/sendmessage",
            data={"chat_id": "5", "text": "123", "reply_markup": json.dumps(markup)},
        ).json()
        assert by_json["result"]["reply_markup"] == by_form["result"]["reply_markup"] == markup
        assert by_form["result"]["text"] == "123"  # text stays a string
        assert emu.calls("sendMessage")[1].params == {
            "chat_id": 5,
            "text": "123",
            "reply_markup": markup,
        }

        bad_token = client.post(f"{emu.base_url}/bot999:NOPE/getMe")
        assert bad_token.status_code == 401
        assert bad_token.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        unknown = client.post(f"{root}/sendSticker")
        assert unknown.status_code == 404
        assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        no_chat = client.post(f"{root}/sendMessage", json={"text": "x"})
        assert no_chat.status_code == 400
        assert no_chat.json()["description"] == "Bad Request: chat not found"
        assert client.get(f"{emu.base_url}/file/bot{emu.token}/nope").status_code == 404


def test_wait_for_calls_times_out_with_listing(emu: BotApiEmulator) -> None:
    with httpx.Client() as client:
        client.post(f"{emu.base_url}/bot{emu.token}/getMe")
    assert len(emu.wait_for_calls(1, method="getMe", timeout=1)) == 1
    with pytest.raises(TimeoutError, match=r"(?s)sendMessage.*getMe \[200\]"):
        emu.wait_for_calls(1, method="sendMessage", timeout=0.05)
    with pytest.raises(ValueError, match="unknown fault kind"):
        emu.fail_next("boom")  # type: ignore[arg-type]
