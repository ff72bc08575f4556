"""The delivery floor beside the morning: how fast a bare HTTP client hands the same
message to the same emulator, on the same machine, in the same run.

No bot: ``httpx`` posts ``sendMessage`` (the text and buttons of one of the morning's
reminders, form-encoded as python-telegram-bot sends them) to the emulator in its own
process, ``concurrency`` requests in flight, and reads each answer's JSON.  What the bot
adds over this is its own work per message: the claim, the limiter, PTB's request and
answer objects, and the commit recording each send.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from bench.common import TOKEN
from bench.emuproc import EmulatorProcess


async def http_floor(
    text: str, reply_markup: object, *, messages: int = 3000, concurrency: int = 8
) -> float:
    """Messages a second that the bare client gets answered."""
    with EmulatorProcess(TOKEN) as emu:
        url = f"{emu.base_url}/bot{TOKEN}/sendMessage"
        markup = json.dumps(reply_markup) if reply_markup else None
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(messages):
            queue.put_nowait(100_000 + n)
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as http:

            async def worker() -> None:
                while not queue.empty():
                    chat = queue.get_nowait()
                    data = {"chat_id": str(chat), "text": text}
                    if markup:
                        data["reply_markup"] = markup
                    answer = await http.post(url, data=data)
                    answer.raise_for_status()
                    if not answer.json()["ok"]:
                        raise RuntimeError(answer.text)

            started = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            took = time.monotonic() - started
        emu.arrivals()
    return messages / took
