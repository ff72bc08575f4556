"""The outgoing-request throttle, on a FakeClock (no real sleeps anywhere)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram.error import NetworkError, RetryAfter
from telegram.ext import ExtBot
from telegram.request import BaseRequest, RequestData
from telegram.warnings import PTBDeprecationWarning

from bot.clock import Clock, FakeClock
from bot.telegram.ratelimit import (
    ChatId,
    SendLimiter,
    TelegramRateLimiter,
    retry_after_seconds,
)

# Constructing RetryAfter with an int makes PTB 22.2+ warn about the future timedelta type.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

START = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def limiter(clock: FakeClock) -> SendLimiter:
    return SendLimiter(clock)


def max_in_window(times: Iterable[float], width: float) -> int:
    """The most sends in any half-open window ``[t, t + width)``.

    The maximum over all ``t`` is reached by a window that starts at a send,
    so checking those windows checks every window.
    """
    ts = sorted(times)
    return max((sum(1 for s in ts if t <= s < t + width) for t in ts), default=0)


async def send_all(
    limiter: SendLimiter, clock: Clock, chats: Sequence[ChatId]
) -> list[tuple[ChatId, float]]:
    """Acquire for every chat concurrently; (chat, time acquire returned) in completion order."""
    log: list[tuple[ChatId, float]] = []

    async def one(chat: ChatId) -> None:
        await limiter.acquire(chat)
        log.append((chat, clock.monotonic()))

    await asyncio.gather(*(one(chat) for chat in chats))
    return log


def times_of(log: Iterable[tuple[ChatId, float]], chat: ChatId | None = None) -> list[float]:
    return [t for c, t in log if chat is None or c == chat]


def assert_within_limits(
    log: Sequence[tuple[ChatId, float]],
    *,
    global_per_second: int = 25,
    private_per_second: int = 1,
    group_per_minute: int = 20,
) -> None:
    assert max_in_window(times_of(log), 1.0) <= global_per_second
    for chat in {c for c, _ in log if c is not None}:
        times = times_of(log, chat)
        private = isinstance(chat, int) and chat > 0
        if private:
            assert max_in_window(times, 1.0) <= private_per_second, chat
        else:
            assert max_in_window(times, 60.0) <= group_per_minute, chat


# -- SendLimiter -------------------------------------------------------------------


async def test_200_private_chats_at_once_stay_under_global_limit(
    limiter: SendLimiter, clock: FakeClock
) -> None:
    start = clock.monotonic()
    log = await send_all(limiter, clock, list(range(1, 201)))

    assert len(log) == 200
    assert max_in_window(times_of(log), 1.0) <= 25
    elapsed = max(times_of(log)) - start
    # 200 / 25 per second: batches at 0, 1, ..., 7 s.  Safe, but not over-cautious.
    assert 7.0 - 1e-9 <= elapsed <= 8.5
    # All waiters were strangers to each other: the queue is served in FIFO order.
    granted_at = dict(log)
    assert all(granted_at[c] <= granted_at[c + 1] for c in range(1, 200))


async def test_no_double_burst_across_a_bucket_edge(limiter: SendLimiter, clock: FakeClock) -> None:
    # Fixed 1 s buckets aligned on whole seconds would let 25 through at x.9
    # and another 25 at (x+1).0: 50 inside [x.9, x+1.9).
    clock.advance(0.9)
    first = await send_all(limiter, clock, list(range(1, 26)))
    clock.advance(0.1)
    second = await send_all(limiter, clock, list(range(101, 126)))
    log = first + second

    assert times_of(first) == [1000.9] * 25
    edge = 1000.9 + 1.0
    assert min(times_of(second)) >= edge
    assert max_in_window(times_of(log), 1.0) <= 25
    # The window straddling the "bucket edge" at 1001.0 in particular.
    assert sum(1 for t in times_of(log) if 1000.5 <= t < 1001.5) <= 25


async def test_sliding_window_holds_for_staggered_arrivals(
    limiter: SendLimiter, clock: FakeClock
) -> None:
    log: list[tuple[ChatId, float]] = []
    chat = 1
    for _ in range(12):
        for _ in range(7):
            await limiter.acquire(chat)
            log.append((chat, clock.monotonic()))
            chat += 1
        clock.advance(0.15)
    assert_within_limits(log)
    # 84 sends at ~25/s cannot take less than 3 s, and should not take much more.
    span = max(times_of(log)) - min(times_of(log))
    assert 3.0 - 1e-9 <= span <= 4.5


async def test_same_private_chat_is_one_per_second(limiter: SendLimiter, clock: FakeClock) -> None:
    log = await send_all(limiter, clock, [42] * 5)
    times = times_of(log)
    assert len(times) == 5
    for earlier, later in itertools.pairwise(times):
        assert later >= earlier + 1.0
    assert times[-1] - times[0] <= 4.5


async def test_private_chat_given_as_numeric_string_shares_the_window(
    limiter: SendLimiter, clock: FakeClock
) -> None:
    await limiter.acquire(42)
    t0 = clock.monotonic()
    await limiter.acquire("42")
    assert clock.monotonic() >= t0 + 1.0


async def test_group_is_20_per_minute(limiter: SendLimiter, clock: FakeClock) -> None:
    log = await send_all(limiter, clock, [-100123] * 45)
    times = times_of(log)
    assert len(times) == 45
    assert max_in_window(times, 60.0) <= 20
    # 45 sends: 20 now, 20 a minute later, 5 two minutes later.
    assert max(times) - min(times) <= 125.0


async def test_channel_username_counts_as_group(limiter: SendLimiter, clock: FakeClock) -> None:
    log = await send_all(limiter, clock, ["@ita_news"] * 21 + ["@ITA_News"])
    times = times_of(log)
    assert max_in_window(times, 60.0) <= 20
    assert max(times) - min(times) >= 60.0


async def test_chat_id_none_counts_only_against_global_limit(
    limiter: SendLimiter, clock: FakeClock
) -> None:
    log = await send_all(limiter, clock, [None] * 30)
    times = times_of(log)
    assert times.count(1000.0) == 25
    assert max_in_window(times, 1.0) <= 25
    assert max(times) == pytest.approx(1001.0)


async def test_busy_private_chat_does_not_stall_other_chats(
    limiter: SendLimiter, clock: FakeClock
) -> None:
    busy = 7
    others = list(range(1000, 1040))
    chats: list[ChatId] = []
    for i, other in enumerate(others):  # interleave: busy, other, busy, other, ...
        if i < 30:
            chats.append(busy)
        chats.append(other)
    log = await send_all(limiter, clock, chats)

    assert_within_limits(log)
    busy_times = times_of(log, busy)
    other_times = [t for c, t in log if c != busy]
    assert len(busy_times) == 30
    assert busy_times[-1] - busy_times[0] >= 29.0
    # 40 other chats need two global windows, not the busy chat's 30 seconds.
    assert max(other_times) - min(busy_times) <= 2.0


async def test_full_group_at_the_head_of_the_queue_does_not_block_others(
    limiter: SendLimiter, clock: FakeClock
) -> None:
    group = -555
    # Fill this second's global budget so that everybody below has to queue.
    log = await send_all(limiter, clock, [None] * 25)
    log += await send_all(limiter, clock, [group] * 45 + list(range(1, 11)))
    assert_within_limits(log)
    # At 1001.0: 20 for the group + 5 privates; the group's other 25 are skipped
    # (they wait for their minute) and the remaining 5 privates go at 1002.0.
    private_times = sorted(t for c, t in log if isinstance(c, int) and c > 0)
    assert private_times == [1001.0] * 5 + [1002.0] * 5
    assert max(times_of(log, group)) >= 1001.0 + 120.0


async def test_random_mixed_load_respects_every_limit(
    limiter: SendLimiter, clock: FakeClock
) -> None:
    rng = random.Random(20261126)
    pool: list[ChatId] = [*range(1, 40), *range(-20, 0), "@a", "@b", None]
    log: list[tuple[ChatId, float]] = []
    for _ in range(6):
        chats = [rng.choice(pool) for _ in range(rng.randint(10, 120))]
        log += await send_all(limiter, clock, chats)
        clock.advance(rng.random() * 3)
    assert_within_limits(log)
    assert limiter.stats()["waiting"] == 0


async def test_pause_delays_the_next_send(limiter: SendLimiter, clock: FakeClock) -> None:
    await limiter.acquire(1)
    t0 = clock.monotonic()
    limiter.pause(3)
    limiter.pause(1)  # shorter: must not shorten the pause
    assert limiter.paused_for() == pytest.approx(3.0)
    await limiter.acquire(2)
    assert clock.monotonic() >= t0 + 3.0
    assert clock.monotonic() <= t0 + 3.1


async def test_pause_is_extended_by_a_longer_one(limiter: SendLimiter, clock: FakeClock) -> None:
    t0 = clock.monotonic()
    limiter.pause(3)
    clock.advance(1)
    limiter.pause(5)  # now until t0 + 6
    limiter.pause(0)
    limiter.pause(float("nan"))
    await limiter.acquire(None)
    assert clock.monotonic() >= t0 + 6.0


async def test_pause_holds_back_a_queue_of_waiters(limiter: SendLimiter, clock: FakeClock) -> None:
    t0 = clock.monotonic()
    limiter.pause(10)
    log = await send_all(limiter, clock, list(range(1, 51)))
    assert min(times_of(log)) >= t0 + 10.0
    assert_within_limits(log)


async def test_idle_chats_are_pruned(limiter: SendLimiter, clock: FakeClock) -> None:
    for i in range(10_000):
        chat = i + 1 if i % 2 else -(i + 1)
        await limiter.acquire(chat)
    # Only chats that sent within their window are still tracked: <= 25/s * 60 s.
    assert limiter.stats()["tracked_chats"] <= 25 * 60
    clock.advance(120)
    await limiter.acquire(1)
    stats = limiter.stats()
    assert stats["tracked_chats"] == 1
    assert stats["sent_last_second"] == 1
    assert len(limiter._chats) == 1
    assert len(limiter._pending) == 0
    assert len(limiter._sleepers) == 0
    assert stats["granted_total"] == 10_001


async def test_cancelled_waiter_leaves_no_trace(limiter: SendLimiter, clock: FakeClock) -> None:
    await limiter.acquire(1)
    blocked = asyncio.create_task(limiter.acquire(1))
    await asyncio.sleep(0)  # it starts waiting (and is the one sleeping on the clock)
    blocked.cancel()
    with pytest.raises(asyncio.CancelledError):
        await blocked
    assert limiter.stats()["waiting"] == 0
    assert not limiter._sleepers
    log = await send_all(limiter, clock, [1, 2, 3])
    assert len(log) == 3


async def test_cancelling_the_timekeeper_hands_over_to_the_next_waiter(
    limiter: SendLimiter, clock: FakeClock
) -> None:
    limiter.pause(5)
    first = asyncio.create_task(limiter.acquire(1))
    await asyncio.sleep(0)
    rest = asyncio.gather(*(limiter.acquire(c) for c in range(2, 6)))
    first.cancel()
    await rest
    with pytest.raises(asyncio.CancelledError):
        await first
    assert limiter.stats()["waiting"] == 0


def test_rejects_bad_configuration(clock: FakeClock) -> None:
    with pytest.raises(ValueError):
        SendLimiter(clock, global_per_second=0)
    with pytest.raises(ValueError):
        TelegramRateLimiter(clock, default_retries=-1)


async def test_rejects_bad_chat_id(limiter: SendLimiter) -> None:
    with pytest.raises(TypeError):
        await limiter.acquire(True)
    assert limiter.stats()["waiting"] == 0


# -- real-time semantics: concurrent sleepers overlap ----------------------------------


class VirtualClock:
    """Virtual time in which concurrent sleeps overlap, like a real clock.

    (FakeClock's ``sleep`` moves time at once, so two tasks sleeping 1 s "at the
    same time" move it 2 s.)  Sleepers wait until :meth:`run_until` moves time
    past their deadline; in between, all ready tasks are let run.
    """

    def __init__(self) -> None:
        self._mono = 1000.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return START + timedelta(seconds=self._mono - 1000.0)

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self._mono + seconds, next(self._seq), future))
        await future

    @staticmethod
    async def settle() -> None:
        for _ in range(50):
            await asyncio.sleep(0)

    async def run_until(self, until: float) -> None:
        while True:
            await self.settle()
            while self._timers and self._timers[0][2].done():  # cancelled sleepers
                heapq.heappop(self._timers)
            if not self._timers or self._timers[0][0] > until:
                break
            deadline, _, future = heapq.heappop(self._timers)
            self._mono = max(self._mono, deadline)
            future.set_result(None)
        self._mono = max(self._mono, until)
        await self.settle()


async def test_virtual_clock_200_private_chats_at_once() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(clock)
    sending = asyncio.ensure_future(send_all(limiter, clock, list(range(1, 201))))
    await clock.run_until(1100.0)
    log = await sending
    assert len(log) == 200
    assert_within_limits(log)
    assert max(times_of(log)) - 1000.0 == pytest.approx(7.0)


async def test_virtual_clock_arrivals_while_a_group_waits_its_minute() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(clock)
    group = asyncio.ensure_future(send_all(limiter, clock, [-9] * 21))
    await clock.run_until(1000.5)
    # The 21st group send now sleeps until 1060; 60 private sends arrive meanwhile.
    privates = asyncio.ensure_future(send_all(limiter, clock, list(range(1, 61))))
    await clock.run_until(1010.0)
    assert privates.done()
    private_log = await privates
    # 5 fit in the first second's budget (20 went to the group); then every
    # slot is reused exactly 1 s after it was used: sliding, not bucketed.
    expected = [(1000.5, 5), (1001.0, 20), (1001.5, 5), (1002.0, 20), (1002.5, 5), (1003.0, 5)]
    assert sorted(times_of(private_log)) == [t for t, n in expected for _ in range(n)]
    assert not group.done()
    await clock.run_until(1100.0)
    group_log = await group
    assert max(times_of(group_log)) == pytest.approx(1060.0)
    assert_within_limits(group_log + private_log)


async def test_virtual_clock_random_arrivals_respect_every_limit() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(clock)
    rng = random.Random(42)
    pool: list[ChatId] = [*range(1, 30), *range(-8, 0), "@chan", None]
    log: list[tuple[ChatId, float]] = []

    async def later(delay: float, chat: ChatId) -> None:
        await clock.sleep(delay)
        await limiter.acquire(chat)
        log.append((chat, clock.monotonic()))

    tasks = [asyncio.ensure_future(later(rng.random() * 20, rng.choice(pool))) for _ in range(600)]
    await clock.run_until(1000.0 + 2000.0)
    assert all(task.done() for task in tasks)
    await asyncio.gather(*tasks)
    assert len(log) == 600
    assert_within_limits(log)
    assert limiter.stats()["waiting"] == 0
    assert not limiter._sleepers


# -- TelegramRateLimiter ---------------------------------------------------------------


class FakeEndpoint:
    """A callback that fails with the given exceptions first, then returns ``result``."""

    def __init__(self, *failures: Exception, result: Any = None) -> None:
        self.failures = list(failures)
        self.result: Any = {"ok": True} if result is None else result
        self.calls: list[float] = []

    def bind(self, clock: FakeClock) -> FakeEndpoint:
        self.clock = clock
        return self

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(self.clock.monotonic())
        if self.failures:
            raise self.failures.pop(0)
        return self.result


@pytest.fixture
def ptb_limiter(clock: FakeClock) -> TelegramRateLimiter:
    return TelegramRateLimiter(clock)


async def call(
    rl: TelegramRateLimiter,
    endpoint: FakeEndpoint,
    name: str = "sendMessage",
    data: dict[str, Any] | None = None,
    rate_limit_args: dict[str, Any] | None = None,
) -> Any:
    return await rl.process_request(
        endpoint,
        (),
        {},
        name,
        {"chat_id": 123, "text": "hi"} if data is None else data,
        rate_limit_args,
    )


async def test_retry_after_is_retried_after_the_pause(
    ptb_limiter: TelegramRateLimiter, clock: FakeClock
) -> None:
    await ptb_limiter.initialize()
    endpoint = FakeEndpoint(RetryAfter(5)).bind(clock)
    t0 = clock.monotonic()
    assert await call(ptb_limiter, endpoint) == {"ok": True}
    assert len(endpoint.calls) == 2
    assert endpoint.calls[1] >= t0 + 5.0
    await ptb_limiter.shutdown()


async def test_retry_after_as_timedelta(
    ptb_limiter: TelegramRateLimiter, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB then hands out timedeltas
    exc = RetryAfter(timedelta(seconds=4))
    assert isinstance(exc.retry_after, timedelta)
    endpoint = FakeEndpoint(exc).bind(clock)
    t0 = clock.monotonic()
    await call(ptb_limiter, endpoint)
    assert endpoint.calls[1] >= t0 + 4.0


def test_retry_after_seconds_without_deprecation_noise(recwarn: pytest.WarningsRecorder) -> None:
    exc = RetryAfter(7)
    recwarn.clear()
    assert retry_after_seconds(exc) == 7.0
    assert not [w for w in recwarn if issubclass(w.category, PTBDeprecationWarning)]


async def test_retries_zero_propagates_but_pauses(
    ptb_limiter: TelegramRateLimiter, clock: FakeClock
) -> None:
    endpoint = FakeEndpoint(RetryAfter(5)).bind(clock)
    t0 = clock.monotonic()
    with pytest.raises(RetryAfter):
        await call(ptb_limiter, endpoint, rate_limit_args={"retries": 0})
    assert len(endpoint.calls) == 1
    assert clock.monotonic() == t0  # no waiting on the way out
    assert ptb_limiter.limiter.paused_for() == pytest.approx(5.0)
    # The next send anywhere waits for the pause.
    await ptb_limiter.limiter.acquire(999)
    assert clock.monotonic() >= t0 + 5.0


async def test_retries_are_bounded(ptb_limiter: TelegramRateLimiter, clock: FakeClock) -> None:
    endpoint = FakeEndpoint(RetryAfter(1), RetryAfter(2), RetryAfter(3)).bind(clock)
    with pytest.raises(RetryAfter):
        await call(ptb_limiter, endpoint)  # default_retries=1: two attempts
    assert len(endpoint.calls) == 2

    endpoint = FakeEndpoint(RetryAfter(1), RetryAfter(2)).bind(clock)
    assert await call(ptb_limiter, endpoint, rate_limit_args={"retries": 2}) == {"ok": True}
    assert len(endpoint.calls) == 3


async def test_endpoints_without_chat_id_bypass_the_limiter(
    ptb_limiter: TelegramRateLimiter, clock: FakeClock
) -> None:
    # Use up the global budget for this second first.
    await send_all(ptb_limiter.limiter, clock, list(range(1, 26)))
    t0 = clock.monotonic()
    requests: list[tuple[str, dict[str, Any]]] = [
        ("getMe", {}),
        ("setMyCommands", {"commands": []}),
        ("answerCallbackQuery", {"callback_query_id": "1", "text": "ok"}),
        ("editMessageText", {"inline_message_id": "abc", "text": "x"}),
    ]
    for name, data in requests:
        endpoint = FakeEndpoint(result=True).bind(clock)
        assert await call(ptb_limiter, endpoint, name, data) is True
    assert clock.monotonic() == t0
    assert ptb_limiter.limiter.stats()["sent_last_second"] == 25


async def test_sending_endpoints_are_throttled(
    ptb_limiter: TelegramRateLimiter, clock: FakeClock
) -> None:
    endpoint = FakeEndpoint().bind(clock)
    await asyncio.gather(
        *(call(ptb_limiter, endpoint, data={"chat_id": "@chan", "text": str(i)}) for i in range(21))
    )
    assert max_in_window(endpoint.calls, 60.0) <= 20
    assert max(endpoint.calls) - min(endpoint.calls) >= 60.0


async def test_other_errors_propagate_without_retry(
    ptb_limiter: TelegramRateLimiter, clock: FakeClock
) -> None:
    endpoint = FakeEndpoint(NetworkError("boom")).bind(clock)
    with pytest.raises(NetworkError):
        await call(ptb_limiter, endpoint)
    assert len(endpoint.calls) == 1
    assert ptb_limiter.limiter.paused_for() == 0.0


class ScriptedBotApi(BaseRequest):
    """A Bot API double for ExtBot: answers every method, 429s the first sendMessage."""

    def __init__(self, clock: FakeClock, *, flood_first: int = 1) -> None:
        self.clock = clock
        self.flood_left = flood_first
        self.calls: list[tuple[str, dict[str, Any], float]] = []

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append((endpoint, params, self.clock.monotonic()))
        if endpoint == "getMe":
            user = {"id": 1, "is_bot": True, "first_name": "Bot", "username": "bot"}
            return 200, json.dumps({"ok": True, "result": user}).encode()
        if endpoint == "sendMessage" and self.flood_left:
            self.flood_left -= 1
            body = {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3},
            }
            return 429, json.dumps(body).encode()
        message = {
            "message_id": len(self.calls),
            "date": 0,
            "chat": {"id": params.get("chat_id", 0), "type": "private"},
            "text": params.get("text", ""),
        }
        return 200, json.dumps({"ok": True, "result": message}).encode()


async def test_through_ptb_extbot(clock: FakeClock) -> None:
    api = ScriptedBotApi(clock)
    rl = TelegramRateLimiter(clock)
    bot: ExtBot[dict[str, Any]] = ExtBot(
        "1:secret", request=api, get_updates_request=api, rate_limiter=rl
    )
    async with bot:
        t0 = clock.monotonic()
        await bot.send_message(chat_id=5, text="one")  # 429 once, retried after 3 s
        await bot.send_message(chat_id=5, text="two")  # same private chat: 1.15 s later
        sends = [t for endpoint, _, t in api.calls if endpoint == "sendMessage"]
        assert sends == pytest.approx([t0, t0 + 3.0, t0 + 4.15])

        api.flood_left = 1
        with pytest.raises(RetryAfter):
            await bot.send_message(chat_id=6, text="outbox", rate_limit_args={"retries": 0})
        assert rl.limiter.paused_for() == pytest.approx(3.0)
        before = clock.monotonic()
        await bot.get_me()  # no chat_id: not throttled, not paused
        assert clock.monotonic() == before


async def test_the_bots_limiter_leaves_a_margin_between_sends_to_one_chat(
    clock: FakeClock,
) -> None:
    """Spaced exactly 1.000 s, network jitter makes Telegram see two sends within a second."""
    limiter = TelegramRateLimiter(clock).limiter
    private = [await _timed(limiter, clock, 5) for _ in range(4)]
    assert [b - a for a, b in itertools.pairwise(private)] == pytest.approx([1.15] * 3)
    group = [await _timed(limiter, clock, -100) for _ in range(21)]
    assert group[20] - group[0] == pytest.approx(60.15)
    with pytest.raises(ValueError, match="chat_margin"):
        SendLimiter(clock, chat_margin=1.5)


async def _timed(limiter: SendLimiter, clock: FakeClock, chat: int) -> float:
    await limiter.acquire(chat)
    return clock.monotonic()
