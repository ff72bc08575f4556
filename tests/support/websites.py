"""A local web site for the link checker's tests: real HTTP on 127.0.0.1.

Pages are a mutable table, so a test can break a page or change it between checks.
Host names (``www.bangsaipa.go.th``, ``drive.google.com``, ``www.facebook.com``) reach it
through the ``LINK_CHECK_HOSTS`` setting that :meth:`Website.settings` returns; the site
answers by the Host header, so each "site" has its own pages.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OFFICE = "www.bangsaipa.go.th"
DRIVE = "drive.google.com"
FACEBOOK = "www.facebook.com"

LIVE_HTML = (
    "<html><head><title>ประกาศ อบต.บางไทรป่า</title></head><body><h1>ข้อมูลการจัดซื้อจัดจ้าง</h1>"
    "<p>รายงานผลการจัดซื้อจัดจ้างประจำเดือน พร้อมเอกสารแนบครบถ้วน</p></body></html>"
)
SOFT_404 = (
    "<html><head><title>ไม่พบหน้าที่ต้องการ</title></head><body><h1>ขออภัย</h1>"
    "<p>หน้าที่คุณเรียกอาจถูกย้ายหรือลบไปแล้ว</p></body></html>"
)
DRIVE_NO_ACCESS = (
    "<html><head><title>Google Drive</title></head><body><h1>You need access</h1>"
    "<p>Request access, or switch to an account with access.</p></body></html>"
)
FB_LOGIN = (
    "<html><head><title>Facebook</title></head><body><h2>Log in to Facebook</h2>"
    '<form id="login_form"><input name="email"><input type="password" name="pass"></form>'
    "</body></html>"
)


@dataclass
class Page:
    status: int = 200
    body: str | bytes = LIVE_HTML
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None
    delay: float = 0.0
    head_status: int | None = None  # what HEAD answers, when not the same as GET


@dataclass
class Hit:
    method: str
    host: str
    path: str
    user_agent: str
    at: float


@dataclass
class Website:
    port: int = 0
    pages: dict[tuple[str, str], Page] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)

    def url(self, host: str, path: str) -> str:
        return f"http://{host}:{self.port}{path}"

    def settings(self) -> dict[str, Any]:
        return {
            "link_check_allow_loopback": True,
            "link_check_hosts": {h: "127.0.0.1" for h in (OFFICE, DRIVE, FACEBOOK)},
            "link_check_timeout_seconds": 1.0,
        }

    def page(self, host: str, path: str) -> Page | None:
        return self.pages.get((host, path.split("?")[0]))


def default_pages() -> dict[tuple[str, str], Page]:
    redirects = {
        (OFFICE, f"/r/{n}"): Page(302, "", location=f"/r/{n - 1}" if n > 1 else "/ita/o1")
        for n in range(1, 8)
    }
    return {
        (OFFICE, "/ita/o1"): Page(),
        (OFFICE, "/ita/o10"): Page(),
        (OFFICE, "/ita/o23"): Page(),
        (OFFICE, "/ita/report.pdf"): Page(body=b"%PDF-1.4 report", content_type="application/pdf"),
        (OFFICE, "/gone"): Page(404, "<html><body>Not Found</body></html>"),
        (OFFICE, "/slow"): Page(delay=3.0),
        (OFFICE, "/soft404"): Page(body=SOFT_404),
        (OFFICE, "/empty"): Page(body=""),
        (OFFICE, "/nohead"): Page(head_status=405),
        (OFFICE, "/internal"): Page(302, "", location="http://169.254.169.254/latest/meta-data"),
        (DRIVE, "/file/d/abc/view"): Page(body=DRIVE_NO_ACCESS),
        (FACEBOOK, "/bangsaipa/posts/1"): Page(302, "", location="/login/?next=%2Fbangsaipa"),
        (FACEBOOK, "/login/"): Page(body=FB_LOGIN),
        **redirects,
    }


def _handler(site: Website) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, method: str) -> None:
            host = (self.headers.get("Host") or "").split(":")[0]
            site.hits.append(
                Hit(method, host, self.path, self.headers.get("User-Agent", ""), time.monotonic())
            )
            page = site.page(host, self.path) or Page(404, "<html><body>Not Found</body></html>")
            if page.delay:
                time.sleep(page.delay)
            body = page.body.encode() if isinstance(page.body, str) else page.body
            status = page.head_status if method == "HEAD" and page.head_status else page.status
            self.send_response(status)
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(body)))
            if page.location:
                self.send_header("Location", page.location)
            self.end_headers()
            if method == "GET":
                self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_HEAD(self) -> None:
            self._answer("HEAD")

    return Handler


class running_website:
    """``with running_website() as site:`` a threaded HTTP server with the default pages."""

    def __enter__(self) -> Website:
        self.site = Website(pages=default_pages())
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.site))
        self.server.daemon_threads = True
        self.site.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        return self.site

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
