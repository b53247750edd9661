"""The hub's MQTT: all of the hub's paho.

Receives every post's event batches and status, ingests the batches in groups (one transaction
for all batches waiting), acks each device only after the commit, and sends hub-to-edge messages
on each site's `down` topic until the edge's own event shows they were applied.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.sync import BrokerUrl
from schemas.topics import PREFIX, ack_topic, down_topic

from .store import Store

log = logging.getLogger(__name__)
MAX_GROUP_MESSAGES = 200  # batches per ingest transaction


class Ingest:
    """One hub ingest worker. Stateless apart from the database, so several can share the
    events subscription (`$share/hub/...`) on an MQTT 5 broker."""

    def __init__(self, store: Store, broker_url: str, *, shared: bool = False,
                 client_id: str = "guardpost-hub", resend_down_s: float = 30.0) -> None:
        self.store = store
        self.broker = BrokerUrl.parse(broker_url)
        self.shared = shared
        self.resend_down_s = resend_down_s
        self.is_connected = False
        self._queue: queue.SimpleQueue[tuple[str, str, bytes] | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=mqtt.MQTTv5)
        if self.broker.username:
            self._client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            self._client.tls_set()
        self._client.reconnect_delay_set(1, 30)
        self._client.max_inflight_messages_set(100)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._worker = threading.Thread(target=self._run, name="ingest", daemon=True)
        self._resender = threading.Thread(target=self._resend_loop, name="down", daemon=True)

    def start(self) -> None:
        self._client.connect_async(self.broker.host, self.broker.port, keepalive=30,
                                   clean_start=True)
        self._client.loop_start()
        self._worker.start()
        self._resender.start()

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)
        self._client.disconnect()
        self._client.loop_stop()
        self._worker.join(timeout=10)

    # ---- paho callbacks ---------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any,
                    reason_code: ReasonCode, properties: Properties | None) -> None:
        if reason_code.is_failure:
            log.error("broker refused the hub", extra={"reason": str(reason_code)})
            if reason_code.value in (0x86, 0x87):
                client.disconnect()
            return
        events = f"{PREFIX}/+/+/events"
        if self.shared:
            events = f"$share/hub/{events}"
        client.subscribe([(events, 1), (f"{PREFIX}/+/+/status", 1)])
        self.is_connected = True
        log.info("hub connected to broker", extra={"shared": self.shared})

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any,
                       reason_code: ReasonCode, properties: Properties | None) -> None:
        self.is_connected = False
        log.warning("hub disconnected from broker", extra={"reason": str(reason_code)})

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        parts = message.topic.split("/")
        if len(parts) != 5 or "/".join(parts[:2]) != PREFIX:
            return
        site, device, kind = parts[2], parts[3], parts[4]
        if kind == "events":
            self._queue.put((site, device, bytes(message.payload)))
        elif kind == "status":
            self._on_status(site, device, bytes(message.payload))

    def _on_status(self, site: str, device: str, raw: bytes) -> None:
        try:
            status = json.loads(raw)
        except ValueError:
            return
        if not isinstance(status, dict):
            return
        try:
            self.store.record_status(site, device, status)
        except Exception:
            log.exception("could not record status", extra={"site": site, "device": device})
            return
        if status.get("online"):
            try:
                self.store.queue_watchlist(site, device)  # a new post gets the list too
            except Exception:
                log.exception("could not queue the watch list", extra={"site": site})
            self.send_down(site, device)  # it was away: deliver what waits for it

    # ---- ingest worker ----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            while len(group) < MAX_GROUP_MESSAGES:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._stop.set()
                    break
                group.append(more)
            self._ingest(group)

    def _ingest(self, group: list[tuple[str, str, bytes]]) -> None:
        batches: list[tuple[str, str, Any]] = []
        for site, device, raw in group:
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = None  # rejected as malformed by the store
            batches.append((site, device, payload))
        started = time.monotonic()
        try:
            results = self.store.ingest(batches)
        except Exception:
            log.exception("ingest transaction failed; the edges will resend")
            return
        acks: dict[tuple[str, str], int] = {}
        stored = 0
        for result in results:
            acks[(result.site, result.device)] = result.acked_seq
            stored += result.stored
        if any(result.purged for result in results):
            self.store.checkpoint()
        for (site, device), acked in acks.items():  # only now: the batch is committed
            self._client.publish(ack_topic(site, device), json.dumps({"acked_seq": acked}),
                                 qos=1)
        log.debug("ingested", extra={"batches": len(group), "events": stored,
                                     "ms": round((time.monotonic() - started) * 1000, 1)})

    # ---- hub -> edge ------------------------------------------------------------------------

    def send_down(self, site: str | None = None, device: str | None = None) -> int:
        """Publish every undelivered down message (for one device, or all); returns how many."""
        if not self.is_connected:
            return 0
        pending = self.store.pending_down(site, device)
        for message in pending:
            self._client.publish(down_topic(message["site"]), json.dumps(message["payload"]),
                                 qos=1)
        return len(pending)

    def _resend_loop(self) -> None:
        while not self._stop.wait(self.resend_down_s):
            try:
                self.send_down()
            except Exception:
                log.exception("resending down messages failed")
