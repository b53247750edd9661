"""The manuals' grading of incidents (CONTRACT section 8): who may close an incident of each
grade. A minor one a post supervisor or anyone at the hub who acts on incidents; a medium one a
hub supervisor or manager; a severe one a hub manager only. The post and the hub both ask here,
so the tablet, the post's API, the hub's API and the post applying a hub command agree."""

from __future__ import annotations

from typing import Literal

# who a person is, for this rule: where they work and their role there
Closer = Literal["post_supervisor", "hub_supervisor", "hub_manager"]

CLOSERS: dict[str, frozenset[str]] = {
    "minor": frozenset({"post_supervisor", "hub_supervisor", "hub_manager"}),
    "medium": frozenset({"hub_supervisor", "hub_manager"}),
    "severe": frozenset({"hub_manager"}),
}

# what a refusal says, in English (pages word it in their own language)
WHO_CLOSES = {
    "minor": "a supervisor at the post or at the hub",
    "medium": "a supervisor or manager at the hub",
    "severe": "a manager at the hub",
}


# the lifecycle (CONTRACT section 2): one step at a time
INCIDENT_FLOW = ["open", "acknowledged", "in_progress", "resolved", "closed"]


def next_status(current: str) -> str | None:
    """The one status an incident may move to from `current` (None once closed)."""
    position = INCIDENT_FLOW.index(current)
    return INCIDENT_FLOW[position + 1] if position + 1 < len(INCIDENT_FLOW) else None


def closer(kind: str, role: str) -> str:
    """`post_guard`, `post_supervisor`, `hub_supervisor`, `hub_manager`, `hub_auditor`, ...
    for an actor of `kind` ("guard" at a post, "hub" for a hub user) with `role`."""
    return f"{'hub' if kind == 'hub' else 'post'}_{role}"


def may_close(severity: str, kind: str, role: str) -> bool:
    """May this actor close an incident of this grade?"""
    return closer(kind, role) in CLOSERS.get(severity, frozenset())


def refusal(severity: str) -> str:
    """Why someone else may not close it: who may."""
    return f"a {severity} incident is closed by {WHO_CLOSES.get(severity, 'a supervisor')}"
