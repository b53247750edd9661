"""What the overview warns a supervisor of, per post: a disk filling up, a version older than the
hub's, a clock off by more than a minute, a post silent for longer than its usual gap. Each
warning is a code with its numbers; the page words it (`hub/templates/overview.html`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.ids import parse_time
from service import __version__

LOW_DISK_MB = 500  # a post refuses new records at its reserve (200 MB by default): warn well before
CLOCK_OFF_S = 60.0
# a post reports its status at least every 30 s (edge/sync.py, STATUS_EVERY_S): ten missed
# heartbeats is longer than any usual gap, and short enough to send someone the same hour
SILENT_AFTER_S = 300.0


def version_key(version: str) -> tuple[int, ...] | None:
    """`0.10.2` as (0, 10, 2), to compare; None for what is not dotted numbers."""
    parts = version.split("+")[0].split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else None


def device_warnings(
    device: dict[str, Any], now: datetime, hub_version: str = __version__
) -> list[dict[str, Any]]:
    """The warnings for one post of `Store.list_devices`, most urgent first."""
    warnings: list[dict[str, Any]] = []
    free = device.get("disk_free_mb")
    if free is not None and free < LOW_DISK_MB:
        warnings.append({"kind": "low_disk", "free_mb": free})
    if device.get("last_seen"):
        silent_s = (now - parse_time(device["last_seen"])).total_seconds()
        if silent_s > SILENT_AFTER_S:
            warnings.append({"kind": "silent", "minutes": int(silent_s // 60)})
    offset = device.get("clock_offset_s")
    if offset is not None and abs(offset) > CLOCK_OFF_S:
        warnings.append({"kind": "clock", "offset_s": round(offset)})
    theirs, ours = version_key(device.get("version") or ""), version_key(hub_version)
    if theirs is not None and ours is not None and theirs < ours:
        warnings.append({"kind": "old_version", "version": device["version"]})
    return warnings
