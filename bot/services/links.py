"""The record of each evidence link: what every check found, when it was first seen
live, when its content changed, when it broke and when it came back.

The current evidence URLs are the latest published one of each item and period (an
office's done occurrences with a URL, the newest per item and covered period).  The
job (:func:`check_due_links`) checks those whose ``next_check_at`` has come, with no
database transaction open while it fetches; each result is then written in its own
unit of work.  A link that breaks tells its publisher; one that works again is recorded
(and they are told that too).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import LinkState, LinkTrigger, OccStatus, code_key
from bot.fmt import Fmt
from bot.links.fetch import Fetched, LinkFetcher
from bot.schedule.linkcheck import next_link_check
from bot.services.context import AppContext
from bot.services.org import Catalogues
from bot.services.outbox import enqueue
from bot.store.models import EvidenceLink, LinkCheck, Occurrence, Person

log = logging.getLogger(__name__)

BATCH = 500  # links looked at per run of the job
HOSTS_AT_ONCE = 8


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


async def fetch(ctx: AppContext, url: str) -> Fetched:
    """Check one URL now (no database work: call it outside a transaction)."""
    async with LinkFetcher(ctx.settings, ctx.link_pacer) as fetcher:
        return await fetcher.check(url)


async def link_of(session: AsyncSession, org_id: int, url: str, now: datetime) -> EvidenceLink:
    """The office's row for ``url``, made (due a check at once) when it has none."""
    link = await session.scalar(
        select(EvidenceLink).where(
            EvidenceLink.org_id == org_id, EvidenceLink.url_hash == url_hash(url)
        )
    )
    if link is None:
        link = EvidenceLink(
            org_id=org_id, url=url, url_hash=url_hash(url), state=LinkState.UNCHECKED, checks=0,
            next_check_at=now, created_at=now,
        )  # fmt: skip
        session.add(link)
        await session.flush()
    return link


async def keep_checking(session: AsyncSession, org_id: int, url: str, now: datetime) -> None:
    """A URL just published as evidence is checked by the job: a new one at once, one
    whose checks had stopped (it was superseded, and is current again) from now on."""
    link = await link_of(session, org_id, url, now)
    if link.next_check_at is None:
        link.next_check_at = now


@dataclass(frozen=True)
class Recorded:
    link: EvidenceLink
    check: LinkCheck
    change: str | None  # "broken" | "recovered" | None


def apply(
    link: EvidenceLink, got: Fetched, now: datetime, ctx: AppContext
) -> tuple[bool, str | None]:
    """Update ``link`` with a check's result: (content changed, "broken"/"recovered"/None)."""
    was = link.state
    changed = bool(got.live and link.body_hash and got.body_hash != link.body_hash)
    if got.live:
        if link.first_live_at is None:
            link.first_live_at = now
        if changed:
            link.content_changed_at = now
        link.body_hash = got.body_hash
        link.state, link.reason, link.broken_since = LinkState.LIVE, None, None
    else:
        link.state, link.reason = LinkState.DEAD, got.reason
        if was != LinkState.DEAD:
            link.broken_since = now
    link.http_status, link.final_url = got.status, got.final_url
    link.content_type, link.size = got.content_type, got.size
    link.last_checked_at = now
    link.checks = (link.checks or 0) + 1
    link.next_check_at = next_link_check(now, ctx.tz, ctx.settings.link_check_hour)
    change = None
    if was == LinkState.LIVE and not got.live:
        change = "broken"
    elif was == LinkState.DEAD and got.live:
        change = "recovered"
        link.recovered_at = now
    return changed, change


async def record_check(
    session: AsyncSession,
    ctx: AppContext,
    org_id: int,
    got: Fetched,
    now: datetime,
    trigger: LinkTrigger,
) -> Recorded:
    link = await link_of(session, org_id, got.url, now)
    changed, change = apply(link, got, now, ctx)
    check = LinkCheck(
        link_id=link.id, at=now, trigger=trigger, live=got.live, reason=got.reason,
        http_status=got.status, final_url=got.final_url, content_type=got.content_type,
        size=got.size, body_hash=got.body_hash, changed=changed, detail=got.detail,
    )  # fmt: skip
    session.add(check)
    await session.flush()
    return Recorded(link, check, change)


# -- which links are current ---------------------------------------------------------------


async def current_links(
    session: AsyncSession, org_id: int | None = None
) -> dict[tuple[int, str], list[Occurrence]]:
    """(office, URL) → the occurrences whose current evidence it is: for each item and
    covered period, the URL of the latest published occurrence."""
    stmt = select(Occurrence).where(
        Occurrence.status == OccStatus.DONE.value, Occurrence.evidence_url.is_not(None)
    )
    if org_id is not None:
        stmt = stmt.where(Occurrence.org_id == org_id)
    latest: dict[tuple[int, str, str], Occurrence] = {}
    for occ in await session.scalars(stmt):
        key = (occ.org_id, occ.code, occ.covered_key)
        old = latest.get(key)
        if old is None or (occ.completed_at or occ.updated_at, occ.id) > (
            old.completed_at or old.updated_at,
            old.id,
        ):
            latest[key] = occ
    out: dict[tuple[int, str], list[Occurrence]] = defaultdict(list)
    for occ in latest.values():
        assert occ.evidence_url is not None
        out[(occ.org_id, occ.evidence_url)].append(occ)
    return dict(out)


async def links_by_url(session: AsyncSession, org_id: int) -> dict[str, EvidenceLink]:
    rows = await session.scalars(select(EvidenceLink).where(EvidenceLink.org_id == org_id))
    return {link.url: link for link in rows}


async def _backfill(session: AsyncSession, now: datetime) -> None:
    """Rows for published URLs that have none yet (published before there were checks, or
    with the publish-time check off): due a check at once."""
    known = select(EvidenceLink.id).where(
        EvidenceLink.org_id == Occurrence.org_id, EvidenceLink.url == Occurrence.evidence_url
    )
    rows = await session.execute(
        select(Occurrence.org_id, Occurrence.evidence_url)
        .where(
            Occurrence.status == OccStatus.DONE.value,
            Occurrence.evidence_url.is_not(None),
            ~known.exists(),
        )
        .distinct()
        .limit(BATCH)
    )
    for org_id, url in rows:
        await link_of(session, int(org_id), str(url), now)


async def _due(ctx: AppContext, now: datetime) -> list[tuple[int, str]]:
    """The current links due a check, soonest first (one indexed range scan).  A due link
    that is no longer any item's current evidence is not checked again."""
    async with ctx.db.transaction() as s:
        await _backfill(s, now)
        links = list(
            await s.scalars(
                select(EvidenceLink)
                .where(EvidenceLink.next_check_at <= now)
                .order_by(EvidenceLink.next_check_at, EvidenceLink.id)
                .limit(BATCH)
            )
        )
        current: set[tuple[int, str]] = set()
        for org_id in {link.org_id for link in links}:
            current |= set(await current_links(s, org_id))
        due = []
        for link in links:
            if (link.org_id, link.url) in current:
                due.append((link.org_id, link.url))
            else:
                link.next_check_at = None  # superseded: its record stays, its checks stop
    return due


async def check_due_links(ctx: AppContext, now: datetime, *, budget_seconds: float = 600) -> int:
    """Check every current link that is due; returns how many were checked."""
    due = await _due(ctx, now)
    by_host: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for org_id, url in due:
        by_host[(urlsplit(url).hostname or "").lower()].append((org_id, url))
    deadline = ctx.clock.monotonic() + budget_seconds
    gate = asyncio.Semaphore(HOSTS_AT_ONCE)
    done = 0

    async def one_host(fetcher: LinkFetcher, links: list[tuple[int, str]]) -> None:
        nonlocal done
        async with gate:
            for org_id, url in links:
                if ctx.clock.monotonic() > deadline:
                    return
                got = await fetcher.check(url)
                await _record_scheduled(ctx, org_id, got)
                done += 1

    async with LinkFetcher(ctx.settings, ctx.link_pacer) as fetcher:
        await asyncio.gather(*(one_host(fetcher, links) for links in by_host.values()))
    return done


async def _record_scheduled(ctx: AppContext, org_id: int, got: Fetched) -> None:
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        rec = await record_check(s, ctx, org_id, got, now, LinkTrigger.SCHEDULED)
        if rec.change is not None:
            occs = (await current_links(s, org_id)).get((org_id, got.url), [])
            await tell_publishers(s, ctx, rec, occs, now)


async def tell_publishers(
    session: AsyncSession, ctx: AppContext, rec: Recorded, occs: list[Occurrence], now: datetime
) -> None:
    """A link broke (or works again): tell whoever published it, once per check."""
    titles = Catalogues(session, ctx)
    for occ in occs:
        person = await session.get(Person, occ.completed_by) if occ.completed_by else None
        if person is None or not person.reachable:
            continue
        fmt = Fmt.of(ctx.settings, person.language)
        text = fmt.t(
            f"link.{rec.change}",
            code=occ.code,
            title=await titles.title(occ),
            period=fmt.period(occ.covered_key),
            url=rec.link.url,
            why=fmt.t(
                f"link.reason.{rec.link.reason or 'http'}",
                status=fmt.num(rec.link.http_status or 0),
            ),
        )
        await enqueue(
            session,
            org_id=occ.org_id,
            person_id=person.id,
            chat_id=person.chat_id or 0,
            kind="link_alert",
            dedupe_key=f"link:{rec.check.id}:{occ.id}:{person.id}",
            text=text,
            items=[occ.id],
            now=now,
        )


@dataclass(frozen=True)
class RepairLine:
    """A current evidence link whose last check failed: for the head's digest."""

    code: str
    period_key: str
    url: str
    reason: str
    status: int | None
    since: datetime | None


async def links_to_repair(session: AsyncSession, org_id: int) -> list[RepairLine]:
    links = await links_by_url(session, org_id)
    out = []
    for (_, url), occs in (await current_links(session, org_id)).items():
        link = links.get(url)
        if link is None or link.state != LinkState.DEAD:
            continue
        for occ in occs:
            out.append(
                RepairLine(occ.code, occ.covered_key, url, link.reason or "http",
                           link.http_status, link.broken_since)
            )  # fmt: skip
    return sorted(out, key=lambda r: (code_key(r.code), r.period_key))
