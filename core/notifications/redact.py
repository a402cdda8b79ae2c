"""Keeps secrets out of logs, attempt rows, exceptions and exports.

Every text that leaves a channel (error messages, response excerpts) goes through `Redactor`,
which replaces each known secret value (webhook secrets, SMTP/SMS passwords, CRM headers,
basic-auth forms of them) by `***`.
"""
from __future__ import annotations

import base64
from typing import Iterable

MASK = "***"


class Redactor:
    def __init__(self, secrets: Iterable[str | None] = ()):
        self._values: set[str] = set()
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        if not secret or len(secret) < 4:
            return
        self._values.add(secret)
        if secret.startswith("whsec_"):
            self._values.add(secret[len("whsec_"):])

    def add_basic_auth(self, user: str, password: str) -> None:
        self.add(password)
        if password:
            self.add(base64.b64encode(f"{user}:{password}".encode()).decode())

    def __call__(self, text: str | None) -> str | None:
        if text is None:
            return None
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, MASK)
        return text
