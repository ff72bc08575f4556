"""What a fetched page says about itself: live, or one of the common dead ends.

Pure: it gets what the fetcher saw (status, final URL, content type, the start of the
body) and returns a reason, or None for a live page.  The reasons are text keys
(``link.reason.*`` in :mod:`bot.texts`).

* ``http``: an HTTP error status (4xx, 5xx);
* ``login``: a login page instead of the document — Google Drive's "request access"
  page, Facebook's login wall, or any page whose URL or form is a sign-in;
* ``empty``: a page served with 200 but with (next to) no text;
* ``not_found``: a "page not found" served with 200 (a soft 404).

Network failures (a domain that no longer resolves, a timeout, too many redirects, a
refused address) are named by the fetcher itself.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MIN_TEXT = 20  # characters of visible text below which an HTML page counts as empty

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_HEADING = re.compile(rb"<h[12][^>]*>(.*?)</h[12]>", re.IGNORECASE | re.DOTALL)
_DROP = re.compile(rb"<(script|style|noscript)[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(rb"<[^>]+>")
_PASSWORD = re.compile(rb"<input[^>]+type=[\"']?password", re.IGNORECASE)
NOT_FOUND = re.compile(
    r"\b404\b|not\s+found|page\s+(?:does\s+not|doesn't)\s+exist|no\s+longer\s+available"
    r"|ไม่พบหน้า|ไม่พบข้อมูล|ไม่พบเอกสาร|ไม่พบไฟล์|ไม่มีหน้า",
    re.IGNORECASE,
)
# Google Drive / Docs when the file is not shared with "anyone with the link"
DRIVE_NO_ACCESS = re.compile(
    r"you\s+need\s+(?:access|permission)|request\s+access|ขอสิทธิ์เข้าถึง|คุณต้องมีสิทธิ์", re.IGNORECASE
)
LOGIN_PATH = re.compile(
    r"(?:^|/)(?:login|signin|sign-in|log-in|servicelogin|accounts/login)(?:\.php|\.aspx?)?(?:/|$)",
    re.IGNORECASE,
)
LOGIN_HOSTS = ("accounts.google.com", "login.microsoftonline.com")


def _text(html: bytes) -> str:
    stripped = _TAG.sub(b" ", _DROP.sub(b" ", html))
    return " ".join(stripped.decode("utf-8", "replace").split())


def _first(pattern: re.Pattern[bytes], html: bytes) -> str:
    m = pattern.search(html)
    return _text(m.group(1)) if m else ""


def is_html(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() in (
        "text/html",
        "application/xhtml+xml",
    )


def login_wall(final_url: str, body: bytes, content_type: str | None) -> bool:
    """A sign-in page stands where the document should be."""
    parts = urlsplit(final_url)
    host = (parts.hostname or "").lower()
    if host in LOGIN_HOSTS or LOGIN_PATH.search(parts.path):
        return True
    if host.endswith("facebook.com") and ("login" in parts.path.lower() or "next=" in parts.query):
        return True
    if not is_html(content_type):
        return False
    text = _text(body[:200_000])
    if host.endswith(("drive.google.com", "docs.google.com")) and DRIVE_NO_ACCESS.search(text):
        return True
    return bool(DRIVE_NO_ACCESS.search(_first(_TITLE, body) + " " + _first(_HEADING, body))) or (
        bool(_PASSWORD.search(body)) and len(text) < 2_000
    )


def dead_end(status: int, final_url: str, content_type: str | None, body: bytes) -> str | None:
    """None if the page looks live; otherwise the reason key."""
    if status >= 400:
        return "http"
    if login_wall(final_url, body, content_type):
        return "login"
    if not body.strip():
        return "empty"
    if is_html(content_type):
        text = _text(body)
        if len(text) < MIN_TEXT:
            return "empty"
        head = f"{_first(_TITLE, body)} {_first(_HEADING, body)}"
        if NOT_FOUND.search(head) or (len(text) < 300 and NOT_FOUND.search(text)):
            return "not_found"
    return None
