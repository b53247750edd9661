"""The hub's MQTT, over the one paho wrapper (`service.mqtt`).

Receives every post's event batches and status, ingests the batches in groups (one transaction
of at most `MAX_GROUP_BYTES`, the posts waiting served in turn), acks each device only after the
commit, and sends hub-to-edge messages on each site's `down` topic until the edge's own event
shows they were applied. Statuses are recorded by the same worker, the newest of each post in
one transaction between groups, never on paho's network thread; a post coming online gets what
waits for it.

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
from collections import deque
from collections.abc import Callable
from datetime import timedelta

from schemas.ids import format_time, utc_now
from schemas.messages import StatusIn, UnreadableMessage, read_status
from schemas.prepared import Prepared
from schemas.topics import PREFIX, ack_topic, down_topic
from service.incident_words import PANIC
from service.mqtt import MqttClient
from service.workers import run_every

from .preparing import BACKLOG, Arrived, Preparer
from .store import Store, is_database_failure

log = logging.getLogger(__name__)
# batches per ingest transaction, by size: every post waiting gets an ack every few thousand
# events, so a live hub with a long queue still shows each post progress (no resending)
MAX_GROUP_BYTES = 2 * 1024 * 1024
# and at most this many of one post's: a quarter of its window (`edge.sync.WINDOW`), so that it
# sends the next batches while these are stored, and those are read and hashed meanwhile
PER_POST = 4
# a group whose posts were all being ingested by another hub process: wait this long for it
BUSY_WAIT_S = 0.01
# ingest counts as busy this long after a backlog's group (`preparing.BACKLOG` batches or more):
# its next batches are on their way, and the search index's lines wait rather than take the
# write lock and a core between two groups. Live traffic's small groups leave it its turns
QUIET_S = 0.5
Device = tuple[str, str]
Message = tuple[str, str, Arrived | StatusIn | UnreadableMessage]  # a batch or a status, by post


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
        # batches and statuses, as they come; the worker takes them in turn per post
        self._queue: queue.SimpleQueue[Message | None] = queue.SimpleQueue()
        self._seen: set[Device] = set()  # posts whose status this process has recorded
        self._preparer = Preparer()  # reads and hashes a backlog's batches on another core
        self._stop = threading.Event()
        self._busy_until = 0.0  # monotonic: `is_busy` until then
        events, status = f"{PREFIX}/+/+/events", f"{PREFIX}/+/+/status"
        if shared:  # each message to one of the hub processes
            events, status = f"$share/hub/{events}", f"$share/hub/{status}"
        self._client = MqttClient(
            broker_url,
            client_id,
            subscriptions=[(events, 1), (status, 1)],
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
        """Batches are waiting to be stored, or a backlog's group was stored within `QUIET_S`
        (the search index waits for them, unless it is far behind)."""
        return not self._queue.empty() or time.monotonic() < self._busy_until

    def purge_before(self) -> str:
        """A post's purge never clears personal data of records younger than this (the hub's
        clock minus its minimum retention)."""
        return format_time(utc_now() - timedelta(days=self.min_retention_days))

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)
        self._client.stop()
        self._worker.join(timeout=10)
        self._preparer.close()

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
            arrived = Arrived(payload)
            self._preparer.arrived(arrived)
            self._queue.put((site, device, arrived))
        elif kind == "status":
            self._on_status(site, device, payload)

    def _on_status(self, site: str, device: str, raw: bytes) -> None:
        if not raw:
            return  # an empty retained message only clears the retained status
        try:
            status: StatusIn | UnreadableMessage = read_status(raw)
        except UnreadableMessage as exc:
            # retained: it comes again after every restart; refuse it every time, flag the post
            log.warning(
                "status refused", extra={"site": site, "device": device, "reason": str(exc)}
            )
            status = exc
        self._queue.put((site, device, status))  # recorded by the worker, off this thread

    # ---- ingest worker ----------------------------------------------------------------------

    def _run(self) -> None:
        waiting: dict[Device, deque[Arrived]] = {}  # batches per post, posts in turn
        while True:
            statuses, stopping = self._take(waiting)
            if statuses:
                self._record_statuses(statuses)
            while waiting and not self._stop.is_set():
                self._preparer.ahead(waiting)
                group = next_group(waiting)
                try:
                    busy = self._ingest(group)
                except Exception:  # nothing a group holds may stop the worker
                    log.exception("ingest failed; the edges will resend")
                    busy = []
                put_back(waiting, busy)
                if len(group) >= BACKLOG:
                    self._busy_until = time.monotonic() + QUIET_S
                if busy and len(busy) == len(group):
                    self._stop.wait(BUSY_WAIT_S)
                if not self._queue.empty():
                    break  # take what came meanwhile, statuses too, before the next group
            if stopping or self._stop.is_set():
                return

    def _take(
        self, waiting: dict[Device, deque[Arrived]]
    ) -> tuple[dict[Device, StatusIn | UnreadableMessage], bool]:
        """Wait for a message unless batches wait already, then take every message there is:
        batches into `waiting`, and the newest status of each post; True when asked to stop."""
        statuses: dict[Device, StatusIn | UnreadableMessage] = {}
        block = not waiting
        while True:
            try:
                item = self._queue.get(timeout=1.0) if block else self._queue.get_nowait()
            except queue.Empty:
                if block and not self._stop.is_set():
                    continue
                return statuses, False
            if item is None:
                return statuses, True
            block = False
            site, device, message = item
            if isinstance(message, Arrived):
                waiting.setdefault((site, device), deque()).append(message)
            else:
                statuses[(site, device)] = message

    def _record_statuses(self, statuses: dict[Device, StatusIn | UnreadableMessage]) -> None:
        readable = [(s, d, st) for (s, d), st in statuses.items() if isinstance(st, StatusIn)]
        try:
            for (site, device), status in statuses.items():
                if isinstance(status, UnreadableMessage):
                    self.store.flag_device(site, device, f"unreadable status: {status}")
            came_online = set(self.store.record_statuses(readable)) if readable else set()
        except Exception:
            log.exception("could not record statuses", extra={"posts": len(statuses)})
            return
        # a post coming online (or heard first since this process started) gets the watch list,
        # its site's settings, directory, roster and rounds, and what else waits for it
        for site, device, status in readable:
            first = (site, device) not in self._seen
            self._seen.add((site, device))
            if not status.online or not (first or (site, device) in came_online):
                continue
            try:
                self.store.queue_current(site, device)
            except Exception:
                log.exception("could not queue the versioned messages", extra={"site": site})
            self.send_down(site, device)

    def _ingest(self, group: list[tuple[str, str, Arrived]]) -> list[tuple[str, str, Arrived]]:
        """Store a group of batches in one transaction, then ack each post. Returns the batches
        of posts that another hub process was ingesting meanwhile, left for a later group
        (waiting for that process's commit would hold up this one's other posts)."""
        # read and hashed outside the write lock; an unreadable one is rejected by the store
        batches = [(site, device, self._preparer.take(arrived)) for site, device, arrived in group]
        started = time.monotonic()
        try:
            results = self.store.ingest(batches, purge_before=self.purge_before(), skip_busy=True)
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
            return []
        busy = {(result.site, result.device) for result in results if result.busy}
        waits = []
        for (site, device, arrived), (_, _, payload) in zip(group, batches, strict=True):
            if (site, device) in busy:
                arrived.prepared = payload  # read once
                waits.append((site, device, arrived))
        acks: dict[tuple[str, str], int] = {}
        stored = 0
        for result in results:
            if result.busy:
                continue
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
                "busy": len(busy),
            },
        )
        return waits

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


def has_panic(payload: Prepared | UnreadableMessage) -> bool:
    """A batch holds a guard's panic incident (stored now or before: escalation sends once)."""
    if not isinstance(payload, Prepared):
        return False
    return any(
        event["type"] == "incident.opened" and event["data"].get("title_code") == PANIC
        for event in payload.batch["events"]
    )


def put_back(
    waiting: dict[Device, deque[Arrived]], batches: list[tuple[str, str, Arrived]]
) -> None:
    """Batches a group could not store (their posts busy at another hub process) back at the
    head of their posts' queues, in their order, for a later group."""
    for site, device, arrived in reversed(batches):
        waiting.setdefault((site, device), deque()).appendleft(arrived)


def next_group(waiting: dict[Device, deque[Arrived]]) -> list[tuple[str, str, Arrived]]:
    """Batches for one transaction, up to `MAX_GROUP_BYTES` and `PER_POST` of each post's: one
    of each post's in turn, the posts served put last, so a post behind many others is not left
    without an ack."""
    group: list[tuple[str, str, Arrived]] = []
    size, taken = 0, 0
    while waiting and size < MAX_GROUP_BYTES and taken < PER_POST:
        taken += 1
        for key in list(waiting):
            if size >= MAX_GROUP_BYTES:
                break
            batches = waiting.pop(key)
            arrived = batches.popleft()
            group.append((*key, arrived))
            size += len(arrived.raw)
            if batches:
                waiting[key] = batches  # last in turn
    return group
