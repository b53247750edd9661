"""The edge's link to the hub: all of the edge's MQTT, over the one paho wrapper (`service.mqtt`).

The logbook is the queue. The publisher sends every event after `acked_seq`, in seq order, in
batches of at most 256 KiB at QoS 1, with a window of batches in flight. The hub answers with a
cumulative `acked_seq`, which is written to disk. On reconnect, or when no ack comes in time, it
starts again from `acked_seq + 1`: nothing depends on the broker or paho keeping messages.
Only an ack that moves forward counts as progress. After a resend the window starts at one
batch and doubles with each ack that moves forward, and the wait doubles (up to 120 s) while
none does: a hub that is alive but behind gets one batch again, not a storm of them, and a hub
that is gone is still tried. The wait also follows the hub's pace: after an ack that took
long (a hub working through hundreds of posts' backlogs), the next is awaited thrice as long.
Hub-to-edge messages (supervisor entries, the watch list, the site's settings and directory)
arrive on the site's `down` topic and are applied once by record id.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from schemas.canonical import batch_frame
from schemas.ids import now_text
from schemas.messages import MAX_BATCH_BYTES as CONTRACT_BATCH_BYTES
from schemas.messages import MAX_DOWN_BYTES, UnreadableMessage, read_ack, read_json
from schemas.topics import ack_topic, down_topic, events_topic, status_topic
from service import __version__
from service.mqtt import MqttClient

from .logbook import Logbook

log = logging.getLogger(__name__)

MAX_BATCH_BYTES = CONTRACT_BATCH_BYTES
# batches in flight: enough that a hub storing a backlog always has the next ones read and
# hashed (16 drained one post's 100,000 events in 3.0 s against 4.0 s with 8:
# docs/performance.md), few enough to resend cheaply
WINDOW = 16
ACK_TIMEOUT_S = 10.0  # no ack for this long: resend from acked_seq + 1
MAX_ACK_TIMEOUT_S = 120.0  # the wait doubles after each resend without progress, up to this
PATIENCE = 3  # after an ack, wait for the next at least thrice as long as that one took
STATUS_EVERY_S = 30.0  # a heartbeat even when nothing changes
STATUS_CHANGED_S = 2.0  # at most this often when last_seq or acked_seq moved


class Sync:
    """One MQTT connection per post, with its own credentials."""

    def __init__(
        self,
        book: Logbook,
        broker_url: str,
        *,
        ack_timeout_s: float = ACK_TIMEOUT_S,
        window: int = WINDOW,
        max_batch_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        self.book = book
        self.ack_timeout_s = ack_timeout_s
        self.window = window
        self.max_batch_bytes = max_batch_bytes
        self.site, self.device = book.site, book.device
        self.is_connected = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._next_seq = 1  # the next seq to send; rewound to acked_seq + 1 on resend
        self._inflight: list[tuple[int, float]] = []  # (last seq of a batch, when it was sent)
        self._last_progress = time.monotonic()
        self._open = window  # batches that may be in flight: 1 after a resend, then doubling
        self._wait_s = ack_timeout_s  # doubles after a resend without progress
        self.resends = 0  # how many times no ack came in time (the benchmark counts them)
        self._client = MqttClient(
            broker_url,
            f"guardpost-{self.site}-{self.device}",
            subscriptions=[(ack_topic(self.site, self.device), 1), (down_topic(self.site), 1)],
            on_connected=self._on_connect,
            on_disconnected=self._on_disconnect,
            on_message=self._on_message,
            will=(status_topic(self.site, self.device), json.dumps(self._status(online=False))),
        )
        self._thread = threading.Thread(target=self._run, name="sync", daemon=True)
        book.on_commit(lambda events: self._wake.set())

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._client.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self.is_connected:
            info = self._client.publish(
                status_topic(self.site, self.device),
                json.dumps(self._status(online=False)),
                retain=True,
            )
            info.wait_for_publish(timeout=2)
        self._client.stop()
        self._thread.join(timeout=5)

    # ---- MQTT callbacks (paho's network thread) ---------------------------------------------

    def _on_connect(self) -> None:
        with self._lock:
            self.is_connected = True
            self._rewind()
            self._open, self._wait_s = self.window, self.ack_timeout_s
        self._publish_status()
        log.info("connected to broker", extra={"site": self.site, "device": self.device})
        self._wake.set()

    def _on_disconnect(self, reason: str) -> None:
        with self._lock:
            self.is_connected = False
            self._inflight.clear()
        log.warning("disconnected from broker", extra={"reason": reason})

    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            if topic == ack_topic(self.site, self.device):
                self._on_ack(read_ack(payload).acked_seq)
            elif topic == down_topic(self.site):
                self._on_down(read_json(payload, MAX_DOWN_BYTES))
        except UnreadableMessage as exc:
            log.warning("message refused", extra={"topic": topic, "reason": str(exc)})
        except Exception:
            log.exception("could not handle a message", extra={"topic": topic})

    def _on_ack(self, acked: int) -> None:
        last_seq = self.book.sync.last_seq()
        acked = min(acked, last_seq)  # never believe an ack for events we do not have
        if self.book.sync.set_acked_now(acked):
            with self._lock:
                self._inflight = [b for b in self._inflight if b[0] > acked]
                self._next_seq = max(self._next_seq, acked + 1)
                now = time.monotonic()
                # a hub that takes long to answer (a long queue of other posts' batches) is
                # given as long again, thrice over, before a batch is resent
                waited, self._last_progress = now - self._last_progress, now
                self._open = min(self.window, self._open * 2)
                self._wait_s = min(MAX_ACK_TIMEOUT_S, max(self.ack_timeout_s, PATIENCE * waited))
            log.info(
                "batch acked",
                extra={
                    "site": self.site,
                    "device": self.device,
                    "acked_seq": acked,
                    "backlog": last_seq - acked,
                },
            )
            self._wake.set()

    def _on_down(self, payload: Any) -> None:
        """A supervisor's entry or command, or a new version of the watch list, the site's
        settings, its directory, its roster or its patrol rounds; each is applied once, by its
        id, and the logbook event that records it tells the hub it arrived."""
        appliers = {
            "incident.entry": self.book.incidents.apply_hub_entry_now,
            "command": self.book.commands.apply_now,
            "watchlist": self.book.watchlist.apply_now,
            "settings": self.book.settings.apply_now,
            "directory": self.book.directory.apply_now,
            "roster": self.book.roster.apply_now,
            "patrols": self.book.patrols.apply_now,
        }
        if not isinstance(payload, dict) or payload.get("type") not in appliers:
            return
        if payload.get("device") != self.device:
            return  # meant for another post of this site
        try:
            applied = appliers[payload["type"]](payload)
        except Exception:
            log.exception("could not apply a hub message", extra={"id": payload.get("id")})
            return
        if applied:
            log.info(
                "hub message applied", extra={"id": payload.get("id"), "type": payload["type"]}
            )

    # ---- publisher thread -------------------------------------------------------------------

    def _rewind(self) -> None:
        """Send everything after acked_seq again (reconnect or ack timeout)."""
        self._next_seq = self.book.sync.state()["acked_seq"] + 1
        self._inflight.clear()
        self._last_progress = time.monotonic()

    def _run(self) -> None:
        last_status, last_reported = 0.0, (-1, -1)
        while not self._stop.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            if self._stop.is_set() or not self.is_connected:
                continue
            try:
                self._fill_window()
                state = self.book.sync.state()
                now = time.monotonic()
                reported = (state["last_seq"], state["acked_seq"])
                if now - last_status > STATUS_EVERY_S or (
                    reported != last_reported and now - last_status > STATUS_CHANGED_S
                ):
                    self._publish_status()
                    last_status, last_reported = now, reported
            except Exception:
                log.exception("sync publisher failed; retrying")

    def _fill_window(self) -> None:
        with self._lock:
            if self._inflight and time.monotonic() - self._last_progress > self._wait_s:
                self._rewind()
                self.resends += 1
                self._open, self._wait_s = 1, min(self._wait_s * 2, MAX_ACK_TIMEOUT_S)
                log.warning(
                    "no ack in time; resending",
                    extra={"from_seq": self._next_seq, "next_wait_s": self._wait_s},
                )
            while len(self._inflight) < self._open and self.is_connected:
                batch = self._next_batch(self._next_seq)
                if batch is None:
                    return
                last = batch["last_seq"]
                self._client.publish(events_topic(self.site, self.device), batch["payload"])
                if not self._inflight:
                    self._last_progress = time.monotonic()
                self._inflight.append((last, time.monotonic()))
                self._next_seq = last + 1

    def _next_batch(self, from_seq: int) -> dict[str, Any] | None:
        """The next batch from `from_seq`: the seq of its last event and its payload (the
        canonical JSON of {"device", "events", "site"}), at most 256 KiB."""
        frame = len(batch_frame(self.site, self.device, ()))
        events = self.book.sync.encoded_events_after(
            from_seq - 1, limit=500, max_bytes=self.max_batch_bytes - frame
        )
        if not events:
            return None
        return {
            "last_seq": events[-1][0],
            "payload": batch_frame(self.site, self.device, [body for _, body in events]),
        }

    def _status(self, online: bool) -> dict[str, Any]:
        state = self.book.sync.state()
        return {
            "online": online,
            "last_seq": state["last_seq"],
            "acked_seq": state["acked_seq"],
            "backlog": state["backlog"],
            "clock": now_text(),
            "version": __version__,
            "disk_free_mb": self.book.disk.free_mb(),
        }

    def _publish_status(self) -> None:
        self._client.publish(
            status_topic(self.site, self.device),
            json.dumps(self._status(online=True)),
            retain=True,
        )
