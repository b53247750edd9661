"""The wording of logbook lines: the one line a logbook shows for an event, at the edge and the
hub alike (CONTRACT 2's `GET /logbook` entry). Pages that speak another language word the line
themselves from the event's `data` and `pii`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .free_text import REMOVED, with_text

# the line of each event type but `visit.registered`, filled in from the event's `data`
_WORDING = {
    "visit.confirmation": "Resident confirmation: {confirmation[status]}",
    "visit.checked_out": "Visitor checked out",
    "visit.checkout_undone": "Check-out undone: the visitor is on site again",
    "door.event": "Door {door}: {kind}",
    "incident.opened": "Incident opened [{severity}] {category}: {title}",
    "incident.entry": "Incident {kind}: {text}",
    "incident.status": "Incident status: {previous} -> {status}",
    "incident.assigned": "Incident assigned to {assignee}",
    "incident.severity": "Incident re-graded: {previous} -> {severity}",
    "command.rejected": "Hub's {action} command refused: {reason}",
    "shift.note": "Shift note: {text}",
    "shift.acknowledged": "Shift handover acknowledged by {by}",
    "pii.purged": "Personal data of {visits} visits removed after retention",
    "preapproval.created": "Resident pre-approved a visitor for {unit} until {valid_until}",
    "watchlist.applied": "Watch list version {version} in force ({entries} entries)",
    "settings.applied": "Settings version {version} from the hub in force",
    "directory.applied": "Directory version {version} from the hub in force ({units} units)",
    "patrols.applied": "Patrol rounds version {version} from the hub in force ({checkpoints}"
    " checkpoints, {rounds} rounds)",
    "patrol.scan": "Patrol checkpoint scanned",
    "patrol.missed": "Patrol round missed: {missing_count} checkpoints not scanned by {due_at}",
    "photo.attached": "Photo attached to an incident ({size} bytes)",
    "photo.purged": "Photos deleted after retention: {photo_count}",
    "roster.applied": "Roster version {version} from the hub in force ({guards} guards,"
    " {disabled} disabled)",
}
# the types whose line ends with the reason given, when there is one
_WITH_REASON = frozenset(
    {"visit.confirmation", "door.event", "incident.status", "incident.severity"}
)


# the text of an entry the hub's escalation made: "Notified URL: incident opened (severe)"
_NOTIFIED = re.compile(
    r"^Notified (?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://\S*: incident (?P<event>\w+)"
    r" \((?P<severity>\w+)\)$"
)
EMAIL_SCHEMES = frozenset({"mailto", "mailtos"})
NOTIFIER = "hub:escalation"  # the author of the hub's notification entries


def notification(data: Mapping[str, Any]) -> dict[str, str] | None:
    """What a notification entry of the hub's escalation says, as codes: `channel` ("email",
    or the notifier's URL scheme), `event` (opened, overdue) and `severity`; None for any other
    entry. The address in its stored text is never shown: pages word the codes."""
    if data.get("kind") != "escalation" or data.get("by") != NOTIFIER:
        return None
    found = _NOTIFIED.match(str(data.get("text", "")))
    if found is None:
        return {"channel": "", "event": "", "severity": ""}
    scheme = found["scheme"].lower()
    return {
        "channel": "email" if scheme in EMAIL_SCHEMES else scheme,
        "event": found["event"],
        "severity": found["severity"],
    }


def subject_ids(line: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The visit and the incident a logbook line is about (None where its own words name it
    already, as a registration and an opening do)."""
    kind, data = line["type"], line["data"]
    if kind in ("visit.confirmation", "visit.checked_out"):
        return str(line["record_id"]), None
    if kind == "door.event":
        return data.get("visit_id"), None
    if kind == "incident.entry":
        return None, str(data["incident_id"])
    if kind in ("incident.status", "incident.assigned", "incident.severity", "command.rejected"):
        return None, str(line["record_id"])
    return None, None


def wanted(lines: Iterable[Mapping[str, Any]]) -> tuple[set[str], set[str], set[str]]:
    """What naming these lines (with `data`) needs: their visits' ids, their incidents' ids,
    and the badges of the guards who made them."""
    visits, incidents, badges = set(), set(), set()
    for line in lines:
        visit, incident = subject_ids(line)
        visits |= {visit} if visit else set()
        incidents |= {incident} if incident else set()
        kind, _sep, ident = str(line["data"].get("by", "")).partition(":")
        badges |= {ident} if kind == "guard" else set()
    return visits, incidents, badges


def logbook_line(row: Mapping[str, Any], raw: bool = False) -> dict[str, Any]:
    """One logbook line (CONTRACT 2's `GET /logbook` entry) from a stored event row, at the
    edge or the hub; with the event's `data` and `pii` if `raw` (for pages that word the line
    in their own language)."""
    data = json.loads(row["data"])
    pii = json.loads(row["pii"]) if row["pii"] else None
    line = {
        "seq": row["seq"],
        "at": row["at"],
        "type": row["type"],
        "record_id": row["record_id"],
        "summary": summarise(row["type"], data, pii),
    }
    if raw:
        line.update(data=data, pii=pii)
    return line


def summarise(event_type: str, data: dict[str, Any], pii: dict[str, Any] | None) -> str:
    """One line a guard reads in the logbook (never the ID number)."""
    data = with_text(event_type, data, pii, REMOVED)  # the free text, wherever it travels
    name = (pii or {}).get("visitor_name") or "(name removed)"
    if event_type == "visit.registered":
        text = (
            f"Visitor {name} registered for {data['unit']} ({data['category']},"
            f" party of {data['party_size']})"
        )
        if data.get("preapproval_id"):
            text += ", pre-approved by the resident"
        return text + (", ON THE WATCH LIST" if data.get("flag") == "watch_list" else "")
    notified = notification(data) if event_type == "incident.entry" else None
    if notified is not None:
        channel, event = notified["channel"], notified["event"]
        how = " by e-mail" if channel == "email" else f" ({channel})" if channel else ""
        return f"Incident escalation: supervisor notified{how}" + (
            f" (incident {event})" if event else ""
        )
    wording = _WORDING.get(event_type)
    if wording is None:
        return event_type
    if event_type == "patrol.missed":
        data = {**data, "missing_count": len(data["missing"])}
    if event_type == "photo.purged":
        data = {**data, "photo_count": len(data["photos"])}
    text = wording.format_map(data)  # the template is ours; values go in as they are
    if event_type in _WITH_REASON and data.get("reason"):
        text += f" ({data['reason']})"
    return text
