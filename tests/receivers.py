"""Real receivers for notification tests: an HTTP server on loopback that verifies every
webhook with the independent `standardwebhooks` package, an SMTP server (aiosmtpd), and a
helper that runs the dispatcher until deliveries settle."""
from __future__ import annotations

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


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def fast_config(**overrides) -> DispatcherConfig:
    base = dict(concurrency=4, schedule=(0.05,) * 7, lease_seconds=30.0, connect_timeout=2.0,
                read_timeout=5.0, poll_interval=0.05)
    base.update(overrides)
    return DispatcherConfig(**base)


class Receiver:
    """HTTP receiver. `behaviour(record) -> (status, headers, body[, delay_s])`."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None,
                 behaviour: Callable[[dict], tuple] | None = None):
        self.host, self.port = host, port or free_port(host)
        self.behaviour = behaviour or (lambda rec: (200, {}, b"ok"))
        self.secrets: list[str] = []
        self.records: list[dict[str, Any]] = []
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


def drain(db, cfg: DispatcherConfig | None = None, timeout: float = 30.0,
          until: Callable[[], bool] | None = None) -> Dispatcher:
    """Run the dispatcher until no delivery is pending (or `until()`), failing on timeout."""
    dispatcher = Dispatcher(db, cfg or fast_config())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dispatcher.run_once()
        if (until() if until else pending_count(db) == 0):
            return dispatcher
        time.sleep(0.02)
    raise AssertionError(f"deliveries still pending after {timeout} s: {pending_count(db)}")


def text_part(msg: Message, subtype: str = "plain") -> str:
    for part in msg.walk():
        if part.get_content_type() == f"text/{subtype}":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError(f"no text/{subtype} part")
