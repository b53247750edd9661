"""A local SMTP server (aiosmtpd: the one fake, for a part outside the system) that keeps every
mail the hub's escalation sends; the `sink` fixture in conftest.py runs one per test."""

from __future__ import annotations

import email
from email.header import decode_header, make_header
from typing import Any

from aiosmtpd.controller import Controller

from tests.helpers import free_port


class Sink:
    """A local SMTP server that keeps every mail it gets."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mails: list[email.message.Message] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.mails.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def url(self, to: str) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=hub@example.com&to={to}&mode=insecure"

    def to(self, address: str) -> list[str]:
        """Subjects of the mails to one address."""
        return [
            str(make_header(decode_header(m["Subject"]))) for m in self.mails if m["To"] == address
        ]
