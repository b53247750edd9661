"""Who makes a change in the logbook: a guard, an API key, the post itself or the hub."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Actor:
    """Who made a change: a guard (badge) or an API key (name)."""

    kind: str  # "guard" | "key" | "system" | "hub"
    id: str
    name: str = ""
    role: str = ""
    scope: str = ""

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def badge(self) -> str | None:
        return self.id if self.kind == "guard" else None


SYSTEM = Actor("system", "edge")
