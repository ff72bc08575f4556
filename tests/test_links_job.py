"""The scheduled link checks end to end: the job the application registers, the local web
site, the Bot API emulator.  A link that breaks alerts its publisher and goes into the
head's digest under "evidence to repair"; readiness counts only live links; when it works
again that is recorded; a changed page is recorded as changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from bot.app import build_application
from bot.fmt import Fmt
from bot.reports.digest import render_digest
from bot.reports.digest_data import digest_data
from bot.store.db import Database
from bot.store.models import EvidenceLink, LinkCheck, Occurrence
from bot.telegram.context import set_app_context
from tests.support.chat import Harness, text_of
from tests.support.websites import OFFICE, Website
from tests.support.world import World
from tests.test_links_chat import CLERK, at_publish, office


async def run_link_job(w: World, h: Harness) -> None:
    """What the JobQueue does when ``link_check`` is due: the application's own job."""
    app = build_application(w.ctx.settings, clock=w.clock, db=w.ctx.db, startup=False)
    set_app_context(app, w.ctx)
    assert app.job_queue is not None
    [job] = [j for j in app.job_queue.jobs() if j.name == "link_check"]
    await job.callback(app.context_types.context.from_job(job, app))


async def link(db: Database, url: str) -> EvidenceLink:
    async with db.transaction() as s:
        got = await s.scalar(select(EvidenceLink).where(EvidenceLink.url == url))
        assert got is not None
        s.expunge(got)
        return got


async def digest_text(w: World) -> str:
    async with w.ctx.db.transaction() as s:
        data = await digest_data(s, w.ctx, w.org.id, w.clock.now())
    return render_digest(Fmt(lang="th"), data)


async def publish(h: Harness, site: Website, code: str, path: str) -> str:
    url = site.url(OFFICE, path)
    assert "ลิงก์เปิดได้" in text_of(await h.say(CLERK, f"/done {code} {url}"))
    return url


async def test_a_link_that_breaks_alerts_its_publisher_and_the_digest(db: Database) -> None:
    async with office(db) as (w, site, h):
        await at_publish(db, w, "O10", "O12")
        url = await publish(h, site, "O10", "/ita/o10")
        other = await publish(h, site, "O12", "/ita/report.pdf")
        first = await link(db, url)
        # checked at publish (Thu 26 Nov 2026): next, a week later at 06:00 Bangkok
        assert first.next_check_at == datetime(2026, 12, 2, 23, 0, tzinfo=UTC)
        assert "ลิงก์เปิดได้" not in await digest_text(w)  # nothing to repair

        # the page goes; at the weekly check, the publisher hears of it
        site.pages[(OFFICE, "/ita/o10")].status = 404
        assert first.next_check_at is not None
        w.clock.set(first.next_check_at)
        await run_link_job(w, h)
        [alert] = [c for c in await h.deliver() if c.chat_id == CLERK.id]
        said = alert.params["text"]
        assert "O10" in said and "เปิดไม่ได้แล้ว" in said and "HTTP ๔๐๔" in said and url in said
        broken = await link(db, url)
        # (the fake clock moved on while the checker kept its pace of 1 request/s per site)
        assert broken.state == "dead" and broken.broken_since is not None
        assert first.next_check_at <= broken.broken_since <= w.clock.now()
        assert (await link(db, other)).state == "live"  # checked too, and fine

        # the head's digest: evidence to repair, and readiness counts only live links
        digest = await digest_text(w)
        assert "หลักฐานที่ต้องแก้ไข (๑ ลิงก์)" in digest and url in digest, digest
        assert "ลิงก์หลักฐานเปิดไม่ได้: O10" in digest, digest

        # a second run before the next check is due fetches nothing
        hits = len(site.hits)
        await run_link_job(w, h)
        assert len(site.hits) == hits

        # repaired, with new content: recovered, and the change is recorded
        site.pages[(OFFICE, "/ita/o10")].status = 200
        site.pages[(OFFICE, "/ita/o10")].body = (
            "<html><body><p>" + "ฉบับปรับปรุง " * 10 + "</p></body></html>"
        )
        w.clock.set(broken.next_check_at)  # type: ignore[arg-type]
        await run_link_job(w, h)
        [ok] = [c for c in await h.deliver() if c.chat_id == CLERK.id]
        assert "กลับมาเปิดได้แล้ว" in ok.params["text"]
        back = await link(db, url)
        assert back.state == "live" and broken.next_check_at <= back.recovered_at <= w.clock.now()  # type: ignore[operator]
        assert back.first_live_at == first.first_live_at  # the proof stays the first time
        assert back.body_hash != first.body_hash
        assert "หลักฐานที่ต้องแก้ไข" not in await digest_text(w)
    async with db.transaction() as s:
        checks = list(
            await s.scalars(
                select(LinkCheck).where(LinkCheck.link_id == back.id).order_by(LinkCheck.id)
            )
        )
    assert [(c.trigger, c.live, c.changed) for c in checks] == [
        ("publish", True, False),
        ("scheduled", False, False),
        ("scheduled", True, True),
    ]
    assert checks[1].http_status == 404 and checks[0].body_hash and checks[2].body_hash


async def test_links_are_checked_daily_from_february_to_april(db: Database) -> None:
    start = datetime(2027, 1, 28, 3, 0, tzinfo=UTC)
    async with office(db, start=start) as (w, site, h):
        await at_publish(db, w, "O10")
        url = await publish(h, site, "O10", "/ita/o10")
        due = (await link(db, url)).next_check_at
        assert due == datetime(2027, 1, 31, 23, 0, tzinfo=UTC)  # 1 Feb 06:00 Bangkok
        assert due is not None
        w.clock.set(due)
        await run_link_job(w, h)
        assert (await link(db, url)).next_check_at == due + timedelta(days=1)


async def test_a_link_published_without_a_check_is_checked_by_the_job(db: Database) -> None:
    """With the publish-time check off, the job checks a new link at its next run."""
    async with office(db, link_check_on_publish=False) as (w, site, h):
        ids = await at_publish(db, w, "O10")
        url = site.url(OFFICE, "/ita/o10")
        assert "เผยแพร่แล้ว" in text_of(await h.say(CLERK, f"/done O10 {url}"))
        assert site.hits == []
        assert "ลิงก์ยังไม่ได้ตรวจ: O10" in await digest_text(w)
        await run_link_job(w, h)
        assert (await link(db, url)).state == "live"
        assert "ลิงก์ยังไม่ได้ตรวจ" not in await digest_text(w)
    async with db.transaction() as s:
        assert (await s.get(Occurrence, ids["O10"])).status == "done"  # type: ignore[union-attr]


async def test_links_published_before_there_were_checks_get_checked(db: Database) -> None:
    """A database upgraded from before link checks: its evidence URLs have no rows yet."""
    async with office(db, link_check_on_publish=False) as (w, site, h):
        await at_publish(db, w, "O10")
        url = site.url(OFFICE, "/ita/o10")
        assert "เผยแพร่แล้ว" in text_of(await h.say(CLERK, f"/done O10 {url}"))
        async with db.transaction() as s:
            await s.execute(delete(EvidenceLink))  # as before migration 0007
        await run_link_job(w, h)
        assert (await link(db, url)).state == "live"
