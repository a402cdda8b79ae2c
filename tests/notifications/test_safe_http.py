"""Outgoing request safety: private, loopback, link-local, reserved and embedded addresses are
refused before any connection unless allow-listed; the connection goes to the address that
was checked (one DNS lookup); redirects are not followed."""
from __future__ import annotations

import ipaddress
import socket

import pytest

from core.notifications import safe_http
from core.notifications.redact import Redactor
from core.notifications.safe_http import TransportError, UnsafeDestination, parse_allowlist
from tests.receivers import Receiver, free_port

LOOPBACK = parse_allowlist("127.0.0.1/32,::1/128")


@pytest.fixture
def no_connections(monkeypatch):
    """Fails the test if any socket connects (refusals must happen before connecting)."""
    made = []
    real = socket.socket.connect

    def connect(self, address):
        made.append(address)
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", lambda self, a: made.append(a) or 1)
    return made


@pytest.mark.parametrize("url,why", [
    ("http://127.0.0.1:9/hook", "loopback"),
    ("http://10.0.0.1/hook", "private"),
    ("http://192.168.1.10/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::1]:9/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:169.254.169.254]/", "link-local"),
    ("http://[fd00::1]/", "private"),
    ("http://[fe80::1]/", "link-local"),
    ("http://100.64.0.1/", "CGNAT"),
    ("http://100.127.255.254/", "CGNAT"),
    ("http://192.0.0.8/", "special-purpose"),         # IPv4 dummy address ("global" in 3.11)
    ("http://192.0.0.170/", "private|special-purpose"),  # NAT64 discovery
    ("http://192.0.2.10/", "private"),                # documentation (TEST-NET-1)
    ("http://192.88.99.1/", "special-purpose"),       # 6to4 relay anycast (deprecated)
    ("http://198.18.0.1/", "private"),                # benchmarking
    ("http://198.19.255.1/", "private"),
    ("http://240.0.0.1/", "private|reserved"),        # class E
    ("http://255.255.255.255/", "private|reserved"),  # broadcast
    ("http://[2001:db8::1]/", "private"),             # IPv6 documentation
    ("http://[64:ff9b::7f00:1]/", "loopback|not globally routable"),  # NAT64 of 127.0.0.1
    ("http://[::ffff:100.64.0.1]/", "CGNAT"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://localhost:9/hook", "loopback"),          # a name resolving to a private address
    ("http://2130706433/", "loopback"),               # 127.0.0.1 written as a number
    ("http://0x7f.1/", "loopback"),
])
def test_private_destinations_are_refused_without_connecting(url, why, no_connections):
    with pytest.raises(UnsafeDestination, match=why):
        safe_http.request("POST", url, body=b"{}", timeout=(1, 1), allowlist=[])
    assert no_connections == []


@pytest.mark.parametrize("url,why", [
    ("ftp://example.com/x", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("gopher://127.0.0.1/", "only http and https"),
    ("http://user:pass@example.com/", "user info"),
    ("http://example.com@127.0.0.1/", "user info"),
    ("http://exa mple.com/", "spaces"),
    ("http://example.com\\@127.0.0.1/", "backslashes"),
    ("http:///nohost", "no valid host"),
    ("http://example.com:99999/", "port"),
])
def test_malformed_or_tricky_urls_are_refused(url, why, no_connections):
    with pytest.raises(UnsafeDestination, match=why):
        safe_http.request("POST", url, timeout=(1, 1), allowlist=[])
    assert no_connections == []


def test_public_addresses_pass_the_check():
    for ip in ("8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "93.184.216.34"):
        assert safe_http.blocked_reason(ipaddress.ip_address(ip)) is None
    assert safe_http.check_url("https://8.8.8.8/x", allowlist=[]).address == "8.8.8.8"


def test_allow_listed_loopback_is_reached(no_connections):
    r4 = Receiver().start()
    r6 = Receiver(host="::1").start()
    try:
        for url in (r4.url, r6.url, r4.url.replace("127.0.0.1", "localhost")):
            result = safe_http.request("POST", url, body=b"{}", timeout=(2, 2), allowlist=LOOPBACK)
            assert result.status == 200 and result.excerpt == "ok"
        assert len(r4.all()) == 2 and len(r6.all()) == 1
        # the allow-list is per address: ::1 alone does not open 127.0.0.1
        with pytest.raises(UnsafeDestination):
            safe_http.request("POST", r4.url, timeout=(1, 1), allowlist=parse_allowlist("::1/128"))
    finally:
        r4.stop()
        r6.stop()


def test_env_allowlist_is_used_by_default(monkeypatch):
    r = Receiver().start()
    try:
        monkeypatch.setenv("DOCKET_OUTBOUND_ALLOWLIST", "")
        with pytest.raises(UnsafeDestination, match="DOCKET_OUTBOUND_ALLOWLIST"):
            safe_http.request("POST", r.url, timeout=(1, 1))
        monkeypatch.setenv("DOCKET_OUTBOUND_ALLOWLIST", "127.0.0.0/8")
        assert safe_http.request("POST", r.url, timeout=(1, 1)).status == 200
    finally:
        r.stop()


def test_connects_to_the_checked_address_with_one_lookup(monkeypatch):
    """DNS rebinding: the name is resolved once; the connection uses that answer and keeps
    the Host header, even if a second lookup would answer differently."""
    r = Receiver().start()
    answers = iter(["127.0.0.1", "10.9.9.9", "10.9.9.9"])
    lookups = []
    real = socket.getaddrinfo

    def fake(host, port, *args, **kw):
        if host == "rebind.test":
            lookups.append(host)
            ip = next(answers)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    try:
        result = safe_http.request("POST", f"http://rebind.test:{r.port}/hook", body=b"{}",
                                   timeout=(2, 2), allowlist=LOOPBACK)
        assert result.status == 200 and result.address == "127.0.0.1"
        assert lookups == ["rebind.test"]
        assert r.all()[0]["headers"]["host"] == f"rebind.test:{r.port}"
    finally:
        r.stop()


def test_a_name_with_any_private_answer_is_refused(monkeypatch, no_connections):
    real = socket.getaddrinfo

    def fake(host, port, *args, **kw):
        if host == "mixed.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", port)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(UnsafeDestination, match="169.254.169.254"):
        safe_http.request("GET", "http://mixed.test/", timeout=(1, 1), allowlist=[])
    assert no_connections == []


def test_redirects_are_not_followed():
    inner = Receiver(host="::1").start()  # a private target the redirect points to
    outer = Receiver(behaviour=lambda rec: (302, {"Location": inner.url}, b"")).start()
    meta = Receiver(behaviour=lambda rec: (307, {"Location": "http://169.254.169.254/latest/"},
                                           b"")).start()
    try:
        for r in (outer, meta):
            result = safe_http.request("POST", r.url, body=b"{}", timeout=(2, 2),
                                       allowlist=parse_allowlist("127.0.0.1/32"))
            assert result.status in (302, 307)
        assert inner.all() == []
        from core.notifications.channels import from_http
        outcome = from_http(result, Redactor(), gone_disables=True)
        assert outcome.kind == "retry" and "redirects are not followed" in outcome.error
    finally:
        for r in (inner, outer, meta):
            r.stop()


def test_transport_errors_name_no_url_secrets():
    port = free_port()
    with pytest.raises(TransportError) as err:
        safe_http.request("POST", f"http://127.0.0.1:{port}/hook?token=s3cr3t-token",
                          timeout=(1, 1), allowlist=LOOPBACK)
    assert "refused" in str(err.value).lower() and "s3cr3t" not in str(err.value)


def test_response_excerpt_is_capped_at_1kb():
    r = Receiver(behaviour=lambda rec: (200, {}, b"x" * 5000)).start()
    try:
        result = safe_http.request("POST", r.url, timeout=(2, 2), allowlist=LOOPBACK)
        assert len(result.excerpt) == 1024
    finally:
        r.stop()


def test_redactor_hides_secrets_and_their_forms():
    red = Redactor(["whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="])
    red.add_basic_auth("user", "hunter2-password")
    import base64
    basic = base64.b64encode(b"user:hunter2-password").decode()
    text = red(f"a QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo= b hunter2-password c {basic}")
    assert "QUJD" not in text and "hunter2" not in text and basic not in text
