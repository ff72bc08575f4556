"""Evidence URLs: what the publish step accepts.  A security boundary, not cosmetics.

The link checker will fetch every stored URL, so a URL that points into the bot's own
network (``localhost``, ``10.0.0.1``, the cloud metadata service at ``169.254.169.254``)
must never get in.  Accepted are only ``http``/``https`` URLs of at most
:data:`MAX_URL_LENGTH` characters, without user info, with a valid port, whose host is a
public IP address or a host name that can be public.

Host names are compared in the form a browser or an HTTP client would use: IDNA
(which also maps full-width digits and the ideographic full stop ``。`` to ASCII), so
``http://127。0。0。1/`` is the loopback address it looks like.  Hosts that clients read as
numbers (``127.1``, ``2130706433``, ``0x7f.0.0.1``) count as addresses.  Whether a host
name *resolves* to a public address cannot be known here (and may change): the fetcher
must check the address it connects to as well.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000

# names that never reach the public internet (RFC 6761, RFC 6762, RFC 8375, common intranets)
PRIVATE_SUFFIXES = (
    "localhost",
    "local",
    "localdomain",
    "internal",
    "intranet",
    "lan",
    "home",
    "corp",
    "private",
    "home.arpa",
    "arpa",
    "invalid",
    "test",
    "example",
    "onion",
)
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMERIC = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


@dataclass(frozen=True)
class UrlCheck:
    """``url`` if accepted; otherwise ``reason`` names the refusal (a ``url.*`` text key)."""

    url: str | None
    reason: str = ""
    params: tuple[tuple[str, object], ...] = ()

    @property
    def ok(self) -> bool:
        return self.url is not None


def _refuse(reason: str, **params: object) -> UrlCheck:
    return UrlCheck(None, reason, tuple(params.items()))


def check_evidence_url(text: str) -> UrlCheck:
    """Accept ``text`` as an evidence URL, or say why not."""
    candidate = text.strip().strip("<>")
    if len(candidate) > MAX_URL_LENGTH:
        return _refuse("url.too_long", n=len(candidate), max=MAX_URL_LENGTH)
    if not candidate or any(c.isspace() or ord(c) < 0x20 or c == "\\" for c in candidate):
        return _refuse("url.malformed")
    try:
        parts = urlsplit(candidate)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return _refuse("url.malformed")
    if parts.scheme.lower() not in ("http", "https"):
        return _refuse("url.scheme")
    if not parts.netloc:
        return _refuse("url.host")
    if "@" in parts.netloc:
        return _refuse("url.userinfo")
    try:
        port = parts.port
    except ValueError:
        return _refuse("url.port")
    if port == 0:
        return _refuse("url.port")
    host = _host_of(parts.netloc)
    if host is None:
        return _refuse("url.host")
    refusal = check_host(host)
    return refusal or UrlCheck(candidate)


def _host_of(netloc: str) -> str | None:
    """The host part of ``netloc`` (no port), brackets kept for IPv6."""
    if netloc.startswith("["):
        end = netloc.find("]")
        return netloc[: end + 1] if end > 0 else None
    host = netloc.rsplit(":", 1)[0] if ":" in netloc else netloc
    return host or None


def check_host(host: str) -> UrlCheck | None:
    """None if ``host`` may be public; otherwise the refusal."""
    if host.startswith("["):
        return _check_ip(host[1:-1], host)
    if "%" in host:  # clients percent-decode host names: "%31%32%37.0.0.1" is 127.0.0.1
        return _refuse("url.host")
    try:
        ascii_host = host.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        return _refuse("url.host")
    labels = ascii_host.split(".")
    if not ascii_host or not all(_LABEL.match(label) for label in labels):
        return _refuse("url.host")
    if _NUMERIC.match(labels[-1]):  # an address, in any of the forms clients accept
        return _check_ip(ascii_host, host)
    if len(labels) < 2 or any(
        ascii_host == s or ascii_host.endswith("." + s) for s in PRIVATE_SUFFIXES
    ):
        return _refuse("url.private", host=host)
    return None


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _check_ip(text: str, shown: str) -> UrlCheck | None:
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
            text.split("%", 1)[0]  # an IPv6 zone id ("%25eth0") only exists on link-local ones
        )
    except ValueError:
        # not the dotted form: 127.1, 0x7f000001 or 2130706433 are read as addresses by
        # HTTP clients, but no public web site is written that way
        return _refuse("url.host")
    if isinstance(ip, ipaddress.IPv6Address):  # an IPv4 address inside an IPv6 one
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not _public(embedded):
            return _refuse("url.private", host=shown)
    if not _public(ip):
        return _refuse("url.private", host=shown)
    return None


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast and not ip.is_reserved
