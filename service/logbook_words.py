"""Logbook lines as a page shows them, at the post and the hub alike: each line worded in the
page's language, with its subject (the visitor's name and unit, the incident's title) and who
made it (the guard's name, the key, the hub user). The post's logbook and the hub's store look
the subjects up in their projection tables (`schemas.lines.wanted` says which); the stored
events are never changed."""

from __future__ import annotations

from typing import Any, TypedDict

from schemas.lines import NOTIFIER, subject_ids

from .pages_text import line_text


class Names(TypedDict):
    """What a page's lines name, looked up in the projection tables."""

    visits: dict[str, dict[str, Any]]  # id -> {"visitor_name", "unit"} (name None if purged)
    incidents: dict[str, str]  # id -> title
    people: dict[str, str]  # "guard:BADGE" or "key:ID" -> name


def no_names() -> Names:
    return {"visits": {}, "incidents": {}, "people": {}}


def worded_lines(
    _: Any, labels: dict[str, Any], lines: list[dict[str, Any]], names: Names
) -> list[dict[str, Any]]:
    """Lines (with `data`) in the page's language, each with its `subject` (or None) and
    `who` made it."""
    return [
        {
            **line,
            "summary": line_text(_, labels, line),
            "subject": subject(_, line, names),
            "who": who(_, str(line["data"].get("by", "")), names),
        }
        for line in lines
    ]


def subject(_: Any, line: dict[str, Any], names: Names) -> str | None:
    """What the line is about: "李小明 · 12A" (the unit alone once the name is purged), or the
    incident's title."""
    visit_id, incident_id = subject_ids(line)
    if visit_id and visit_id in names["visits"]:
        visit = names["visits"][visit_id]
        unit = str(_("Unit %(unit)s") % {"unit": visit["unit"]})
        return f"{visit['visitor_name']} · {unit}" if visit["visitor_name"] else unit
    if incident_id and incident_id in names["incidents"]:
        return names["incidents"][incident_id] or None  # empty: a purge took the title
    return None


def who(_: Any, ref: str, names: Names) -> str:
    """Who made a change, from the event's `by`: the guard's name (the badge if unknown), the
    key's name, the hub user, the hub's escalation, or the post itself."""
    kind, _sep, ident = ref.partition(":")
    if ref in names["people"]:
        return names["people"][ref]
    if ref == NOTIFIER:
        return str(_("The hub's escalation"))
    if kind == "hub":
        return str(_("%(name)s at the hub") % {"name": ident})
    if kind == "system":
        return str(_("The post"))
    if kind == "key":
        return str(_("API key"))
    return str(_("Badge %(badge)s") % {"badge": ident}) if kind == "guard" else ident
