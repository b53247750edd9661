"""The contract's records from the rows of the projection tables, at the edge and the hub alike
(the hub's rows carry their `site` and `device`; the edge's are its own): one shape, written
once."""

from __future__ import annotations

from typing import Any, Protocol

from .ids import format_time, utc_now


class Row(Protocol):
    """A row by column name: an `sqlite3.Row`, a dict."""

    def __getitem__(self, column: str, /) -> Any: ...


# the statuses of an incident still waiting for someone: past its `due_at` it is overdue
UNRESOLVED_STATUSES = ("open", "acknowledged", "in_progress")


def visit_record(row: Row, site: str, device: str) -> dict[str, Any]:
    """A visit (CONTRACT's `Visit`) from its row in `visits`."""
    return {
        "id": row["id"],
        "site": site,
        "device": device,
        "visitor_name": row["visitor_name"],
        "id_number_masked": row["id_number_masked"],
        "unit": row["unit"],
        "category": row["category"],
        "phone": row["phone"],
        "company": row["company"],
        "purpose": row["purpose"],
        "party_size": row["party_size"],
        "vehicle_plate": row["vehicle_plate"],
        "notes": row["notes"],
        "checked_in_at": row["checked_in_at"],
        "checked_out_at": row["checked_out_at"],
        "guard": row["guard"],
        "confirmation": {
            "status": row["confirmation_status"],
            "request_id": row["request_id"],
            "answered_at": row["answered_at"],
        },
        "flag": row["flag"],
    }


def is_overdue(status: str, due_at: str) -> bool:
    """An incident still unresolved past its deadline."""
    return status in UNRESOLVED_STATUSES and due_at < format_time(utc_now())


def only_overdue(incidents: list[dict[str, Any]], overdue: bool | None) -> list[dict[str, Any]]:
    """The incidents whose `overdue` is as asked (None: all of them)."""
    if overdue is None:
        return incidents
    return [i for i in incidents if i["overdue"] is overdue]
