"""The words of the pages, the same at the tablet and at the hub: the codes a page shows
(categories, statuses, kinds), a logbook line in the page's language, a validation error in
plain words, and the dates and months a page is asked for. Each takes `_`, the page
language's gettext."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from schemas.free_text import with_text
from schemas.ids import FIRST_DAY, LAST_DAY, parse_day, parse_month
from schemas.lines import NOTIFIER, notification
from service.incident_words import coded_title


def labels_for(_: Any) -> dict[str, Any]:
    """Every code a page shows (categories, statuses, kinds) in the language of `_`."""
    return {
        "categories": {
            "guest": _("Guest"),
            "contractor": _("Contractor"),
            "delivery": _("Delivery"),
            "repair": _("Repair"),
            "other": _("Other"),
        },
        "severities": {"minor": _("Minor"), "medium": _("Medium"), "severe": _("Severe")},
        "confirmations": {
            "not_required": _("Not needed"),
            "pending": _("Waiting"),
            "approved": _("Approved"),
            "denied": _("Denied"),
            "no_answer": _("No answer"),
            "overridden": _("Let in by guard"),
        },
        "statuses": {
            "open": _("Open"),
            "acknowledged": _("Acknowledged"),
            "in_progress": _("In progress"),
            "resolved": _("Resolved"),
            "closed": _("Closed"),
        },
        "incident_categories": {
            "complaint": _("Complaint"),
            "emergency": _("Emergency"),
            "suspicious_visitor": _("Suspicious visitor"),
            "watch_list": _("Watch list"),
            "security": _("Security"),
            "dispute": _("Dispute between neighbours"),
            "equipment": _("Equipment and facilities"),
            "other": _("Other"),
        },
        "channels": {
            "in_person": _("In person"),
            "phone": _("Phone"),
            "letter": _("Letter"),
            "intercom": _("Intercom"),
            "patrol": _("Patrol"),
            "other": _("Other"),
        },
        "entry_kinds": {
            "note": _("Note"),
            "action": _("Action taken"),
            "escalation": _("Escalated"),
            "follow_up": _("Follow-up visit"),
            "summary": _("Summary"),
            "police_called": _("Police called"),
        },
        "door_kinds": {
            "guard_override": _("Opened by the guard"),
            "forced": _("Door forced"),
            "held_open": _("Door held open"),
            "pin": _("Opened with PIN"),
            "intercom_release": _("Opened by intercom"),
            "closed": _("Closed"),
        },
    }


def line_text(_: Any, labels: dict[str, Any], line: dict[str, Any]) -> str:
    """A logbook line in the page's language (the API's `summary` is English); what people
    typed (titles, notes, reasons) stays as they typed it. A line this version cannot word
    (an event from a newer post) keeps its summary."""
    try:
        return _worded_line(_, labels, line)
    except (KeyError, TypeError):
        return str(line["summary"])


def _worded_line(_: Any, labels: dict[str, Any], line: dict[str, Any]) -> str:
    kind, pii = line["type"], line.get("pii") or {}
    data = with_text(kind, line["data"], pii, removed(_))  # free text, wherever it travels

    def word(family: str, field: str) -> Any:  # a code in `data[field]`, as the page says it
        return labels[family].get(data[field], data[field])

    name = pii.get("visitor_name") or _("(name removed)")
    if kind == "visit.registered":
        text = _("Visitor %(name)s registered for %(unit)s (%(category)s, party of %(n)s)") % {
            "name": name,
            "unit": data["unit"],
            "n": data["party_size"],
            "category": word("categories", "category"),
        }
        if data.get("preapproval_id"):
            text += " · " + _("Pre-approved by the resident")
        if data.get("flag") == "watch_list":
            text += " · " + _("Watch list")
        return str(text)
    if kind == "visit.confirmation":
        status = data["confirmation"]["status"]
        text = _("Resident confirmation: %(status)s") % {
            "status": labels["confirmations"].get(status, status)
        }
        return str(text + (f" ({data['reason']})" if data.get("reason") else ""))
    if kind == "visit.checked_out":
        return str(_("Visitor checked out"))
    if kind == "visit.checkout_undone":
        return str(_("Check-out undone: the visitor is on site again"))
    if kind == "door.event":
        text = _("Door %(door)s: %(kind)s") % {
            "door": data["door"],
            "kind": word("door_kinds", "kind"),
        }
        return str(text + (f" ({data['reason']})" if data.get("reason") else ""))
    if kind == "incident.opened":
        return str(
            _("Incident opened [%(severity)s] %(category)s: %(title)s")
            % {
                "severity": word("severities", "severity"),
                "category": word("incident_categories", "category"),
                "title": coded_title(_, {**data, **pii}) or incident_title(_, labels, data),
            }
        )
    if kind == "incident.entry":
        notified = notification(data)
        said = data["text"] if notified is None else notified_text(_, notified)
        text = _("Incident %(kind)s: %(text)s")
        return str(text % {"kind": word("entry_kinds", "kind"), "text": said})
    if kind == "incident.status":
        text = _("Incident status: %(before)s → %(after)s") % {
            "before": word("statuses", "previous"),
            "after": word("statuses", "status"),
        }
        return str(text + (f" ({data['reason']})" if data.get("reason") else ""))
    if kind == "incident.assigned":
        return str(_("Incident assigned to %(name)s") % {"name": data["assignee"]})
    if kind == "incident.severity":
        text = _("Incident re-graded: %(before)s → %(after)s") % {
            "before": word("severities", "previous"),
            "after": word("severities", "severity"),
        }
        return str(text + f" ({data['reason']})")
    if kind == "command.rejected":
        return str(_("The hub's request was refused: %(reason)s") % {"reason": data["reason"]})
    if kind == "shift.note":
        return str(_("Shift note: %(text)s") % {"text": data["text"]})
    if kind == "shift.acknowledged":
        return str(_("Shift handover acknowledged"))
    if kind == "pii.purged":
        return str(
            _("Personal data of %(n)s visits removed after retention") % {"n": data["visits"]}
        )
    if kind == "preapproval.created":
        return str(_("Resident pre-approved a visitor for %(unit)s") % {"unit": data["unit"]})
    if kind == "directory.applied":
        return str(
            _("Directory version %(version)s from the hub in force (%(n)s units)")
            % {"version": data["version"], "n": data["units"]}
        )
    if kind == "roster.applied":
        return str(
            _("Roster version %(version)s from the hub in force (%(n)s guards, %(off)s disabled)")
            % {"version": data["version"], "n": data["guards"], "off": data["disabled"]}
        )
    if kind == "settings.applied":
        return str(
            _("Settings version %(version)s from the hub in force") % {"version": data["version"]}
        )
    if kind == "patrols.applied":
        return str(
            _("Patrol rounds version %(version)s from the hub in force (%(n)s checkpoints)")
            % {"version": data["version"], "n": data["checkpoints"]}
        )
    if kind == "patrol.scan":
        late = data.get("round") and not data["on_time"]
        return str(_("Patrol checkpoint scanned, late") if late else _("Patrol checkpoint scanned"))
    if kind == "patrol.missed":
        n = len(data["missing"])
        return str(_("Patrol round missed: %(n)s checkpoints not scanned") % {"n": n})
    if kind == "photo.attached":
        return str(_("Photo attached to an incident"))
    if kind == "photo.purged":
        return str(_("Photos deleted after retention: %(n)s") % {"n": len(data["photos"])})
    if kind == "watchlist.applied":
        return str(
            _("Watch list version %(version)s in force (%(n)s entries)")
            % {"version": data["version"], "n": data["entries"]}
        )
    return str(line["summary"])


GENERATED_DOOR_TITLE = re.compile(r"^Door (?P<door>.+): (?P<kind>forced|held_open)$")
GENERATED_DOOR_DETAILS = re.compile(r"^door event \S+ at \S+(, open for (?P<seconds>\d+) s)?$")
GENERATED_PATROL_TITLE = re.compile(r"^Patrol (?P<round>.+): missed$")
GENERATED_PATROL_DETAILS = re.compile(r"^patrol round \S+ due at \S+: not scanned: (?P<names>.*)$")


def incident_description(_: Any, incident: Mapping[str, Any]) -> str | None:
    """An incident's details as the page shows them: a guard's as typed; the ones the post
    wrote for a door event's incident worded in the page's language."""
    text = incident.get("description")
    missed = GENERATED_PATROL_DETAILS.match(str(text or ""))
    if missed and incident.get("category") == "security":
        return str(_("Checkpoints not scanned in time: %(names)s") % {"names": missed["names"]})
    made = GENERATED_DOOR_DETAILS.match(str(text or ""))
    if not made or incident.get("category") != "security":
        return None if text is None else str(text)
    if made["seconds"]:
        return str(
            _("Opened by a door event; the door stayed open %(n)s s.") % {"n": made["seconds"]}
        )
    return str(_("Opened by a door event."))


def incident_title(_: Any, labels: dict[str, Any], incident: Mapping[str, Any]) -> str:
    """An incident's title as the page shows it: what a guard typed as typed; one the post
    made itself from a door event (`Door car park: held_open`) worded in the page's language
    from its codes."""
    title = str(incident.get("title") or "")
    if not title:
        return removed(_)
    missed = GENERATED_PATROL_TITLE.match(title)
    if missed and incident.get("category") == "security":
        return str(_("Patrol round %(round)s missed") % {"round": missed["round"]})
    made = GENERATED_DOOR_TITLE.match(title)
    if made and incident.get("category") == "security":
        kind = labels["door_kinds"].get(made["kind"], made["kind"])
        return str(_("%(kind)s: %(door)s") % {"door": made["door"], "kind": kind})
    return title


def who_closes(_: Any, severity: str) -> str:
    """Who may close an incident of this grade (`schemas.grading`), in the page's language."""
    words = {
        "minor": _("A supervisor closes this incident, here or at the hub."),
        "medium": _("A medium incident is closed by a supervisor or manager at the hub."),
        "severe": _("A severe incident is closed by a manager at the hub."),
    }
    return str(words.get(severity, words["minor"]))


def incident_timeline(
    _: Any, labels: dict[str, Any], incident: dict[str, Any]
) -> list[dict[str, Any]]:
    """An incident's entries and the changes of its status, assignee and grade (and the hub's
    commands its post refused), oldest first, each with who made it, in the page's language:
    one timeline at the post and at the hub."""
    lines = [
        {
            "at": entry["at"],
            "id": entry["id"],
            "what": labels["entry_kinds"].get(entry["kind"], entry["kind"]),
            "text": _entry_text(_, entry),
            "who": _author(_, entry["author"]),
        }
        for entry in incident.get("entries") or []
    ]
    for change in incident.get("history") or []:
        kind, value, before = change["change"], change["value"], change["previous"]
        words: dict[str, str] = {}
        if kind == "status":
            words, what, text = labels["statuses"], _("Status"), _("%(before)s → %(after)s")
        elif kind == "severity":
            words, what, text = labels["severities"], _("Severity"), _("%(before)s → %(after)s")
        elif kind == "assignee":
            what, text = _("Assigned"), _("Assigned to %(after)s")
        else:
            what, text = _("Refused"), _("The hub's request was refused")
        shown = str(text) % {"before": words.get(before, before), "after": words.get(value, value)}
        if change["reason"]:
            shown += f" ({change['reason']})"
        lines.append(
            {"at": change["at"], "what": what, "text": shown, "who": _author(_, change["author"])}
        )
    return sorted(lines, key=lambda line: str(line["at"]))


def notified_text(_: Any, notified: dict[str, str]) -> str:
    """A notification the hub's escalation sent, worded from its codes (never the address):
    "Supervisor notified by e-mail · Overdue"."""
    channel, event = notified["channel"], notified["event"]
    if channel == "email":
        text = _("Supervisor notified by e-mail")
    elif channel:
        text = _("Supervisor notified (%(channel)s)") % {"channel": channel}
    else:
        text = _("Supervisor notified")
    events = {"opened": _("Incident opened"), "overdue": _("Overdue"), "panic": _("Help called")}
    return str(text) + (f" · {events[event]}" if event in events else "")


def _entry_text(_: Any, entry: dict[str, Any]) -> str:
    """An entry's text as a timeline shows it: a notification of the hub's in words."""
    notified = notification({**entry, "by": entry["author"]})
    if notified is None:
        return str(entry["text"] or removed(_))
    return notified_text(_, notified)


def removed(_: Any) -> str:
    """What a page shows for a person's words a purge took (a title, an entry, a note)."""
    return str(_("(removed after retention)"))


def _author(_: Any, ref: str) -> str:
    """`guard:9001` as the badge, `hub:sup` as the user at the hub."""
    kind, _sep, ident = ref.partition(":")
    if ref == NOTIFIER:
        return str(_("The hub's escalation"))
    return str(_("%(name)s at the hub") % {"name": ident}) if kind == "hub" else ident


PREAPPROVAL_PROBLEMS: dict[str, Any] = {  # the logbook's reasons, in the page's language
    "unknown code": lambda _: _("There is no such code."),
    "the code is for another unit": lambda _: _("This code is for another unit."),
    "the code was already used": lambda _: _("This code was already used."),
    "the code has expired": lambda _: _("This code has expired."),
    "the code is not valid yet": lambda _: _("This code is not valid yet."),
}


def field_message(_: Any, error: dict[str, Any]) -> str:
    """A validation error in plain words, in the page's language."""
    kind = error.get("type", "")
    if kind in ("missing", "string_too_short", "blank"):
        return str(_("Please fill this in."))
    if kind == "string_too_long":
        return str(_("This is too long."))
    if kind in ("enum", "literal_error"):
        return str(_("Please choose one of the options."))
    if kind.startswith("int") or kind.startswith("greater") or kind.startswith("less"):
        return str(_("Please enter a number from 1 to 50."))
    if kind == "unknown_unit":
        return str(_("There is no such unit."))
    if kind == "preapproval_refused":
        problem = PREAPPROVAL_PROBLEMS.get(error.get("msg", ""))
        return str(problem(_)) if problem else str(_("Please check this."))
    return str(_("Please check this."))


def asked_day(_: Any, text: str | None, default: date) -> tuple[date, str | None]:
    """The date a page was asked for (`?date=`, empty: `default`), or `default` and the
    message to show next to the date field when it is not a date from 2000-01-01 to
    2100-12-31."""
    first, last = FIRST_DAY.isoformat(), LAST_DAY.isoformat()
    problem = _("Enter a date from %(first)s to %(last)s.") % {"first": first, "last": last}
    return _asked(parse_day, text, default, str(problem))


def asked_month(_: Any, text: str | None, default: date) -> tuple[date, str | None]:
    """As `asked_day`, for `?month=YYYY-MM` (the first day of the month)."""
    first, last = f"{FIRST_DAY:%Y-%m}", f"{LAST_DAY:%Y-%m}"
    problem = _("Enter a month from %(first)s to %(last)s.") % {"first": first, "last": last}
    return _asked(parse_month, text, default, str(problem))


def _asked(
    parse: Callable[[str], date], text: str | None, default: date, problem: str
) -> tuple[date, str | None]:
    if not text:
        return default, None
    try:
        return parse(text), None
    except ValueError:
        return default, problem


def day_field(_: Any, text: str | None, default: date) -> tuple[date, dict[str, Any]]:
    """The day of a page with a date field (`asked_day`), and what the page shows for it: the
    `day`, the field's `typed_date` (what was typed, when it is not a date), its
    `date_error`, and the answer's `status_code` (422 for a date that is not one)."""
    day, error = asked_day(_, text, default)
    return day, {
        "status_code": 422 if error else 200,
        "day": day.isoformat(),
        "typed_date": text if error else day.isoformat(),
        "date_error": error,
    }
