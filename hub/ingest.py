"""The hub's MQTT, over the one paho wrapper (`service.mqtt`).

Receives every post's event batches and status, ingests the batches in groups (one transaction
for all batches waiting), acks each device only after the commit, and sends hub-to-edge messages
on each site's `down` topic until the edge's own event shows they were applied.

Every message from a post is untrusted input (`schemas.messages` reads it with limits): a bad
one is refused and its device flagged, and nothing a message holds can raise out of a paho
callback or stop the ingest worker. If a worker thread stops anyway, `dead_threads` names it:
`/healthz` answers 503 and `serve` exits so that the service manager restarts the hub.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from schemas.ids import format_time, utc_now
from schemas.messages import UnreadableMessage, read_batch, read_status
from schemas.topics import PREFIX, ack_topic, down_topic
from service.incident_words import PANIC
from service.mqtt import MqttClient
from service.workers import run_every, take_group

from .store import Store, is_database_failure

log = logging.getLogger(__name__)
MAX_GROUP_MESSAGES = 200  # batches per ingest transaction


class Ingest:
    """One hub ingest worker. Stateless apart from the database, so several can share the
    events subscription (`$share/hub/...`) on an MQTT 5 broker."""

    def __init__(
        self,
        store: Store,
        broker_url: str,
        *,
        shared: bool = False,
        client_id: str = "guardpost-hub",
        resend_down_s: float = 30.0,
        min_retention_days: float = 1.0,
    ) -> None:
        self.store = store
        self.shared = shared
        self.resend_down_s = resend_down_s
        self.min_retention_days = min_retention_days
        self.is_connected = False
        self.is_started = False
        self.on_panic: Callable[[], None] | None = None  # escalation's wake: mail it now
        self._queue: queue.SimpleQueue[tuple[str, str, bytes] | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        events = f"{PREFIX}/+/+/events"
        if shared:
            events = f"$share/hub/{events}"
        self._client = MqttClient(
            broker_url,
            client_id,
            subscriptions=[(events, 1), (f"{PREFIX}/+/+/status", 1)],
            on_connected=self._on_connect,
            on_disconnected=self._on_disconnect,
            on_message=self._on_message,
            mqtt5=True,
            max_inflight=100,
        )
        self._worker = threading.Thread(target=self._run, name="ingest", daemon=True)
        self._resender = threading.Thread(target=self._resend_loop, name="down", daemon=True)

    def start(self) -> None:
        self._client.start()
        self._worker.start()
        self._resender.start()
        self.is_started = True

    def dead_threads(self) -> list[str]:
        """The threads that should run and do not: `ingest`, `down`, `mqtt` (paho's network
        loop, which ends when the broker refuses the hub's credentials)."""
        if not self.is_started or self._stop.is_set():
            return []
        threads = {
            "ingest": self._worker,
            "down": self._resender,
            "mqtt": self._client.network_thread,
        }
        return [name for name, thread in threads.items() if thread is None or not thread.is_alive()]

    def is_busy(self) -> bool:
        """Batches are waiting to be stored (the search index waits for them)."""
        return not self._queue.empty()

    def purge_before(self) -> str:
        """A post's purge never clears personal data of records younger than this (the hub's
        clock minus its minimum retention)."""
        return format_time(utc_now() - timedelta(days=self.min_retention_days))

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)
        self._client.stop()
        self._worker.join(timeout=10)

    # ---- MQTT callbacks (paho's network thread) ---------------------------------------------

    def _on_connect(self) -> None:
        self.is_connected = True
        log.info("hub connected to broker", extra={"shared": self.shared})

    def _on_disconnect(self, reason: str) -> None:
        self.is_connected = False
        log.warning("hub disconnected from broker", extra={"reason": reason})

    def _on_message(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        if len(parts) != 5 or "/".join(parts[:2]) != PREFIX:
            return
        site, device, kind = parts[2], parts[3], parts[4]
        if kind == "events":
            self._queue.put((site, device, payload))
        elif kind == "status":
            self._on_status(site, device, payload)

    def _on_status(self, site: str, device: str, raw: bytes) -> None:
        if not raw:
            return  # an empty retained message only clears the retained status
        try:
            status = read_status(raw)
        except UnreadableMessage as exc:
            # retained: it comes again after every restart; refuse it every time, flag the post
            log.warning(
                "status refused", extra={"site": site, "device": device, "reason": str(exc)}
            )
            self.store.flag_device(site, device, f"unreadable status: {exc}")
            return
        try:
            self.store.record_status(site, device, status)
        except Exception:
            log.exception("could not record status", extra={"site": site, "device": device})
            return
        if status.online:
            try:
                # a new post gets the watch list and its site's settings, directory and roster too
                self.store.queue_current(site, device)
            except Exception:
                log.exception("could not queue the versioned messages", extra={"site": site})
            self.send_down(site, device)  # it was away: deliver what waits for it

    # ---- ingest worker ----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            group, is_last = take_group(self._queue, MAX_GROUP_MESSAGES)
            if is_last:
                self._stop.set()  # this group is still stored; then the worker ends
            if not group:
                return
            try:
                self._ingest(group)
            except Exception:  # nothing a group holds may stop the worker
                log.exception("ingest failed; the edges will resend")

    def _ingest(self, group: list[tuple[str, str, bytes]]) -> None:
        batches: list[tuple[str, str, Any]] = []
        for site, device, raw in group:
            try:  # parse and validate outside the write lock
                payload: Any = read_batch(raw)
            except UnreadableMessage as exc:
                payload = exc  # the store rejects it and flags the device
            batches.append((site, device, payload))
        started = time.monotonic()
        try:
            results = self.store.ingest(batches, purge_before=self.purge_before())
        except Exception as exc:
            # the database failed (a full disk): nothing of the group is kept and nothing is
            # acked; the posts resend after their ack timeout, and it works once there is room
            log.error(
                "ingest transaction failed; the edges will resend",
                extra={
                    "batches": len(batches),
                    "error": str(exc) if is_database_failure(exc) else type(exc).__name__,
                },
            )
            return
        acks: dict[tuple[str, str], int] = {}
        stored = 0
        for result in results:
            acks[(result.site, result.device)] = result.acked_seq
            stored += result.stored
        if any(result.purged for result in results):
            try:
                self.store.checkpoint()
            except Exception:
                log.exception("WAL checkpoint after a purge failed; the next one will do")
        for (site, device), acked in acks.items():  # only now: the batch is committed
            self._client.publish(ack_topic(site, device), json.dumps({"acked_seq": acked}))
        if self.on_panic and any(has_panic(payload) for _s, _d, payload in batches):
            self.on_panic()
        log.debug(
            "ingested",
            extra={
                "batches": len(group),
                "events": stored,
                "ms": round((time.monotonic() - started) * 1000, 1),
            },
        )

    # ---- hub -> edge ------------------------------------------------------------------------

    def send_down(self, site: str | None = None, device: str | None = None) -> int:
        """Publish every undelivered down message (for one device, or all); returns how many."""
        if not self.is_connected:
            return 0
        pending = self.store.pending_down(site, device)
        for message in pending:
            self._client.publish(down_topic(message["site"]), json.dumps(message["payload"]))
        return len(pending)

    def _resend_loop(self) -> None:
        def apply_deferred_purges() -> None:
            # purges that spared records younger than retention: apply what is old now
            self.store.apply_pending_purges(self.purge_before())

        run_every(
            self.resend_down_s,
            self._stop,
            [
                (self.send_down, "resending down messages failed"),
                (apply_deferred_purges, "applying deferred purges failed"),
            ],
            log,
        )


def has_panic(payload: Any) -> bool:
    """A batch holds a guard's panic incident (stored now or before: escalation sends once)."""
    if not isinstance(payload, dict):
        return False
    return any(
        event.get("type") == "incident.opened" and event["data"].get("title_code") == PANIC
        for event in payload.get("events", [])
    )
