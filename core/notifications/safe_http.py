"""The only way Docket makes outgoing HTTP requests (webhooks, SMS gateway, CRM).

Guards against server-side request forgery: the URL must be http(s) without user info; the
host is resolved once, every resolved address must be public (not private, loopback,
link-local such as the 169.254.169.254 metadata service, multicast, reserved, unspecified,
CGNAT 100.64/10, IPv6 ULA/link-local/::1, nor an IPv4 address embedded in IPv6 that is any of
those) unless it lies in the allow-list (set on the Settings page, else
DOCKET_OUTBOUND_ALLOWLIST: `configured_allowlist(db)`); and the connection goes to the very
address that was checked (a pinned urllib3 pool; the Host header and TLS SNI/certificate check
keep the original name), so a second DNS answer cannot redirect it. Redirects are never
followed, proxies from the environment are ignored, and at most 1 KB of the answer is kept.
"""
from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass, field
from typing import Iterable
from urllib.parse import urlsplit

import certifi
import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool

from core import config, settings_store
from core.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
EXCERPT_BYTES = 1024
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
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


class _PinnedAdapter(HTTPAdapter):
    """Sends every request of this adapter to one already-checked IP address."""

    def __init__(self, target: Target):
        super().__init__(max_retries=0)
        self._target = target
        self._pools: list[HTTPConnectionPool] = []

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        t = self._target
        if t.scheme == "https":
            pool = HTTPSConnectionPool(
                t.address, t.port, maxsize=1, server_hostname=t.host, assert_hostname=t.host,
                cert_reqs="CERT_REQUIRED" if verify else "CERT_NONE",
                ca_certs=verify if isinstance(verify, str) else certifi.where())
        else:
            pool = HTTPConnectionPool(t.address, t.port, maxsize=1)
        self._pools.append(pool)
        return pool

    def close(self):
        for pool in self._pools:
            pool.close()
        super().close()


def _root_reason(exc: BaseException) -> str:
    """A short description without URLs (they may carry tokens in their query)."""
    import urllib3.exceptions as ue
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


def request(method: str, url: str, *, headers: dict[str, str] | None = None,
            body: bytes | None = None, timeout: tuple[float, float] | None = None,
            allowlist: Iterable[Network] | None = None, verify: bool | str = True,
            db=None) -> HttpResult:
    """One HTTP request under the policy above. Raises UnsafeDestination (nothing sent) or
    TransportError (network trouble); any HTTP status, 3xx included, is returned as is.
    `allowlist` None: `configured_allowlist(db)` (the stored one when `db` is given)."""
    if timeout is None:
        timeout = (float(config.setting("DOCKET_HTTP_CONNECT_TIMEOUT")),
                   float(config.setting("DOCKET_HTTP_READ_TIMEOUT")))
    target = check_url(url, allowlist, db=db)
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment
    adapter = _PinnedAdapter(target)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    all_headers = {"User-Agent": "Docket-Notifications/1", **(headers or {}),
                   "Host": target.host_header}
    started = time.monotonic()
    try:
        resp = session.request(method, url, headers=all_headers, data=body, timeout=timeout,
                               allow_redirects=False, stream=True, verify=verify)
        try:
            raw = resp.raw.read(EXCERPT_BYTES, decode_content=True) or b""
        except Exception:
            raw = b""
        finally:
            resp.close()
    except requests.exceptions.ConnectTimeout:
        raise TransportError(f"connect timeout after {timeout[0]:g} s") from None
    except requests.exceptions.ReadTimeout:
        raise TransportError(f"read timeout after {timeout[1]:g} s") from None
    except requests.exceptions.SSLError as e:
        raise TransportError(f"TLS error: {_root_reason(e)}") from None
    except requests.exceptions.RequestException as e:
        raise TransportError(f"connection failed: {_root_reason(e)}") from None
    finally:
        session.close()
    duration = int((time.monotonic() - started) * 1000)
    excerpt = raw[:EXCERPT_BYTES].decode("utf-8", errors="replace")[:EXCERPT_BYTES]
    return HttpResult(resp.status_code, {k.lower(): v for k, v in resp.headers.items()},
                      excerpt, duration, target.address)
