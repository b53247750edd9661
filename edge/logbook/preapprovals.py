"""Residents' pre-approvals: a code the guard enters at registration approves the visit at once.
Only the code's keyed HMAC is kept."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from datetime import datetime
from typing import Any

from schemas.ids import format_time, new_id, utc_now
from schemas.models import PreapprovalCreatedData, PreapprovalPii
from service import errors, sqlite

from ..privacy import new_salt
from .actors import Actor
from .family import Family


class Preapprovals(Family):
    """`book.preapprovals`: codes residents hand out, and their use at registration."""

    async def create(self, body: dict[str, Any], by: Actor) -> dict[str, Any]:
        """A resident expects a visitor: a code the guard enters at registration approves the
        visit at once. Only the code's keyed HMAC is kept; the code is answered once."""
        preapproval_id = new_id()

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            now = utc_now()
            unit = conn.execute("SELECT unit FROM units WHERE unit = ?", (body["unit"],)).fetchone()
            if unit is None:
                raise errors.UnknownUnit(f"unknown unit {body['unit']!r}")
            valid_from = body.get("valid_from") or now
            valid_until = body["valid_until"]
            if valid_until <= max(valid_from, now):
                raise errors.InvalidValue(
                    "valid_until must be in the future and after valid_from",
                    loc=("body", "valid_until"),
                )
            code = body.get("code")
            for _ in range(20):
                candidate = code or f"{secrets.randbelow(10**6):06d}"
                if not conn.execute(
                    "SELECT 1 FROM preapprovals WHERE code_hmac = ? AND unit = ?"
                    " AND used_at IS NULL AND valid_until > ?",
                    (self.code_hmac(candidate), unit["unit"], format_time(now)),
                ).fetchone():
                    break
                if code:
                    raise errors.InvalidValue(
                        "this code is already in use for the unit", loc=("body", "code")
                    )
            code = candidate
            row = {
                "id": preapproval_id,
                "unit": unit["unit"],
                "code_hmac": self.code_hmac(code),
                "visitor_name": body.get("visitor_name") or None,
                "valid_from": format_time(valid_from),
                "valid_until": format_time(valid_until),
                "created_at": format_time(now),
                "api_key": by.id,
            }
            sqlite.insert_row(conn, "preapprovals", row)
            self.writer.append(
                conn,
                "preapproval.created",
                preapproval_id,
                PreapprovalCreatedData(
                    unit=row["unit"],
                    valid_from=row["valid_from"],
                    valid_until=row["valid_until"],
                    by=by.ref,
                ),
                PreapprovalPii(salt=new_salt(), visitor_name=row["visitor_name"]),
                at=now,
            )
            return {**self._out(conn, preapproval_id), "code": code}

        return await self.writer.run(work)

    def code_hmac(self, code: str) -> str:
        return hmac.new(
            self.book.id_key, b"preapproval:" + code.encode(), hashlib.sha256
        ).hexdigest()

    def use(
        self, conn: sqlite3.Connection, code_hmac: str, unit: str, visit_id: str, now: datetime
    ) -> str:
        """Spend a pre-approval code on this visit (inside the visit's work); its id, or a 422
        naming the field."""
        rows = conn.execute(
            "SELECT * FROM preapprovals WHERE code_hmac = ? ORDER BY created_at DESC", (code_hmac,)
        ).fetchall()
        for_unit = [r for r in rows if r["unit"].casefold() == unit.casefold()]
        when = format_time(now)
        if not for_unit:
            problem = "the code is for another unit" if rows else "unknown code"
            raise errors.PreapprovalRefused(problem)
        usable = [r for r in for_unit if r["used_at"] is None]
        if not usable:
            raise errors.PreapprovalRefused("the code was already used")
        current = [r for r in usable if r["valid_from"] <= when < r["valid_until"]]
        if not current:
            early = all(r["valid_from"] > when for r in usable)
            raise errors.PreapprovalRefused(
                "the code is not valid yet" if early else "the code has expired"
            )
        chosen = current[0]["id"]
        conn.execute(
            "UPDATE preapprovals SET used_at = ?, visit_id = ? WHERE id = ?",
            (when, visit_id, chosen),
        )
        return str(chosen)

    def for_visit(self, visit_id: str) -> dict[str, Any] | None:
        """The pre-approval a visit was let in with, if any."""
        row = self.book.reader.execute(
            "SELECT id FROM preapprovals WHERE visit_id = ?", (visit_id,)
        ).fetchone()
        return self._out(self.book.reader, row["id"]) if row else None

    def _out(self, conn: sqlite3.Connection, preapproval_id: str) -> dict[str, Any]:
        row = conn.execute(
            "SELECT id, unit, visitor_name, valid_from, valid_until, created_at,"
            " used_at, visit_id FROM preapprovals WHERE id = ?",
            (preapproval_id,),
        ).fetchone()
        return {**dict(row), "code": None}
