"""Visits and their confirmations: registration (with pre-approval codes, the intercom's
request and the watch list), check-out and its undo, the guard's override, the resident's
answer, expiry; the register and its search across days."""

from __future__ import annotations

import builtins
import sqlite3
from datetime import date, timedelta
from typing import Any

from schemas.ids import format_time, new_id, parse_time, utc_now
from schemas.models import (
    Confirmation,
    ConfirmationStatus,
    DoorEventData,
    DoorKind,
    VisitCheckedOutData,
    VisitCheckoutUndoneData,
    VisitConfirmationData,
    VisitPii,
    VisitRegisteredData,
)
from schemas.rows import visit_record
from service import errors
from service.sqlite import like_escaped

from ..privacy import id_hmac, mask_id, new_salt, text_pii
from .actors import SYSTEM, Actor
from .family import Family, LogbookParts
from .preapprovals import Preapprovals
from .watchlist import Watchlist
from .writer import Work

UNDO_CHECKOUT_S = 120  # long enough to notice the wrong row; short enough to stay honest
UNDO_CHECKOUT = timedelta(seconds=UNDO_CHECKOUT_S)
SEARCHED = ("visitor_name", "phone", "vehicle_plate", "unit")  # never the ID number
SEARCH_LIMIT = 200  # a search shows the newest; a guard narrows it by typing more


class Visits(Family):
    """`book.visits`: who came, to which unit, and whether the resident let them in."""

    def __init__(
        self, book: LogbookParts, preapprovals: Preapprovals, watchlist: Watchlist
    ) -> None:
        super().__init__(book)
        self.preapprovals = preapprovals  # a code approves a visit at once
        self.watchlist = watchlist  # a match flags it

    async def register(self, body: dict[str, Any], by: Actor) -> dict[str, Any]:
        """Register a visitor (see `register_work`); the visit once committed."""
        return await self.writer.run(self.register_work(body, by))

    def register_work(self, body: dict[str, Any], by: Actor) -> Work[dict[str, Any]]:
        """Register a visitor; the full ID number is masked and HMACed here and then dropped.

        A visit to a unit with an intercom gets a pending confirmation request and its webhook
        delivery row in the same transaction (the delivery survives a restart); a resident's
        pre-approval code approves it at once instead; a watch-list match flags the visit,
        opens a linked incident and neither rings the flat nor uses the code."""
        book = self.book
        id_number = (body.get("id_number") or "").strip() or None
        masked = mask_id(id_number) if id_number else None
        hmac_hex = id_hmac(book.id_key, id_number) if id_number else None
        code = (body.get("preapproval_code") or "").strip()
        code_hmac = self.preapprovals.code_hmac(code) if code else None
        visit_id = new_id()

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            now = utc_now()  # checked_in_at is the event's own time
            unit = conn.execute(
                "SELECT unit, intercom FROM units WHERE unit = ?", (body["unit"],)
            ).fetchone()
            if unit is None:
                raise errors.UnknownUnit(f"unknown unit {body['unit']!r}")
            # a watch-listed visitor is kept in the lobby: no code lets them in, the flat is
            # not rung (no request, no webhook), and the confirmation stays not_required
            match = self.watchlist.match(conn, hmac_hex, body["visitor_name"])
            confirmation = Confirmation(
                status=ConfirmationStatus.not_required, request_id=None, answered_at=None
            )
            expires_at = None
            preapproval = (
                self.preapprovals.use(conn, code_hmac, unit["unit"], visit_id, now)
                if code_hmac and not match
                else None
            )
            if preapproval:
                confirmation = Confirmation(
                    status=ConfirmationStatus.approved,
                    request_id=None,
                    answered_at=format_time(now),
                )
            elif book.intercom_enabled and unit["intercom"] and not match:
                confirmation = Confirmation(
                    status=ConfirmationStatus.pending, request_id=new_id(), answered_at=None
                )
                expires_at = format_time(now + timedelta(seconds=book.confirm_timeout_s))
            pii = VisitPii(
                salt=new_salt(),
                visitor_name=body["visitor_name"],
                id_number_masked=masked,
                phone=body.get("phone") or None,
                vehicle_plate=body.get("vehicle_plate") or None,
                notes=body.get("notes") or None,
            )
            optional: dict[str, Any] = {}  # written only when they apply
            if preapproval:
                optional["preapproval_id"] = preapproval
            if match:
                optional["flag"] = "watch_list"
            data = VisitRegisteredData(
                **optional,
                unit=unit["unit"],
                category=body["category"],
                company=body.get("company") or None,
                purpose=body.get("purpose") or None,
                party_size=body.get("party_size") or 1,
                checked_in_at=format_time(now),
                confirmation=confirmation,
                by=by.ref,
            )
            local = {"id_hmac": hmac_hex, "confirmation_expires_at": expires_at}
            self.writer.append(conn, "visit.registered", visit_id, data, pii, at=now, local=local)
            if confirmation.status == "pending":
                conn.execute(
                    "INSERT INTO deliveries (request_id, visit_id, next_attempt_at)"
                    " VALUES (?, ?, ?)",
                    (confirmation.request_id, visit_id, format_time(now)),
                )
            if match:
                self.watchlist.open_incident(conn, match, visit_id, unit["unit"], pii, now)
            return self._out(self._row(conn, visit_id))

        return work

    async def check_out(self, visit_id: str, by: Actor) -> dict[str, Any]:
        """The visitor left; the visit once committed."""

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            row = self._row(conn, visit_id)
            if row["checked_out_at"] is not None:
                raise errors.AlreadyCheckedOut(
                    f"visit was already checked out at {row['checked_out_at']}", loc=("path", "id")
                )
            data = VisitCheckedOutData(checked_out_at=format_time(utc_now()), by=by.ref)
            self.writer.append(conn, "visit.checked_out", visit_id, data)
            return self._out(self._row(conn, visit_id))

        return await self.writer.run(work)

    async def undo_check_out(self, visit_id: str, by: Actor) -> dict[str, Any]:
        """Take back a check-out made by mistake, within `UNDO_CHECKOUT_S` of it: a
        `visit.checkout_undone` event naming the check-out; the visit once committed."""

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            row = self._row(conn, visit_id)
            if row["checked_out_at"] is None:
                raise errors.NotCheckedOut("visit is not checked out", loc=("path", "id"))
            if utc_now() - parse_time(row["checked_out_at"]) > UNDO_CHECKOUT:
                raise errors.UndoTooLate(
                    f"a check-out is undone only within {UNDO_CHECKOUT_S} s; this one was at"
                    f" {row['checked_out_at']}",
                    loc=("path", "id"),
                )
            checkout = conn.execute(
                "SELECT MAX(seq) FROM events WHERE record_id = ? AND type = 'visit.checked_out'",
                (visit_id,),
            ).fetchone()[0]
            data = VisitCheckoutUndoneData(
                checked_out_at=row["checked_out_at"], checkout_seq=checkout, by=by.ref
            )
            self.writer.append(conn, "visit.checkout_undone", visit_id, data)
            return self._out(self._row(conn, visit_id))

        return await self.writer.run(work)

    async def override(
        self, visit_id: str, reason: str, by: Actor, door: str = "lobby"
    ) -> dict[str, Any]:
        """The guard lets the visitor in without the resident's answer, with a reason."""

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            row = self._row(conn, visit_id)
            if row["confirmation_status"] in ("approved", "denied", "overridden"):
                raise errors.ConfirmationClosed(
                    f"confirmation is already {row['confirmation_status']}", loc=("path", "id")
                )
            now = format_time(utc_now())
            confirmation = Confirmation(
                status=ConfirmationStatus.overridden, request_id=row["request_id"], answered_at=now
            )
            self.writer.append(
                conn,
                "visit.confirmation",
                visit_id,
                VisitConfirmationData(confirmation=confirmation, by=by.ref),
                text_pii(reason=reason),
            )
            self.writer.append(
                conn,
                "door.event",
                new_id(),
                DoorEventData(
                    door=door,
                    kind=DoorKind.guard_override,
                    visit_id=visit_id,
                    occurred_at=now,
                    by=by.ref,
                ),
                text_pii(reason=reason),
            )
            return self._out(self._row(conn, visit_id))

        return await self.writer.run(work)

    async def answer_confirmation(
        self, request_id: str, decision: str, by: Actor
    ) -> dict[str, Any]:
        """A resident's answer through the intercom gateway."""

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            row = conn.execute(
                "SELECT * FROM visits WHERE request_id = ?", (request_id,)
            ).fetchone()
            if row is None:
                raise errors.NotFound(
                    f"no confirmation request {request_id}", loc=("body", "request_id")
                )
            now = utc_now()
            if row["confirmation_status"] != "pending":
                raise errors.ConfirmationClosed(
                    f"request is already {row['confirmation_status']}", loc=("body", "request_id")
                )
            if row["confirmation_expires_at"] and parse_time(row["confirmation_expires_at"]) <= now:
                raise errors.ConfirmationClosed("request has expired", loc=("body", "request_id"))
            status = "approved" if decision == "approve" else "denied"
            confirmation = Confirmation(
                status=ConfirmationStatus(status),
                request_id=request_id,
                answered_at=format_time(now),
            )
            self.writer.append(
                conn,
                "visit.confirmation",
                row["id"],
                VisitConfirmationData(confirmation=confirmation, by=by.ref),
            )
            if status == "approved":
                self.writer.append(
                    conn,
                    "door.event",
                    new_id(),
                    DoorEventData(
                        door="lobby",
                        kind=DoorKind.intercom_release,
                        reason=None,
                        visit_id=row["id"],
                        occurred_at=format_time(now),
                        by=by.ref,
                    ),
                )
            return self._out(self._row(conn, row["id"]))

        return await self.writer.run(work)

    def expire_confirmations_now(self) -> int:
        """Every pending request past its `expires_at` becomes `no_answer` (a background job;
        also right after a restart, for what expired while the post was down)."""

        def work(conn: sqlite3.Connection) -> int:
            rows = conn.execute(
                "SELECT id, request_id FROM visits WHERE confirmation_status = 'pending'"
                " AND confirmation_expires_at <= ? ORDER BY confirmation_expires_at",
                (format_time(utc_now()),),
            ).fetchall()
            for row in rows:
                self.writer.append(
                    conn,
                    "visit.confirmation",
                    row["id"],
                    VisitConfirmationData(
                        confirmation=Confirmation(
                            status=ConfirmationStatus.no_answer,
                            request_id=row["request_id"],
                            answered_at=None,
                        ),
                        by=SYSTEM.ref,
                    ),
                )
            return len(rows)

        return self.writer.write(work)

    # ---- reads ------------------------------------------------------------------------------

    def get(self, visit_id: str) -> dict[str, Any]:
        return self._out(self._row(self.book.reader, visit_id))

    def list(
        self,
        *,
        on_site: bool | None = None,
        day: date | None = None,
        unit: str | None = None,
        text: str | None = None,
        out_since: str | None = None,
    ) -> builtins.list[dict[str, Any]]:
        """Visits newest first; `text` finds it in the name, phone, plate or unit across days
        (the newest `SEARCH_LIMIT`; never in the ID number; a purged visit by its unit only);
        `out_since` keeps those checked out at or after that time."""
        sql, args = "SELECT * FROM visits WHERE 1=1", []
        if text:
            sql += " AND (" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in SEARCHED) + ")"
            args += ["%" + like_escaped(text) + "%"] * len(SEARCHED)
        if out_since is not None:
            sql += " AND checked_out_at >= ?"
            args.append(out_since)
        if on_site is True:
            sql += " AND checked_out_at IS NULL"
        elif on_site is False:
            sql += " AND checked_out_at IS NOT NULL"
        if day is not None:
            start, end = self.book.day_bounds(day)
            sql += " AND checked_in_at >= ? AND checked_in_at < ?"
            args += [start, end]
        if unit:
            sql += " AND unit = ? COLLATE NOCASE"
            args.append(unit)
        sql += " ORDER BY checked_in_at DESC, id DESC" + (f" LIMIT {SEARCH_LIMIT}" if text else "")
        return [self._out(row) for row in self.book.reader.execute(sql, args)]

    def repeat_visitor(self, id_number: str) -> dict[str, Any] | None:
        """The name and company of the latest visit by the same ID number (matched by keyed
        HMAC; the number itself is never stored), unless purged."""
        if not id_number.strip():
            return None
        row = self.book.reader.execute(
            "SELECT visitor_name, company FROM visits WHERE id_hmac = ?"
            " AND visitor_name IS NOT NULL ORDER BY checked_in_at DESC LIMIT 1",
            (id_hmac(self.book.id_key, id_number),),
        ).fetchone()
        return dict(row) if row else None

    def _row(self, conn: sqlite3.Connection, visit_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM visits WHERE id = ?", (visit_id,)
        ).fetchone()
        if row is None:
            raise errors.NotFound(f"no visit {visit_id}", loc=("path", "id"))
        return row

    def _out(self, row: sqlite3.Row) -> dict[str, Any]:
        return visit_record(row, self.book.site, self.book.device)


def linked_visit(conn: sqlite3.Connection, visit_id: str | None) -> str | None:
    """The visit a door event or an incident names (None for none), refused as UnknownVisit
    when the post has no such visit."""
    visit_id = visit_id or None
    if (
        visit_id
        and conn.execute("SELECT 1 FROM visits WHERE id = ?", (visit_id,)).fetchone() is None
    ):
        raise errors.UnknownVisit(f"no visit {visit_id}")
    return visit_id
