"""The state of a site's patrol runs as the hub sees them, for its page and its reports: each
run of each round (under the schedule it had then) on the site's local days, with its
checkpoints' first scans from any post of the site and its state (`schemas.patrols.run_state`,
the rule the posts use). A post opens the incident of a missed run; here the same rule only
shows it."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from schemas.ids import format_time, utc_now
from schemas.patrols import occurrences, run_state

from .store import Store

STATES = ("done", "late", "missed", "open")


def site_zone(store: Store, site: str) -> ZoneInfo:
    """The site's time zone from its record, else the hub's."""
    record = store.get_site(site) or {}
    zone = record.get("timezone")
    return ZoneInfo(zone) if isinstance(zone, str) else store.zone


def site_today(store: Store, site: str) -> date:
    """The site's local date now."""
    return utc_now().astimezone(site_zone(store, site)).date()


def runs(store: Store, site: str, first: date, days: int = 1) -> list[dict[str, Any]]:
    """Every run that starts on the site's local dates [first, first + days), in time order,
    each with its round's name, window, checkpoints (name and first scan) and state. A
    round's first schedule also has the run going on when it was defined (the posts count
    scans for it); a later schedule only the runs that start while it is in force."""
    zone, now = site_zone(store, site), utc_now()
    start = datetime(first.year, first.month, first.day, tzinfo=zone)
    end = start + timedelta(days=days)
    names = store.checkpoint_names(site)
    # a scan counts for a run until the next run starts: at most a day after the period
    scans = _by_round(store.patrol_scans(site, format_time(start), format_time(end + timedelta(1))))
    found = []
    for schedule in store.round_schedules(site, format_time(start), format_time(end)):
        every = timedelta(minutes=schedule["every_minutes"])
        window = timedelta(minutes=schedule["window_minutes"])
        ids = schedule["checkpoints"]
        for n in range(days):
            day_start = start + timedelta(days=n)
            for run_start in occurrences(
                schedule["every_minutes"], schedule["from_time"], schedule["to_time"], day_start
            ):
                due = run_start + window
                starts_at, due_at = format_time(run_start), format_time(due)
                if not _in_force(schedule, starts_at, due_at):
                    continue
                until_at = format_time(run_start + every)
                scanned = _first_scans(scans[schedule["round_id"]], starts_at, until_at)
                found.append(
                    {
                        "round": schedule["round_id"],
                        "name": schedule["name"],
                        "starts_at": starts_at,
                        "due_at": due_at,
                        "checkpoints": [
                            {"id": i, "name": names.get(i, i), "scanned_at": scanned.get(i)}
                            for i in ids
                        ],
                        "state": run_state(ids, scanned, due, now),
                    }
                )
    return sorted(found, key=lambda run: (run["starts_at"], run["name"]))


def figures(store: Store, site: str, first: date, days: int) -> dict[str, Any]:
    """What the reports count of the runs whose window has closed: runs by state, and per
    checkpoint how often it was scanned in the window, scanned late, or not scanned."""
    closed = [run for run in runs(store, site, first, days) if run["state"] != "open"]
    by_state = {state: sum(1 for run in closed if run["state"] == state) for state in STATES}
    points: dict[str, dict[str, Any]] = {}
    for run in closed:
        for checkpoint in run["checkpoints"]:
            counts = points.setdefault(
                checkpoint["id"],
                {"site": site, "name": checkpoint["name"], "on_time": 0, "late": 0, "missed": 0},
            )
            at = checkpoint["scanned_at"]
            counts["missed" if at is None else "on_time" if at < run["due_at"] else "late"] += 1
    return {
        "runs": len(closed),
        **{state: by_state[state] for state in ("done", "late", "missed")},
        "checkpoints": sorted(points.values(), key=lambda c: str(c["name"])),
    }


def report_figures(store: Store, sites: list[str], first: date, days: int) -> dict[str, Any]:
    """`figures` of several sites added up, for a report: the runs by state, and every
    checkpoint's counts with its site (sites without rounds add nothing, and are not asked)."""
    start = datetime(first.year, first.month, first.day, tzinfo=UTC) - timedelta(days=1)
    patrolled = store.sites_with_rounds(
        format_time(start), format_time(start + timedelta(days=days + 2))
    )  # a day more each side: the sites' own zones
    found = [figures(store, site, first, days) for site in sites if site in patrolled]
    return {
        **{key: sum(f[key] for f in found) for key in ("runs", "done", "late", "missed")},
        "checkpoints": [c for f in found for c in f["checkpoints"]],
    }


def _in_force(schedule: dict[str, Any], starts_at: str, due_at: str) -> bool:
    if schedule["valid_until"] is not None and starts_at >= schedule["valid_until"]:
        return False
    since = schedule["valid_from"]
    return starts_at >= since or (bool(schedule["is_first"]) and due_at > since)


def _by_round(scans: list[dict[str, Any]]) -> defaultdict[str, list[tuple[str, str]]]:
    """{round id: [(scanned_at, checkpoint id), ...] in time order}."""
    grouped: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    for scan in scans:
        grouped[scan["round_id"]].append((scan["scanned_at"], scan["checkpoint_id"]))
    return grouped


def _first_scans(scans: list[tuple[str, str]], starts_at: str, until_at: str) -> dict[str, str]:
    """{checkpoint id: its first scan in [starts_at, until_at)} of one round's scans."""
    first: dict[str, str] = {}
    for n in range(bisect_left(scans, (starts_at, "")), len(scans)):  # no copy of the list
        at, checkpoint = scans[n]
        if at >= until_at:
            break
        first.setdefault(checkpoint, at)
    return first
