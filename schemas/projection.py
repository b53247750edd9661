"""What each event does to the records people read: one pure function for edge and hub alike.

`changes(event)` turns one logbook event into inserts and updates of the projection tables
(visits, door_events, incidents, incident_entries, shift_notes) and, for a `pii.purged` event,
a purge. The edge's logbook and the hub's store each apply the changes with their own SQL (the
hub adds `site` and `device` to every row), so what a record looks like is decided here once.
The line a logbook shows for an event is `schemas.lines`'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .free_text import said

# the visit fields a retention purge clears (the event's whole `pii` goes too)
PURGED_VISIT_FIELDS = ("visitor_name", "id_number_masked", "phone", "vehicle_plate", "notes")
# the incident fields it clears: the free text and the people it names
PURGED_INCIDENT_FIELDS = (
    "description",
    "complainant_name",
    "complainant_unit",
    "complainant_phone",
    "visitor_name",
    "location",
)
# the free text a purge clears from the row an event made, by the event's type: the table, the
# column holding the row's id (`record_id`, or the event's own `id`) and the values left; an
# incident loses PURGED_INCIDENT_FIELDS and its title, which stays a string (pages word it as
# removed) and keeps a watch-list incident's unit, a code (`service.purge_text`)
PURGED_TEXT: dict[str, tuple[str, str, dict[str, Any]]] = {
    "incident.opened": ("incidents", "record_id", {}),
    "incident.entry": ("incident_entries", "record_id", {"text": ""}),
    "shift.note": ("shift_notes", "record_id", {"text": ""}),
    "door.event": ("door_events", "record_id", {"reason": None}),
    "incident.status": ("incident_changes", "id", {"reason": None}),
    "incident.severity": ("incident_changes", "id", {"reason": None}),
}


@dataclass(frozen=True)
class Insert:
    table: str
    row: dict[str, Any]


@dataclass(frozen=True)
class Update:
    table: str
    id: str
    values: dict[str, Any]


@dataclass(frozen=True)
class Purge:
    """Clear `pii` of these seqs, and the personal fields of visits checked in (and incidents
    opened) before a time."""

    seqs: list[int]
    older_than: str
    at: str


Change = Insert | Update | Purge


def _guard(by: str) -> str | None:
    """The badge in `by` when a guard made the change (`guard:BADGE`), else None."""
    kind, _, ident = by.partition(":")
    return ident if kind == "guard" else None


def _change(event: dict[str, Any], change: str, value: str, previous: str | None) -> Insert:
    """A line of an incident's history (its status, assignee or grade changed, or the post
    refused a command from the hub), with who did it and, from the hub, the command."""
    data = event["data"]
    return Insert(
        "incident_changes",
        {
            "id": event["id"],
            "incident_id": event["record_id"],
            "at": event["at"],
            "change": change,
            "value": value,
            "previous": previous,
            "reason": said(data, event.get("pii"), "reason"),
            "author": data["by"],
            "command_id": data.get("command_id"),
        },
    )


def changes(event: dict[str, Any]) -> list[Change]:
    """The projection changes of one event, in the order they apply."""
    kind, data, record_id, at = event["type"], event["data"], event["record_id"], event["at"]
    by = str(data.get("by", ""))
    if kind == "visit.registered":
        pii, conf = event.get("pii") or {}, data["confirmation"]
        return [
            Insert(
                "visits",
                {
                    "id": record_id,
                    "visitor_name": pii.get("visitor_name"),
                    "id_number_masked": pii.get("id_number_masked"),
                    "unit": data["unit"],
                    "category": data["category"],
                    "phone": pii.get("phone"),
                    "company": data.get("company"),
                    "purpose": data.get("purpose"),
                    "party_size": data["party_size"],
                    "vehicle_plate": pii.get("vehicle_plate"),
                    "notes": pii.get("notes"),
                    "checked_in_at": data["checked_in_at"],
                    "guard": _guard(by),
                    "confirmation_status": conf["status"],
                    "request_id": conf.get("request_id"),
                    "answered_at": conf.get("answered_at"),
                    "flag": data.get("flag"),
                },
            )
        ]
    if kind == "visit.confirmation":
        conf = data["confirmation"]
        return [
            Update(
                "visits",
                record_id,
                {"confirmation_status": conf["status"], "answered_at": conf.get("answered_at")},
            )
        ]
    if kind == "visit.checked_out":
        return [Update("visits", record_id, {"checked_out_at": data["checked_out_at"]})]
    if kind == "visit.checkout_undone":  # the visitor is on site again
        return [Update("visits", record_id, {"checked_out_at": None})]
    if kind == "door.event":
        actor, _, ident = by.partition(":")
        return [
            Insert(
                "door_events",
                {
                    "id": record_id,
                    "door": data["door"],
                    "kind": data["kind"],
                    "reason": said(data, event.get("pii"), "reason"),
                    "visit_id": data.get("visit_id"),
                    "occurred_at": data["occurred_at"],
                    "recorded_at": at,
                    "guard": ident if actor == "guard" else None,
                    "api_key": ident if actor == "key" else None,
                },
            )
        ]
    if kind == "incident.opened":
        pii = event.get("pii") or {}
        return [
            Insert(
                "incidents",
                {
                    "id": record_id,
                    "category": data["category"],
                    "severity": data["severity"],
                    "title": said(data, pii, "title") or "",
                    "title_code": data.get("title_code"),
                    # in `pii` since complaints carry personal data; older events kept it here
                    "description": pii.get("description") or data.get("description"),
                    "location": said(data, pii, "location"),
                    "visit_id": data.get("visit_id"),
                    "channel": data.get("channel"),
                    "complainant_name": pii.get("complainant_name"),
                    "complainant_unit": pii.get("complainant_unit"),
                    "complainant_phone": pii.get("complainant_phone"),
                    "visitor_name": pii.get("visitor_name"),
                    "reply_by": data.get("reply_by"),
                    "status": "open",
                    "opened_at": at,
                    "due_at": data["due_at"],
                    "updated_at": at,
                    "guard": _guard(by),
                },
            )
        ]
    if kind == "incident.entry":
        return [
            Insert(
                "incident_entries",
                {
                    "id": record_id,
                    "incident_id": data["incident_id"],
                    "kind": data["kind"],
                    "text": said(data, event.get("pii"), "text") or "",
                    "at": at,
                    "guard": _guard(by),
                    "author": by,
                },
            ),
            Update("incidents", data["incident_id"], {"updated_at": at}),
        ]
    if kind == "incident.status":
        return [
            _change(event, "status", data["status"], data["previous"]),
            Update("incidents", record_id, {"status": data["status"], "updated_at": at}),
        ]
    if kind == "incident.assigned":
        return [
            _change(event, "assignee", data["assignee"], data.get("previous")),
            Update("incidents", record_id, {"assignee": data["assignee"], "updated_at": at}),
        ]
    if kind == "incident.severity":
        values = {"severity": data["severity"], "due_at": data["due_at"], "updated_at": at}
        return [
            _change(event, "severity", data["severity"], data["previous"]),
            Update("incidents", record_id, values),
        ]
    if kind == "command.rejected":
        return [_change(event, "rejected", data["action"], None)]
    if kind == "shift.note":
        return [
            Insert(
                "shift_notes",
                {
                    "id": record_id,
                    "text": said(data, event.get("pii"), "text") or "",
                    "at": at,
                    "guard": _guard(by),
                },
            )
        ]
    if kind == "shift.acknowledged":
        return []  # the handover's event says it; the note's row stays as it was written
    if kind == "patrol.scan":
        return [
            Insert(
                "patrol_scans",
                {
                    "id": record_id,
                    "checkpoint_id": data["checkpoint"],
                    "round_id": data.get("round"),
                    "scanned_at": data["scanned_at"],
                    "on_time": int(data["on_time"]),
                    "guard": _guard(by),
                },
            )
        ]
    if kind == "photo.attached":
        return [
            Insert(
                "photos",
                {
                    "id": record_id,
                    "incident_id": data["incident_id"],
                    "sha256": data["sha256"],
                    "content_type": data["content_type"],
                    "size": data["size"],
                    "attached_at": at,
                    "author": by,
                },
            )
        ]
    if kind == "photo.purged":  # the files go after the commit (edge) or on arrival (hub)
        return [Update("photos", photo_id, {"purged_at": at}) for photo_id in data["photos"]]
    if kind == "pii.purged":
        return [Purge(list(data["seqs"]), data["older_than"], at)]
    if kind in (
        "preapproval.created",
        "watchlist.applied",
        "settings.applied",
        "directory.applied",
        "roster.applied",
        "patrols.applied",
        "patrol.missed",  # its incident has its own `incident.opened` event
    ):
        return []  # kept by the post alone: a code's HMAC, the list it matches against
    raise ValueError(f"unknown event type {kind}")
