"""Evidence URLs are a security boundary: only public http(s) pages get in, and each
refusal says why, politely."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.services.evidence import MAX_URL_LENGTH, check_evidence_url
from bot.store.db import Database
from bot.store.models import Occurrence
from tests.support.botapi import BotApiEmulator
from tests.support.chat import User, chat_harness, text_of
from tests.support.world import chat_world

REFUSED = {
    # the cases
    "http://localhost/x": "url.private",
    "http://127.0.0.1/admin": "url.private",
    "http://169.254.169.254/latest/meta-data": "url.private",
    "http://10.0.0.1/": "url.private",
    "https://evil.example@bangsaipa.go.th/x": "url.userinfo",
    "https://www.bangsaipa.go.th:99999/x": "url.port",
    "https://www.bangsaipa.go.th/" + "x" * MAX_URL_LENGTH: "url.too_long",
    # the same places written otherwise
    "http://LOCALHOST./x": "url.private",
    "http://intranet.local/": "url.private",
    "http://192.168.1.1/": "url.private",
    "http://172.16.0.5/": "url.private",
    "http://100.64.0.1/": "url.private",
    "http://0.0.0.0/": "url.private",
    "http://[::1]/": "url.private",
    "http://[fe80::1%25eth0]/": "url.private",
    "http://[::ffff:127.0.0.1]/": "url.private",
    "http://[::ffff:a9fe:a9fe]/": "url.private",  # 169.254.169.254, mapped
    "http://[64:ff9b::a00:1]/": "url.private",  # 10.0.0.1 through NAT64
    "http://127。0。0。1/": "url.private",  # ideographic full stops
    "http://１２７.０.０.１/": "url.private",  # full-width digits
    "http://127.1/": "url.host",
    "http://2130706433/": "url.host",
    "http://0x7f000001/": "url.host",
    "http://%31%32%37.0.0.1/": "url.host",
    "http://a.go.th\\@evil.com/": "url.malformed",
    "https://user:pass@www.a.go.th/": "url.userinfo",
    "https://www.a.go.th:0/": "url.port",
    "https://www.a.go.th:http/": "url.port",
    "ftp://www.a.go.th/x": "url.scheme",
    "javascript:alert(1)": "url.scheme",
    "file:///etc/passwd": "url.scheme",
    "www.a.go.th/x": "url.scheme",
    "https://www.a.go.th/x y": "url.malformed",
    "https://": "url.host",
    "http://[::1/": "url.malformed",
    "http://-bad-.go.th/": "url.host",
}
ACCEPTED = [
    "https://www.bangsaipa.go.th/ita/o10",
    "http://bangsaipa.go.th/news?id=12#top",
    "https://www.bangsaipa.go.th:8443/x",
    "https://www.อบต.go.th/ข่าว/ประกาศ",  # an IDN host and a Thai path
    "https://8.8.8.8/report.pdf",
    "http://[2606:4700:4700::1111]/",
    "<https://www.bangsaipa.go.th/o10>",
    "https://www.bangsaipa.go.th/" + "x" * (MAX_URL_LENGTH - 28),
]


@pytest.mark.parametrize("url", list(REFUSED))
def test_unsafe_or_broken_urls_are_refused_with_a_reason(url: str) -> None:
    check = check_evidence_url(url)
    assert check.url is None and check.reason == REFUSED[url]


@pytest.mark.parametrize("url", ACCEPTED)
def test_public_http_urls_are_accepted(url: str) -> None:
    check = check_evidence_url(url)
    assert check.ok and check.url == url.strip("<>")


async def test_the_publish_step_refuses_each_unsafe_url_politely(db: Database) -> None:
    w = await chat_world(db)
    clerk = User(1003, "สมศรี")
    async with db.transaction() as s:
        o10 = await s.scalar(select(Occurrence).where(Occurrence.code == "O10"))
        assert o10 is not None
        o10.stage, o10.current_role, o10.current_due = "publish", "admin_officer", o10.publish_due
    explained = {
        "http://localhost/x": "เครือข่ายภายใน (localhost)",
        "http://127.0.0.1/admin": "เครือข่ายภายใน (127.0.0.1)",
        "http://169.254.169.254/latest/meta-data": "เครือข่ายภายใน (169.254.169.254)",
        "http://10.0.0.1/": "เครือข่ายภายใน (10.0.0.1)",
        "https://evil.example@bangsaipa.go.th/x": "ชื่อผู้ใช้หรือรหัสผ่าน",
        "https://www.bangsaipa.go.th:99999/x": "พอร์ต",
        "https://www.bangsaipa.go.th/" + "ก" * 2000: "ลิงก์ยาวเกินไป (๒๐๒๘ ตัวอักษร)",
    }
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            assert "URL" in text_of(await h.say(clerk, "/done O10"))
            for url, why in explained.items():
                said = text_of(await h.say(clerk, url))
                assert "ใช้เป็นลิงก์หลักฐานไม่ได้" in said and why in said, said
                assert len(said) < 600  # the refused text is quoted briefly, not echoed whole
            async with db.transaction() as s:
                still = await s.get(Occurrence, o10.id)
                assert still is not None and still.stage == "publish" and still.evidence_url is None
            # the question is still open: a good link now publishes
            assert "เผยแพร่แล้ว" in text_of(await h.say(clerk, "https://www.bangsaipa.go.th/o10"))
            refused = text_of(await h.say(clerk, "/done O10 http://10.0.0.1/"))
            assert "ไม่พบงาน" in refused or "ดำเนินการไปแล้ว" in refused
    async with db.transaction() as s:
        done = await s.get(Occurrence, o10.id)
        assert done is not None and done.evidence_url == "https://www.bangsaipa.go.th/o10"
