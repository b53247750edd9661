"""Free text a person typed (an incident's title and location, an entry, a shift note, a reason
given): personal data, so new events carry it in `pii` (CONTRACT 4) and a purge takes it; older
events kept it in `data`. Projections, logbook lines and the hub's search read it from either
through this module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# the free-text fields an event's `pii` may carry beside `data`'s codes
TEXT_FIELDS = ("title", "location", "text", "reason")
# the fields a line cannot do without: worded as removed once the purge took them
REQUIRED_TEXT = {
    "incident.opened": ("title",),
    "incident.entry": ("text",),
    "shift.note": ("text",),
    "command.rejected": ("reason",),
}
REMOVED = "(removed after retention)"


def said(data: Mapping[str, Any], pii: Mapping[str, Any] | None, field: str) -> Any:
    """What a person typed in `field`: from `pii` (new events), else from `data` (older ones);
    None when there is none or a purge took it."""
    return (pii or {}).get(field) or data.get(field)


def with_text(
    event_type: str, data: Mapping[str, Any], pii: Mapping[str, Any] | None, removed: str
) -> dict[str, Any]:
    """`data` with the event's free text in it, wherever it travels; a required field a purge
    took reads `removed`."""
    merged = {**data, **{f: v for f in TEXT_FIELDS if (v := (pii or {}).get(f)) is not None}}
    for field in REQUIRED_TEXT.get(event_type, ()):
        if not merged.get(field):
            merged[field] = removed
    return merged


def without_text(data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` without the free text older events kept in it: what the hub's search may keep of
    a purged event (the hash still covers the stored original)."""
    return {k: v for k, v in data.items() if k not in (*TEXT_FIELDS, "description")}
