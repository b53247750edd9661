"""Writes the JSON Schema of every record and event to `schemas/json/`:
`python -m schemas.export` (add `--check` to only report drift, exit 1 if any)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from . import models as m

# the records an integrator reads, by file name; events' `data` come from `m.EVENT_DATA`
RECORDS: dict[str, type[BaseModel]] = {
    "event": m.Event,
    "visit": m.Visit,
    "visit_pii": m.VisitPii,
    "incident_pii": m.IncidentPii,
    "text_pii": m.TextPii,
    "confirmation": m.Confirmation,
    "door_event": m.DoorEvent,
    "incident": m.Incident,
    "incident_entry": m.IncidentEntry,
    "shift_note": m.ShiftNote,
    "logbook_entry": m.LogbookEntry,
    "sync_state": m.SyncState,
    "preapproval": m.Preapproval,
    "watchlist": m.Watchlist,
    "post_settings": m.PostSettings,
    "site": m.Site,
}

OUT = Path(__file__).resolve().parent / "json"


def rendered() -> dict[str, str]:
    """File name -> the JSON text it should hold."""
    files: dict[str, str] = {}
    for name, model in RECORDS.items():
        files[f"{name}.schema.json"] = _dump(model.model_json_schema())
    for event_type, model in m.EVENT_DATA.items():
        schema = model.model_json_schema()
        schema["description"] = f"`data` of a `{event_type}` event. " + schema.get(
            "description", ""
        )
        files[f"event.{event_type}.data.schema.json"] = _dump(schema)
    return files


def _dump(schema: dict[str, object]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def drift(out: Path = OUT) -> list[str]:
    """Files that are missing, stale or unexpected in `out`."""
    want = rendered()
    have = {p.name for p in out.glob("*.json")}
    stale = [
        n
        for n, text in want.items()
        if not (out / n).exists() or (out / n).read_text(encoding="utf-8") != text
    ]
    return sorted(stale + sorted(have - set(want)))


def main() -> None:
    if "--check" in sys.argv:
        stale = drift()
        for name in stale:
            print(f"out of date: schemas/json/{name}")
        sys.exit(1 if stale else 0)
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    for name, text in rendered().items():
        (OUT / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(rendered())} schemas to {OUT}")


if __name__ == "__main__":
    main()
