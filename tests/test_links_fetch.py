"""The link checker against a local web site: live pages, HTTP errors, redirects, login
walls, a slow page, soft 404s, a name that does not resolve, and addresses it must refuse."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.clock import FakeClock
from bot.links.fetch import HostPacer, LinkFetcher, permitted
from tests.support.websites import DRIVE, FACEBOOK, OFFICE, Website, running_website
from tests.support.world import test_settings as settings_with


@pytest.fixture
def site() -> Iterator[Website]:
    with running_website() as s:
        yield s


def fetcher(site: Website, clock: FakeClock | None = None, **extra: object) -> LinkFetcher:
    clock = clock or FakeClock(datetime(2027, 2, 1, tzinfo=UTC))
    settings = settings_with(**{**site.settings(), **extra})
    return LinkFetcher(settings, HostPacer(clock, settings.link_check_per_host_per_second))


@pytest.mark.parametrize(
    ("host", "path", "reason"),
    [
        (OFFICE, "/ita/o1", None),
        (OFFICE, "/ita/report.pdf", None),
        (OFFICE, "/nohead", None),
        (OFFICE, "/r/5", None),
        (OFFICE, "/r/6", "redirects"),
        (OFFICE, "/gone", "http"),
        (OFFICE, "/missing-page", "http"),
        (OFFICE, "/soft404", "not_found"),
        (OFFICE, "/empty", "empty"),
        (OFFICE, "/slow", "timeout"),
        (OFFICE, "/internal", "private"),
        (DRIVE, "/file/d/abc/view", "login"),
        (FACEBOOK, "/bangsaipa/posts/1", "login"),
    ],
)
async def test_what_a_check_recognises(
    site: Website, host: str, path: str, reason: str | None
) -> None:
    async with fetcher(site) as f:
        got = await f.check(site.url(host, path))
    assert got.reason == reason, got


async def test_a_live_page_is_recorded_with_status_final_url_type_size_and_hash(
    site: Website,
) -> None:
    async with fetcher(site) as f:
        first = await f.check(site.url(OFFICE, "/r/2"))
        site.pages[(OFFICE, "/ita/o1")].body = (
            "<html><body><p>" + "ฉบับแก้ไข " * 10 + "</p></body></html>"
        )
        second = await f.check(site.url(OFFICE, "/r/2"))
    assert first.live and first.status == 200
    assert first.final_url == site.url(OFFICE, "/ita/o1")
    assert first.content_type == "text/html; charset=utf-8"
    assert first.size and first.size > 100
    assert first.body_hash and len(first.body_hash) == 64
    assert second.live and second.body_hash != first.body_hash


async def test_head_first_then_get_where_head_is_refused(site: Website) -> None:
    async with fetcher(site) as f:
        await f.check(site.url(OFFICE, "/nohead"))
        await f.check(site.url(OFFICE, "/gone"))
    methods = [(h.method, h.path) for h in site.hits]
    assert methods == [("HEAD", "/nohead"), ("GET", "/nohead"), ("HEAD", "/gone"), ("GET", "/gone")]
    assert all(h.user_agent.startswith("ITADutyBot/") for h in site.hits)
    assert "link checker" in site.hits[0].user_agent


async def test_at_most_one_request_a_second_per_host(site: Website) -> None:
    clock = FakeClock(datetime(2027, 2, 1, tzinfo=UTC))
    start = clock.monotonic()
    async with fetcher(site, clock) as f:
        for path in ("/ita/o1", "/ita/o10", "/ita/o23"):
            await f.check(site.url(OFFICE, path))
        # six requests to the office's site (HEAD and GET each), the first at once
        assert clock.monotonic() - start == pytest.approx(5.0)
        await f.check(site.url(DRIVE, "/file/d/abc/view"))  # another host: its HEAD at once
        assert clock.monotonic() - start == pytest.approx(6.0)


async def test_a_name_that_does_not_resolve(site: Website) -> None:
    async with fetcher(site) as f:
        got = await f.check("http://www.old-domain-bangsaipa.invalid/ita/o1")
    assert got.reason == "dns"


async def test_loopback_is_refused_unless_the_setting_allows_it(site: Website) -> None:
    async with fetcher(site, link_check_allow_loopback=False) as f:
        got = await f.check(site.url(OFFICE, "/ita/o1"))
    assert got.reason == "private" and site.hits == []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "::ffff:10.0.0.1",
    ],
)
def test_addresses_never_connected_to(address: str) -> None:
    assert not permitted(address, allow_loopback=False)


def test_public_addresses_are_connected_to() -> None:
    assert permitted("203.150.1.10", allow_loopback=False)
    assert permitted("127.0.0.1", allow_loopback=True)
    assert not permitted("10.0.0.1", allow_loopback=True)
