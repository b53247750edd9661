"""What the pages of post and hub say about one incident beyond its fields: a title the post
made from a code (a watch-list or panic incident's), in the page's language, and a complaint's
steps from the manuals (received, handled, follow-up visit, summary) with the reply promised."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.ids import format_time, utc_now

COMPLAINT = "complaint"  # the category whose closing needs a follow-up visit and a summary
HANDLED_STATUSES = ("resolved", "closed")
PANIC = "panic"  # the title_code of a guard's panic button incident (edge/logbook/panic.py)
PANIC_PREFIX, LAST_CHECKPOINT = "Panic: ", ", last checkpoint "


def panic_title(guard: str, checkpoint: str | None) -> str:
    """The title a panic incident carries in the API and mails (`Panic: Chan Tai Man, last
    checkpoint Roof`); pages word it again from the guard and the checkpoint (its location)."""
    return PANIC_PREFIX + guard + (LAST_CHECKPOINT + checkpoint if checkpoint else "")


def coded_title(_: Any, incident: Mapping[str, Any]) -> str | None:
    """The title of an incident the post titled with a code, in the page's words
    (`監察名單：陳小明 (2A)`; without the name once it is purged); None for any other."""
    if incident.get("title_code") == PANIC:
        return _panic_words(_, incident)
    if incident.get("title_code") != "watch_list":
        return None
    unit, name = str(incident.get("title") or ""), incident.get("visitor_name")
    if name:
        return str(_("Watch list: %(name)s (%(unit)s)") % {"name": name, "unit": unit})
    return str(_("Watch list (%(unit)s)") % {"unit": unit})


def _panic_words(_: Any, incident: Mapping[str, Any]) -> str:
    """`陳大文 緊急求助；最後巡邏點：天台 Roof`: the guard and the checkpoint as `panic_title`
    put them in the title (a guard's name never holds ", last checkpoint ")."""
    title = str(incident.get("title") or "").removeprefix(PANIC_PREFIX)
    guard, _sep, checkpoint = title.partition(LAST_CHECKPOINT)
    if checkpoint:
        words = _("Help called by %(guard)s; last checkpoint: %(checkpoint)s")
        return str(words % {"guard": guard, "checkpoint": checkpoint})
    return str(_("Help called by %(guard)s") % {"guard": guard})


def complaint_context(_: Any, incident: Mapping[str, Any]) -> dict[str, Any]:
    """What an incident page shows of a complaint (or of an incident with a reply promised):
    its steps and whether the reply is late; nothing for other incidents."""
    if incident.get("category") != COMPLAINT and not incident.get("reply_by"):
        return {}
    return {
        "complaint_steps": complaint_steps(_, incident),
        "reply_overdue": is_reply_overdue(incident),
    }


def complaint_steps(_: Any, incident: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A complaint's steps in the manuals' order, each ticked from the incident's status and
    entries: received (it is in the logbook), handled (an action entry, or resolved),
    follow-up visit and summary (their entries, which closing needs)."""
    kinds = {entry["kind"] for entry in incident.get("entries") or []}
    handled = "action" in kinds or incident.get("status") in HANDLED_STATUSES
    return [
        {"step": "received", "label": _("Received the complaint"), "done": True},
        {"step": "handled", "label": _("Handled"), "done": handled},
        {"step": "follow_up", "label": _("Follow-up visit"), "done": "follow_up" in kinds},
        {"step": "summary", "label": _("Summary"), "done": "summary" in kinds},
    ]


def is_reply_overdue(incident: Mapping[str, Any]) -> bool:
    """The reply promised to the complainant is late: its time has passed, no follow-up visit
    is in the timeline, and the incident is not closed."""
    reply_by = incident.get("reply_by")
    if not reply_by or incident.get("status") == "closed":
        return False
    kinds = {entry["kind"] for entry in incident.get("entries") or []}
    return "follow_up" not in kinds and str(reply_by) < format_time(utc_now())
