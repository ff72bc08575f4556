"""The publish-time link check: before the publisher is thanked, the URL is fetched.

A live link is published at once.  A link that fails gets a polite warning with two
buttons, "check again" and "keep it anyway" (the URL waits in the person's pending
prompt, so they may also just send another one).  The fetch runs after the turn's unit
of work has committed, outside any transaction; the result is written in a new one.
"""

from __future__ import annotations

from bot.domain import LinkTrigger, Stage
from bot.domain.callbacks import LinkAct, LinkCall, encode
from bot.links.fetch import Fetched
from bot.services.chain import Chain
from bot.services.context import AppContext
from bot.services.links import fetch, record_check
from bot.services.outcome import Confirm, Outcome
from bot.services.prompts import clear_prompt, set_prompt, take_prompt
from bot.store.models import Person


def warning(occ_id: int, code: str, got: Fetched) -> Outcome:
    return Outcome(
        False,
        "link.warn",
        {
            "code": code,
            "url": got.url,
            "why": (f"link.reason.{got.reason}", {"status": got.status or ""}),
        },
        buttons=[
            ("link.btn.retry", encode(LinkCall(LinkAct.RETRY, occ_id))),
            ("link.btn.keep", encode(LinkCall(LinkAct.KEEP, occ_id))),
        ],
    )


async def check_then_publish(
    ctx: AppContext,
    person_id: int,
    occ_id: int,
    url: str,
    confirm: Confirm,
    trigger: LinkTrigger = LinkTrigger.PUBLISH,
) -> Outcome:
    """Fetch ``url``, then publish it if live, the publisher's confirmation queued with the
    publication (``confirm``); else warn."""
    got = await fetch(ctx, url)
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        person = await s.get(Person, person_id)
        if person is None:
            return Outcome(False, "act.not_found")
        chain = Chain(s, ctx, person, now)
        occ, err = await chain.load(occ_id, Stage.PUBLISH)
        if err:
            return err  # somebody else published it meanwhile, say
        assert occ is not None
        await record_check(s, ctx, occ.org_id, got, now, trigger)
        if got.live:
            out = await chain.publish(occ_id, url, checked=True)
            if out.ok:
                await clear_prompt(s, person)  # a URL that waited on "check again", say
                out.key = "act.published_live"
                out.confirmed = await confirm(s, out)
            return out
        await set_prompt(s, person, "url", occ, now, url=url)
        return warning(occ_id, occ.code, got)


async def waiting_url(chain: Chain, occ_id: int) -> str | None:
    """The URL that failed its check for ``occ_id`` and waits on the actor's decision."""
    prompt = await take_prompt(chain.s, chain.actor, chain.now)
    if prompt is None or prompt.occurrence_id != occ_id or prompt.action != "url":
        return None
    return prompt.url


async def retry(chain: Chain, occ_id: int) -> Outcome:
    """ "Check again": the waiting URL, checked once more (after the commit)."""
    url = await waiting_url(chain, occ_id)
    if url is None:
        return Outcome(False, "link.nothing_waiting")
    occ, err = await chain.load(occ_id, Stage.PUBLISH)
    if err:
        return err
    ctx, person_id = chain.ctx, chain.actor.id

    async def again(confirm: Confirm) -> Outcome:
        return await check_then_publish(ctx, person_id, occ_id, url, confirm, LinkTrigger.RETRY)

    return Outcome(True, "link.checking", {"url": url}, occ, then=again)


async def keep(chain: Chain, occ_id: int) -> Outcome:
    """ "Keep it anyway": published with the URL that failed; the checks go on."""
    url = await waiting_url(chain, occ_id)
    if url is None:
        return Outcome(False, "link.nothing_waiting")
    out = await chain.publish(occ_id, url, kept=True)
    if out.ok:
        await clear_prompt(chain.s, chain.actor)
    return out
