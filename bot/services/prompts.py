"""The bot asked for free text (a reason, a URL): what the person's next message answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.outcome import Outcome
from bot.store.models import Occurrence, PendingPrompt, Person

if TYPE_CHECKING:
    from bot.services.chain import Chain

PROMPT_TTL_HOURS = 24


async def set_prompt(
    session: AsyncSession,
    person: Person,
    action: str,
    occ: Occurrence,
    now: datetime,
    *,
    url: str | None = None,
) -> None:
    existing = await session.get(PendingPrompt, person.id)
    if existing is not None:
        await session.delete(existing)
        await session.flush()
    session.add(
        PendingPrompt(
            person_id=person.id,
            action=action,
            occurrence_id=occ.id,
            stage=occ.stage,
            version=occ.version,
            created_at=now,
            expires_at=now + timedelta(hours=PROMPT_TTL_HOURS),
            url=url,
        )
    )


async def take_prompt(session: AsyncSession, person: Person, now: datetime) -> PendingPrompt | None:
    prompt = await session.get(PendingPrompt, person.id)
    if prompt is None:
        return None
    if prompt.expires_at <= now:
        await session.delete(prompt)
        return None
    return prompt


async def clear_prompt(session: AsyncSession, person: Person) -> bool:
    prompt = await session.get(PendingPrompt, person.id)
    if prompt is None:
        return False
    await session.delete(prompt)
    return True


async def answer_prompt(chain: Chain, prompt: PendingPrompt, text: str) -> Outcome:
    """The person's free text answers what the bot asked; the prompt stays until it is valid."""
    if prompt.action == "url":
        out = await chain.publish(prompt.occurrence_id, text)
    elif prompt.action == "reason_back":
        out = await chain.send_back(prompt.occurrence_id, text)
    elif prompt.action == "reason_na":
        out = await chain.not_applicable(prompt.occurrence_id, prompt.stage, text)
    else:
        out = Outcome(False, "ask.nothing")
    if out.prompt is None:  # answered, or the occurrence moved on meanwhile
        await clear_prompt(chain.s, chain.actor)
    return out
