"""Escalation by grade (the manuals: minor handled by the assistant, medium by the supervisor,
severe by the manager at once, each within its deadline). Managers set rules: an Apprise URL
(e-mail, Telegram, and the rest of what Apprise supports) to notify when an incident of a
severity, at a site or any, opens and/or passes its deadline unresolved; a guard's panic goes
to every rule of its severity and site at once, woken by ingest. One thread looks for
what is due every few seconds, sends it, and records it once per incident, rule and event,
as an `escalation` entry on the incident's timeline that also goes down to the post. A send
that fails is tried again at the next look, so nothing is lost and nothing is sent twice
(unless the hub dies between sending and recording: then once more, never less). Several hub
processes on one database each look: a process claims a notification in the database before
it sends it (`Rules.claim_notification`), so only one of them sends it."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from schemas.ids import format_time, new_id, utc_now
from service.incident_words import coded_title

from .store import Store
from .store.outbox import new_hub_entry

log = logging.getLogger(__name__)
AUTHOR = "hub:escalation"
CLAIM_S = 300.0  # a claim this old belongs to a process that died before it recorded the send


def shown_url(url: str) -> str | None:
    """The URL as people may see it (passwords and tokens masked), or None if Apprise does
    not know it."""
    import apprise  # here, not at the top: a hub that never notifies never pays its import

    try:
        plugin = apprise.Apprise.instantiate(url)
    except Exception:
        return None
    if not plugin:
        return None
    return apprise.Apprise(plugin).urls(privacy=True)[0]  # the typed way to `plugin.url()`


def _notify(url: str, title: str, body: str) -> bool:
    """Send one notification; False if it did not go."""
    import apprise  # (see `shown_url`)

    notifier = apprise.Apprise()
    return bool(notifier.add(url)) and bool(notifier.notify(title=title, body=body))


def message(due: dict[str, Any], link: str | None) -> tuple[str, str]:
    """Title and body of a notification: what, where, how urgent; no personal data."""
    what = {"overdue": "incident overdue", "panic": "PANIC, help called"}.get(
        due["kind"], "incident opened"
    )
    named = coded_title(str, {"title": due["title"], "title_code": due.get("title_code")})
    named = named or due["title"]
    title = f"[{due['severity']}] {due['site']}: {what}: {named}"
    body = (
        f"Site {due['site']} (post {due['device']}), severity {due['severity']}, "
        f"status {due['status']}.\nOpened {due['opened_at']}, due {due['due_at']}."
    )
    if link:
        body += f"\n{link}/incidents/{due['incident_id']}"
    return title, body


class Escalation:
    def __init__(
        self, store: Store, check_s: float, public_url: str | None, on_entry: Any = None
    ) -> None:
        self.store = store
        self.check_s = check_s
        self.public_url = public_url
        self.on_entry = on_entry  # called with (site, device) so the entry goes down at once
        self.owner = new_id()  # this process, in its claims
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="escalation", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def wake(self) -> None:
        """Look now, not at the next round: a guard's panic has just arrived."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.check_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.run_once()
            except Exception:  # a failed round is tried again at the next; never ends the loop
                log.exception("escalation round failed")

    def run_once(self) -> int:
        """Send what is due now; how many went out."""
        sent = 0
        stale_before = format_time(utc_now() - timedelta(seconds=CLAIM_S))
        for due in self.store.due_notifications():
            if not self.store.claim_notification(due, self.owner, stale_before):
                continue  # another hub process sends it
            if not _notify(due["url"], *message(due, self.public_url)):
                self.store.release_notification(due, self.owner)
                log.warning(
                    "notification failed; trying again later",
                    extra={"incident": due["incident_id"], "rule": due["rule_id"]},
                )
                continue
            incident = {"id": due["incident_id"], "site": due["site"], "device": due["device"]}
            text = f"Notified {due['shown_url']}: incident {due['kind']} ({due['severity']})"
            entry, payload = new_hub_entry(incident, "escalation", text, AUTHOR)
            self.store.record_notification(due, entry, payload)
            sent += 1
            log.info(
                "notified",
                extra={"incident": due["incident_id"], "rule": due["rule_id"], "kind": due["kind"]},
            )
            if self.on_entry:
                self.on_entry(due["site"], due["device"])
        return sent
