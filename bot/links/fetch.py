"""Fetching one evidence URL, politely and safely.

* **Only public addresses.**  Every connection goes through :class:`GuardedBackend`,
  which resolves the host itself and connects to a vetted address, so neither the first
  URL nor any redirect can reach the bot's own network (loopback, private, link-local,
  the cloud metadata service), even through a name that resolves there.  Tests allow
  loopback with ``LINK_CHECK_ALLOW_LOOPBACK``; ``LINK_CHECK_HOSTS`` gives host names'
  addresses instead of DNS.  No proxy from the environment is used.
* **Polite.**  At most ``LINK_CHECK_PER_HOST_PER_SECOND`` requests per host (every
  redirect hop counts), a User-Agent naming the bot, a timeout, at most
  :data:`MAX_REDIRECTS` redirects, and at most ``LINK_CHECK_MAX_BYTES`` of a body read.
* **HEAD, then GET.**  A HEAD says whether the page is there; where HEAD is refused (an
  error status: many servers answer 403/405 to it) a GET decides.  A page that is there
  is then read by GET (from its final URL), for its hash and to recognise a login wall or
  a "not found" served with 200 (:mod:`bot.links.deadends`).
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import httpcore
import httpx

from bot.clock import Clock
from bot.config import Settings
from bot.links.deadends import dead_end
from bot.services.evidence import check_host

MAX_REDIRECTS = 5


class Unresolvable(httpcore.ConnectError):
    """The host name does not resolve (any more)."""


class Refused(httpcore.ConnectError):
    """The host resolves only to addresses the checker must not connect to."""


def user_agent(contact: str = "") -> str:
    try:
        ver = version("ita-duty-bot")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        ver = "dev"
    tail = f"; +{contact}" if contact else ""
    return f"ITADutyBot/{ver} (ITA evidence link checker{tail})"


def permitted(address: str, *, allow_loopback: bool) -> bool:
    """May the checker connect to this IP address?"""
    import ipaddress

    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if allow_loopback and ip.is_loopback:
        return True
    return check_host(f"[{ip}]" if ip.version == 6 else str(ip)) is None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving and vetting each host before it connects."""

    def __init__(self, *, allow_loopback: bool, hosts: Mapping[str, str]) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_loopback = allow_loopback
        self._hosts = {k.lower(): v for k, v in hosts.items()}

    async def resolve(self, host: str, port: int) -> list[str]:
        if host.lower() in self._hosts:
            return [self._hosts[host.lower()]]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise Unresolvable(f"{host}: {exc}") from None
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.resolve(host, port)
        allowed = [a for a in addresses if permitted(a, allow_loopback=self._allow_loopback)]
        if not allowed:
            raise Refused(f"{host} resolves to {', '.join(addresses)}: not a public address")
        error: Exception | None = None
        for address in allowed:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise Refused("unix sockets are never fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class HostPacer:
    """At most ``per_second`` requests to one host, on the application's clock."""

    def __init__(self, clock: Clock, per_second: float) -> None:
        self.clock = clock
        self.interval = 1.0 / per_second
        self._next: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, host: str) -> None:
        lock = self._locks.setdefault(host, asyncio.Lock())
        async with lock:
            now = self.clock.monotonic()
            at = self._next.get(host, now)
            if at > now:
                await self.clock.sleep(at - now)
            self._next[host] = self.clock.monotonic() + self.interval
            if len(self._next) > 4096:  # forget hosts whose turn is long past
                now = self.clock.monotonic()
                for h in [h for h, t in self._next.items() if t < now]:
                    del self._next[h]
                    self._locks.pop(h, None)


@dataclass(frozen=True)
class Fetched:
    """What one check saw.  ``reason`` is None for a live page, else a ``link.reason.*`` key."""

    url: str
    reason: str | None
    status: int | None = None
    final_url: str | None = None
    content_type: str | None = None
    size: int | None = None
    body_hash: str | None = None
    detail: str | None = None

    @property
    def live(self) -> bool:
        return self.reason is None


def _failure(url: str, exc: Exception) -> Fetched:
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, httpx.TooManyRedirects):
        reason = "redirects"
    elif isinstance(exc, httpx.TimeoutException):
        reason = "timeout"
    elif isinstance(cause, Unresolvable) or isinstance(exc, Unresolvable):
        reason = "dns"
    elif isinstance(cause, Refused) or isinstance(exc, Refused):
        reason = "private"
    elif isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        reason = "malformed"
    else:
        reason = "unreachable"
    return Fetched(url, reason, detail=f"{type(exc).__name__}: {exc}"[:300])


class LinkFetcher:
    """One HTTP client for a batch of checks; use as ``async with LinkFetcher(...) as f``."""

    def __init__(self, settings: Settings, pacer: HostPacer) -> None:
        self.settings = settings
        self.pacer = pacer
        self.max_bytes = settings.link_check_max_bytes
        transport = httpx.AsyncHTTPTransport(trust_env=False)
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=20,
            network_backend=GuardedBackend(
                allow_loopback=settings.link_check_allow_loopback,
                hosts=settings.link_check_hosts,
            ),
        )
        self.client = httpx.AsyncClient(
            transport=transport,
            trust_env=False,
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            timeout=httpx.Timeout(settings.link_check_timeout_seconds),
            headers={"User-Agent": user_agent(settings.link_check_contact), "Accept": "*/*"},
            event_hooks={"request": [self._pace]},
        )

    async def _pace(self, request: httpx.Request) -> None:
        await self.pacer.wait(request.url.host)

    async def __aenter__(self) -> LinkFetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def check(self, url: str) -> Fetched:
        try:
            head = await self.client.head(url)
            target = str(head.url) if head.status_code < 400 else url
            return await self._get(url, target)
        except (httpx.HTTPError, httpx.InvalidURL, httpcore.ConnectError) as exc:
            return _failure(url, exc)

    async def _get(self, url: str, target: str) -> Fetched:
        digest = hashlib.sha256()
        size = 0
        start = b""
        async with self.client.stream("GET", target) as resp:
            async for chunk in resp.aiter_bytes():
                take = chunk[: max(0, self.max_bytes - size)]
                digest.update(take)
                if len(start) < 256_000:
                    start += take[: 256_000 - len(start)]
                size += len(take)
                if size >= self.max_bytes:
                    break
            ctype = resp.headers.get("content-type")
            length = resp.headers.get("content-length")
            final = str(resp.url)
            status = resp.status_code
        reason = dead_end(status, final, ctype, start)
        return Fetched(
            url,
            reason,
            status=status,
            final_url=final,
            content_type=ctype[:200] if ctype else None,
            size=int(length) if length and length.isdigit() else size,
            body_hash=digest.hexdigest(),
        )
