"""The only way Docket makes outgoing HTTP requests (webhooks, SMS gateway, CRM).

Guards against server-side request forgery: the URL must be http(s) without user info; the
host is resolved once, every resolved address must be public (not private, loopback,
link-local such as the 169.254.169.254 metadata service, multicast, reserved, unspecified,
CGNAT 100.64/10, IPv6 ULA/link-local/::1, nor an IPv4 address embedded in IPv6 that is any of
those) unless it lies in the allow-list (set on the Settings page, else
DOCKET_OUTBOUND_ALLOWLIST: `configured_allowlist(db)`); and the connection goes to the very
address that was checked (a pinned urllib3 pool; the Host header and TLS SNI/certificate check
keep the original name), so a second DNS answer cannot redirect it. A dispatcher keeps
connections alive (`ConnectionPools`): the guard still runs for every request, and a kept
connection is reused only for the same checked (host, port, address). Redirects are never
followed, proxies from the environment are ignored, and at most 1 KB of the answer is kept.
"""
from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable
from urllib.parse import urlsplit

import certifi
import urllib3.exceptions as ue
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, Timeout

from core import config, settings_store
from core.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
EXCERPT_BYTES = 1024
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# IANA's special-purpose blocks (RFC 6890 and its updates) that Python's `is_global` lets
# through in some versions (192.0.0.8, the IPv4 dummy address, is "global" in 3.11), or that
# no webhook receiver lives on: refused whatever the interpreter says.
_SPECIAL_PURPOSE = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24",
    "192.88.99.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
    "255.255.255.255/32",
    "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20",
    "5f00::/16", "fc00::/7"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_HOST_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789.-_:")


class UnsafeDestination(InvalidInput):
    """The URL is refused by the outgoing request policy; no connection was made."""


class TransportError(Exception):
    """The request could not be completed (DNS, connect, timeout, reset); worth a retry."""


@dataclass
class HttpResult:
    status: int
    headers: dict[str, str]
    excerpt: str
    duration_ms: int
    address: str = ""
    extra: dict = field(default_factory=dict)


def parse_allowlist(text: str | None) -> list[Network]:
    nets = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if part:
            try:
                nets.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise InvalidInput(f"DOCKET_OUTBOUND_ALLOWLIST: {part!r} is not a CIDR") from None
    return nets


def configured_allowlist(db=None) -> list[Network]:
    """The allow-list in force: with `db`, the one stored in the settings table (Settings page)
    if any, else DOCKET_OUTBOUND_ALLOWLIST; without, the environment's."""
    if db is None:
        return parse_allowlist(config.setting("DOCKET_OUTBOUND_ALLOWLIST"))
    return settings_store.outbound_allowlist(db)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why an address may not be reached without the allow-list; None if it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "an IPv6 address with a zone"
        inner = _embedded_ipv4(ip)
        if inner is not None:
            why = blocked_reason(inner)
            if why:
                return f"{why} (IPv4 {inner} inside IPv6)"
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local (where cloud metadata services live)"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "shared address space (CGNAT)"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (any(ip in n for n in _SPECIAL_PURPOSE if n.version == ip.version),
         "special-purpose, not globally reachable"),
        (not ip.is_global, "not globally routable"),
    )
    for hit, reason in checks:
        if hit:
            return reason
    return None


def _allowed_by(ip: IPAddress, allowlist: Iterable[Network]) -> bool:
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and _embedded_ipv4(ip) is not None:
        candidates.append(_embedded_ipv4(ip))
    return any(c.version == n.version and c in n for c in candidates for n in allowlist)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str          # as written in the URL (lower case, no brackets)
    port: int
    address: str       # the checked address the connection goes to
    host_header: str


def _split(url: str) -> tuple[str, str, int]:
    if not isinstance(url, str) or not url or len(url) > 2000:
        raise UnsafeDestination("the URL must be text of 1 to 2000 characters")
    if any(c.isspace() or ord(c) < 32 or c == "\\" for c in url):
        raise UnsafeDestination("the URL contains spaces, control characters or backslashes")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeDestination(f"only http and https URLs are allowed, not {scheme or 'none'!r}")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise UnsafeDestination("URLs with user info (user:password@host) are not allowed")
    host = (parts.hostname or "").lower()
    if not host or not set(host) <= _HOST_CHARS:
        raise UnsafeDestination("the URL has no valid host name")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise UnsafeDestination("the URL's port is not a number from 1 to 65535") from None
    if port == 0:
        raise UnsafeDestination("the URL's port is not a number from 1 to 65535")
    return scheme, host, port


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise TransportError(f"could not resolve {host}: {getattr(e, 'strerror', None) or e}") from None
    seen: list[IPAddress] = []
    for family, _t, _p, _c, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if ip not in seen:
            seen.append(ip)
    if not seen:
        raise TransportError(f"{host} has no IPv4 or IPv6 address")
    return seen


def check_url(url: str, allowlist: Iterable[Network] | None = None, *, db=None) -> Target:
    """Validate and resolve a URL once; raise UnsafeDestination if any address is refused.
    `allowlist` None: `configured_allowlist(db)`."""
    scheme, host, port = _split(url)
    nets = list(configured_allowlist(db) if allowlist is None else allowlist)
    addresses = resolve(host, port)
    for ip in addresses:
        why = blocked_reason(ip)
        if why and not _allowed_by(ip, nets):
            named = host if host == str(ip) else f"{host} (resolves to {ip})"
            raise UnsafeDestination(
                f"refused: {named} is {why}; private destinations need "
                "the allow-list (Settings, or DOCKET_OUTBOUND_ALLOWLIST)")
    ip = addresses[0]
    shown = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    host_header = shown if port == default else f"{shown}:{port}"
    return Target(scheme, host, port, str(ip), host_header)


def check_url_syntax(url: str) -> None:
    """The checks that need no DNS (for forms): scheme, user info, host, port."""
    _split(url)


def _new_pool(target: Target, verify: bool | str, maxsize: int) -> HTTPConnectionPool:
    """A urllib3 pool whose every connection goes to the checked address (TLS keeps the name
    for SNI and the certificate check)."""
    if target.scheme == "https":
        return HTTPSConnectionPool(
            target.address, target.port, maxsize=maxsize, block=False,
            server_hostname=target.host, assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED" if verify else "CERT_NONE",
            ca_certs=verify if isinstance(verify, str) else certifi.where())
    return HTTPConnectionPool(target.address, target.port, maxsize=maxsize, block=False)


class ConnectionPools:
    """Kept-alive connections for a dispatcher: one pool per **checked** (scheme, host, port,
    address, TLS verification). `request` still runs the whole guard (`check_url`: one lookup,
    every address checked) for each request; only then is a pool picked, by the address that
    was just checked, so a kept-alive connection is reused only for that very (host, port,
    address), and a DNS answer that changed gets a new pool, hence a new connection, to the
    new checked address. Least recently used pools beyond `max_pools` are closed."""

    def __init__(self, maxsize: int = 4, max_pools: int = 64):
        self.maxsize, self.max_pools = maxsize, max_pools
        self._pools: OrderedDict[tuple, HTTPConnectionPool] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, target: Target, verify: bool | str) -> HTTPConnectionPool:
        key = (target.scheme, target.host, target.port, target.address,
               verify if isinstance(verify, str) else bool(verify))
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            pool = self._pools[key] = _new_pool(target, verify, self.maxsize)
            old = [self._pools.popitem(last=False)[1]
                   for _ in range(max(0, len(self._pools) - self.max_pools))]
        for p in old:
            p.close()
        return pool

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), OrderedDict()
        for p in pools:
            p.close()


def _root_reason(exc: BaseException) -> str:
    """A short description without URLs (they may carry tokens in their query)."""
    seen = exc
    for _ in range(6):
        inner = getattr(seen, "reason", None) or (seen.args[0] if seen.args and
                                                  isinstance(seen.args[0], BaseException) else None)
        if not isinstance(inner, BaseException):
            break
        seen = inner
    if isinstance(seen, ue.NewConnectionError):
        text = str(seen).split(": ", 1)[-1]
        return text
    if isinstance(seen, OSError) and seen.strerror:
        return seen.strerror
    return type(seen).__name__


_DRAIN_LIMIT = 64 * 1024  # a longer answer closes its connection instead of being read


def _transport_error(e: Exception, timeout: tuple[float, float]) -> TransportError:
    if isinstance(e, ue.NewConnectionError):
        return TransportError(f"connection failed: {_root_reason(e)}")
    if isinstance(e, ue.ConnectTimeoutError):
        return TransportError(f"connect timeout after {timeout[0]:g} s")
    if isinstance(e, ue.ReadTimeoutError):
        return TransportError(f"read timeout after {timeout[1]:g} s")
    if isinstance(e, ue.SSLError):
        return TransportError(f"TLS error: {_root_reason(e)}")
    return TransportError(f"connection failed: {_root_reason(e)}")


def request(method: str, url: str, *, headers: dict[str, str] | None = None,
            body: bytes | None = None, timeout: tuple[float, float] | None = None,
            allowlist: Iterable[Network] | None = None, verify: bool | str = True,
            db=None, pools: ConnectionPools | None = None) -> HttpResult:
    """One HTTP request under the policy above. Raises UnsafeDestination (nothing sent) or
    TransportError (network trouble); any HTTP status, 3xx included, is returned as is.
    `allowlist` None: `configured_allowlist(db)` (the stored one when `db` is given).
    `pools`: kept-alive connections to reuse (a dispatcher's); None: one connection, closed
    after the answer."""
    if timeout is None:
        timeout = (float(config.setting("DOCKET_HTTP_CONNECT_TIMEOUT")),
                   float(config.setting("DOCKET_HTTP_READ_TIMEOUT")))
    target = check_url(url, allowlist, db=db)  # the guard, for every request
    pool = pools.get(target, verify) if pools is not None else _new_pool(target, verify, 1)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    all_headers = {"User-Agent": "Docket-Notifications/1", **(headers or {}),
                   "Host": target.host_header}
    started = time.monotonic()
    try:
        resp = pool.urlopen(method, path, body=body, headers=all_headers, retries=False,
                            redirect=False, assert_same_host=False, preload_content=False,
                            release_conn=False,
                            timeout=Timeout(connect=timeout[0], read=timeout[1]))
        try:
            raw = resp.read(EXCERPT_BYTES, decode_content=True) or b""
        except Exception:
            raw = b""
        finally:
            try:
                left = resp.length_remaining
                if pools is not None and left is not None and left <= _DRAIN_LIMIT:
                    resp.drain_conn()  # read to the end: the connection can serve the next one
                else:
                    resp.close()
            except Exception:
                resp.close()
            resp.release_conn()
    except (ue.HTTPError, OSError) as e:
        raise _transport_error(e, timeout) from None
    finally:
        if pools is None:
            pool.close()
    duration = int((time.monotonic() - started) * 1000)
    excerpt = raw[:EXCERPT_BYTES].decode("utf-8", errors="replace")[:EXCERPT_BYTES]
    return HttpResult(resp.status, {k.lower(): v for k, v in resp.headers.items()},
                      excerpt, duration, target.address)
