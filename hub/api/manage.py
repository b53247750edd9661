"""What managers keep: the audit log, the watch list and the notification rules."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from schemas import models as m
from service import errors

from ..actions import (
    RuleIn,
    check_rules_access,
    notify_rule,
    read_watchlist,
    unwatch,
    watch_for,
)
from .deps import CurrentUser, StoreDep

router = APIRouter()


class AuditLine(BaseModel):
    at: str
    username: str
    action: str
    target: str


class AuditLog(BaseModel):
    entries: list[AuditLine]


@router.get("/audit", tags=["audit"], responses={403: {}})
def audit_log(user: CurrentUser, store: StoreDep) -> AuditLog:
    """Manager only: who viewed or exported personal data at the hub, newest first."""
    if user.role != "manager":
        raise errors.Forbidden("only a manager may read the audit log")
    return AuditLog(entries=[AuditLine.model_validate(e) for e in store.audit_log()])


# ---- sites and their settings (CONTRACT section 8) --------------------------------------------


@router.get("/watchlist", tags=["watch list"], responses={403: {}})
def get_watchlist(user: CurrentUser, store: StoreDep) -> m.Watchlist:
    """Manager only: the company's watch list as the posts receive it (ID numbers only as
    HMAC and mask); each read is in the audit log."""
    return m.Watchlist.model_validate(read_watchlist(store, user))


@router.post("/watchlist", status_code=201, tags=["watch list"], responses={403: {}, 422: {}})
def add_watch_entry(
    body: m.WatchlistEntryIn, request: Request, user: CurrentUser, store: StoreDep
) -> m.WatchlistEntry:
    """Manager only: watch for a person by ID number and/or name. The number is reduced to
    the company's keyed HMAC and a mask here and never stored; every post gets the new list on
    its site's `down` topic and matches registrations against it, offline too."""
    return m.WatchlistEntry.model_validate(watch_for(request, store, user, body))


@router.delete(
    "/watchlist/{entry_id}", status_code=204, tags=["watch list"], responses={403: {}, 404: {}}
)
def remove_watch_entry(entry_id: str, request: Request, user: CurrentUser, store: StoreDep) -> None:
    """Manager only: stop watching for someone; the posts get the shorter list."""
    unwatch(request, store, user, entry_id)


# ---- escalation rules -------------------------------------------------------------------------


class RuleOut(BaseModel):
    id: str
    severity: str
    site: str | None
    events: list[str]
    url: str
    created_at: str
    by: str


class RuleList(BaseModel):
    rules: list[RuleOut]


@router.get("/notify-rules", tags=["escalation"])
def list_rules(user: CurrentUser, store: StoreDep) -> RuleList:
    """Who is told when an incident of a severity opens or passes its deadline unresolved
    (URLs with their secrets masked)."""
    check_rules_access(user)
    return RuleList(rules=[RuleOut.model_validate(r) for r in store.rules()])


@router.post("/notify-rules", status_code=201, tags=["escalation"], responses={403: {}, 422: {}})
def add_rule(body: RuleIn, user: CurrentUser, store: StoreDep) -> RuleOut:
    """Manager only: notify an Apprise URL (`mailto://`, `tgram://`, ...; see Apprise's list)
    when an incident of `severity` (at `site`, or any) opens and/or becomes overdue. Each
    incident is notified once per rule and event, and each notification is an `escalation`
    entry on the incident's timeline."""
    return RuleOut.model_validate(notify_rule(store, user, body))


@router.delete(
    "/notify-rules/{rule_id}", status_code=204, tags=["escalation"], responses={403: {}, 404: {}}
)
def remove_rule(rule_id: str, user: CurrentUser, store: StoreDep) -> None:
    check_rules_access(user)
    if not store.remove_rule(rule_id):
        raise errors.NotFound(f"no rule {rule_id}", loc=("path", "rule_id"))
