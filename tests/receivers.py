"""Real receivers for notification tests: an HTTP server on loopback that verifies every
webhook with the independent `standardwebhooks` package, an SMTP server (aiosmtpd), and a
helper that runs the dispatcher until deliveries settle.

No test passes or fails on how fast the machine is: waits end on an event or on progress,
and their deadline (HANG_TIMEOUT) is there only to stop a hung test. Order is asserted
through `seq`, one counter shared by every receiver of the process."""
from __future__ import annotations

import itertools
import socket
import threading
import time
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from standardwebhooks import Webhook

from core.notifications.dispatcher import Dispatcher, DispatcherConfig
from core.store.models import Delivery

LOOPBACK_ALLOWLIST = "127.0.0.1/32,::1/128"
HANG_TIMEOUT = 120.0  # seconds; only a hung test gets near it, a slow machine does not

_seq = itertools.count(1)
_seq_lock = threading.Lock()


def next_seq() -> int:
    """The next number of the process-wide order of receiver events (arrivals, replies)."""
    with _seq_lock:
        return next(_seq)


def wait_until(what: str, predicate: Callable[[], Any], timeout: float = HANG_TIMEOUT,
               interval: float = 0.02) -> Any:
    """Polls until `predicate()` is truthy and returns its value. The deadline only catches a
    hung test: it is far longer than any loaded machine needs."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"hung: {what} not reached within {timeout:g} s")
        time.sleep(interval)


def wait_for_progress(what: str, remaining: Callable[[], int],
                      stall_timeout: float = HANG_TIMEOUT, interval: float = 0.2) -> None:
    """Polls until `remaining()` is 0; fails only if it stops going down for `stall_timeout`
    seconds (hung), however long the whole takes."""
    last = remaining()
    stalled_since = time.monotonic()
    while last:
        time.sleep(interval)
        now = remaining()
        if now < last:
            last, stalled_since = now, time.monotonic()
        elif time.monotonic() - stalled_since > stall_timeout:
            raise AssertionError(f"hung: {what}: {now} left, no progress for {stall_timeout:g} s")


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def fast_config(**overrides) -> DispatcherConfig:
    # generous HTTP timeouts: a loaded machine answering late on loopback is not a failure
    # and a breaker cool-down as short as the retries: a test of something else that makes an
    # endpoint fail 10 times in a row must not wait 30 s per probe (tests of the breaker set it)
    base = dict(concurrency=4, schedule=(0.05,) * 7, lease_seconds=30.0, connect_timeout=10.0,
                read_timeout=60.0, poll_interval=0.05, breaker_cooldown=0.05)
    base.update(overrides)
    return DispatcherConfig(**base)


class Receiver:
    """HTTP receiver. `behaviour(record) -> (status, headers, body[, delay_s])`.

    Every request gets `seq` (on arrival) and `replied_seq` (when its reply is released) from
    the process-wide order; `arrived()` lists requests from their arrival, `held()` those not
    answered yet, `all()`/`ok()` those answered."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None,
                 behaviour: Callable[[dict], tuple] | None = None):
        self.host, self.port = host, port or free_port(host)
        self.behaviour = behaviour or (lambda rec: (200, {}, b"ok"))
        self.secrets: list[str] = []
        self.records: list[dict[str, Any]] = []
        self.arrivals: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.inflight: dict[str, int] = {}
        self.max_inflight: dict[str, int] = {}
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/hook"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                key = headers.get("webhook-id", "") + "|" + str(receiver.port)
                rec = {"path": self.path, "method": self.command, "headers": headers,
                       "body": body, "at": time.monotonic(), "id": headers.get("webhook-id")}
                with receiver.lock:
                    rec["seq"] = next_seq()
                    receiver.arrivals.append(rec)
                    n = receiver.inflight.get(key, 0) + 1
                    receiver.inflight[key] = n
                    receiver.max_inflight[key] = max(receiver.max_inflight.get(key, 0), n)
                rec["verified"], rec["payload"], rec["verify_error"] = False, None, None
                for secret in receiver.secrets:
                    try:
                        rec["payload"] = Webhook(secret).verify(body, headers)
                        rec["verified"] = True
                        break
                    except Exception as e:  # noqa: BLE001 - recorded for the assertion
                        rec["verify_error"] = repr(e)
                try:
                    out = receiver.behaviour(rec)
                    status, extra, reply = out[:3]
                    if len(out) > 3 and out[3]:
                        time.sleep(out[3])
                    rec["status"] = status
                    with receiver.lock:
                        rec["replied_seq"] = next_seq()
                        receiver.records.append(rec)
                    self.send_response(status)
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                finally:
                    with receiver.lock:
                        receiver.inflight[key] -= 1

            do_POST = do_PUT = do_PATCH = do_GET = _handle

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server((self.host, self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def ok(self) -> list[dict]:
        with self.lock:
            return [r for r in self.records if 200 <= r["status"] < 300]

    def all(self) -> list[dict]:
        with self.lock:
            return list(self.records)

    def arrived(self) -> list[dict]:
        """Every request received so far, answered or not, in arrival order."""
        with self.lock:
            return list(self.arrivals)

    def held(self) -> list[dict]:
        """Requests received whose reply has not been released yet."""
        with self.lock:
            return [r for r in self.arrivals if "replied_seq" not in r]


class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback collecting messages."""

    def __init__(self, handler=None, **controller_kw):
        self.messages: list[Message] = []
        self.envelopes: list[Any] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.envelopes.append(envelope)
                sink.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        self.handler = handler or Handler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     **controller_kw)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def pending_count(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Delivery).where(Delivery.state == "pending"))


def drain(db, cfg: DispatcherConfig | None = None, timeout: float = HANG_TIMEOUT,
          until: Callable[[], bool] | None = None) -> Dispatcher:
    """Run the dispatcher until no delivery is pending (or `until()`); the timeout only
    catches a hung test."""
    dispatcher = Dispatcher(db, cfg or fast_config())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dispatcher.run_once()
        if (until() if until else pending_count(db) == 0):
            return dispatcher
        time.sleep(0.02)
    raise AssertionError(f"hung: deliveries still pending after {timeout:g} s: {pending_count(db)}")


def text_part(msg: Message, subtype: str = "plain") -> str:
    for part in msg.walk():
        if part.get_content_type() == f"text/{subtype}":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError(f"no text/{subtype} part")


# --- TLS for the SMTP tests: a throwaway CA and a wire tap --------------------------------

class TlsFiles:
    """A throwaway CA and a server certificate it signed for 127.0.0.1 (PEM files)."""

    def __init__(self, ca_cert: str, cert: str, key: str):
        self.ca_cert, self.cert, self.key = ca_cert, cert, key

    def server_context(self):
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


def make_tls_files(directory, ip: str = "127.0.0.1") -> TlsFiles:
    """Generate a CA and a server certificate (SAN IP `ip`) valid for a day, at test time."""
    import datetime
    import ipaddress
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory = Path(directory)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Docket test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ip)]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    files = TlsFiles(str(directory / "ca.pem"), str(directory / "server.pem"),
                     str(directory / "server.key"))
    Path(files.ca_cert).write_bytes(ca.public_bytes(pem))
    Path(files.cert).write_bytes(leaf.public_bytes(pem))
    Path(files.key).write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return files


class TcpTap:
    """A TCP relay on loopback in front of a server that records the bytes crossing it each
    way, to check what a client sent in clear. Read `client_bytes` after leaving the `with`."""

    def __init__(self, target_port: int, host: str = "127.0.0.1"):
        self.target = (host, target_port)
        self.port = free_port(host)
        self.client_bytes = bytearray()   # client -> server
        self.server_bytes = bytearray()   # server -> client
        self.connections = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server((host, self.port))

    def __enter__(self) -> "TcpTap":
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self.connections += 1
                self._sockets += [conn, upstream]
                for src, dst, buf in ((conn, upstream, self.client_bytes),
                                      (upstream, conn, self.server_bytes)):
                    t = threading.Thread(target=self._pipe, args=(src, dst, buf), daemon=True)
                    self._threads.append(t)
                    t.start()

    def _pipe(self, src: socket.socket, dst: socket.socket, buf: bytearray) -> None:
        try:
            while data := src.recv(65536):
                with self._lock:
                    buf += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def __exit__(self, *exc) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._acceptor.join(10)
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join(10)
        with self._lock:
            for s in self._sockets:
                s.close()
