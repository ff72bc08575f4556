"""The Bot API emulator's fault injection, as the reliability tests use it: a dropped
connection, an answer lost after the send was accepted, and a random share of faults."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from telegram import Bot
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from tests.support.botapi import TRANSIENT_FAULTS, BotApiEmulator

USER_ID = 1001


@pytest.fixture
def emu() -> Iterator[BotApiEmulator]:
    with BotApiEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    # a held answer ("timeout") must time out, and a real one never: a loaded machine can take
    # longer than a few tenths of a second to answer a plain send
    request = HTTPXRequest(read_timeout=1.0, connect_timeout=2.0)
    async with Bot(emu.token, base_url=f"{emu.base_url}/bot", request=request) as b:
        yield b


async def test_dropped_connection_sends_nothing(emu: BotApiEmulator, bot: Bot) -> None:
    emu.fail_next("drop", method="sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(USER_ID, "x")
    assert emu.sent_messages() == [] and emu.lost_answers() == []
    assert (await bot.send_message(USER_ID, "y")).message_id == 1  # "x" never existed
    assert emu.fault_counts == Counter({"drop": 1})


async def test_lost_answer_keeps_the_message(emu: BotApiEmulator, bot: Bot) -> None:
    emu.fail_next("lost", method="sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(USER_ID, "x")
    [lost] = emu.lost_answers()
    assert lost.ok and lost.params["text"] == "x"
    assert [c.params["text"] for c in emu.sent_messages()] == ["x"]  # it did arrive
    assert emu.message(USER_ID, 1)["text"] == "x"


async def test_500_is_a_network_error(emu: BotApiEmulator, bot: Bot) -> None:
    emu.fail_next("500")
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(USER_ID, "x")
    assert emu.calls()[-1].status == 500


async def test_a_random_share_of_sends_fails(emu: BotApiEmulator, bot: Bot) -> None:
    emu.random_faults(0.2, seed=7)
    raised: Counter[str] = Counter()
    for i in range(300):
        try:
            await bot.send_message(USER_ID, f"m{i}")
        except RetryAfter:
            raised["429"] += 1
        except TimedOut:
            raised["timeout"] += 1
        except NetworkError:
            raised["network"] += 1
    given = emu.fault_counts
    assert set(given) == set(TRANSIENT_FAULTS)
    assert 30 <= given.total() <= 90  # about a fifth of 300
    assert raised["429"] == given["429"] and raised["timeout"] == given["timeout"]
    assert raised["network"] == given["500"] + given["drop"] + given["lost"]
    arrived = [c.params["text"] for c in emu.sent_messages()]
    assert len(arrived) == 300 - given.total() + given["lost"]
    assert len(emu.lost_answers()) == given["lost"]
    await bot.get_me()  # other methods are spared
    assert emu.calls()[-1].ok
    emu.random_faults(0)
    await bot.send_message(USER_ID, "calm")
    assert emu.fault_counts == given


def test_random_faults_are_seeded_and_checked() -> None:
    def run(seed: int) -> list[int]:
        with BotApiEmulator() as emu:
            emu.random_faults(0.5, kinds={"500": 1.0}, seed=seed)
            url = f"{emu.base_url}/bot{emu.token}/sendMessage"
            return [
                httpx.post(url, json={"chat_id": USER_ID, "text": "x"}).status_code
                for _ in range(20)
            ]

    assert run(3) == run(3) and set(run(3)) == {200, 500}
    with BotApiEmulator() as emu, pytest.raises(ValueError):
        emu.random_faults(0.1, kinds=("boom",))  # type: ignore[arg-type]


async def test_a_slow_call_is_held_then_handled(emu: BotApiEmulator) -> None:
    emu.fail_next("slow", method="sendMessage", delay=0.5)
    request = HTTPXRequest(read_timeout=5.0)
    async with Bot(emu.token, base_url=f"{emu.base_url}/bot", request=request) as patient:
        send = asyncio.create_task(patient.send_message(USER_ID, "x"))
        await asyncio.to_thread(emu.wait_held, 1, 5.0)
        assert emu.held_now == 1 and emu.sent_messages() == []
        assert (await send).text == "x"
    assert emu.held_now == 0 and len(emu.sent_messages()) == 1
