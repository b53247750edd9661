"""The hub's side of the posts' photo bytes (CONTRACT section 9), beside the event ingest.

Its own MQTT connection (client id `...-blobs`) and worker thread, so a photo never holds up a
batch of events. Chunks on `{site}/{device}/blobs` (`schemas.photos`) are gathered per photo in
memory (bounded: the oldest unfinished photo is dropped past `MAX_GATHERING_BYTES`; its post
sends it again). A whole photo is kept only when its post attached a photo with that hash (the
`photo.attached` event arrived first: the post sends the bytes after its ack) and the bytes hash
to it; then it is written by `PhotoFiles` (temporary file, fsync, rename) and `stored` goes back
on `{site}/{device}/blobs/ack`. Bytes that hash otherwise are refused: nothing is kept, it is
logged, and `refused` tells the post to send them again. The files of purged photos are deleted
here once the post's `photo.purged` event has arrived (`sweep_purged`, every few seconds), but
never before they have been here for the hub's minimum retention (a post's wrong clock cannot
erase evidence at the hub early).
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from schemas.ids import format_time, utc_now
from schemas.photos import BlobAck, UnreadableChunk, read_chunk
from schemas.topics import PREFIX, blob_ack_topic
from service.mqtt import MqttClient
from service.photo_files import PhotoFiles

from .store import Store

log = logging.getLogger(__name__)
MAX_GATHERING_BYTES = 64 * 1024 * 1024  # photos being gathered, all posts together
SWEEP_EVERY_S = 2.0  # a purged photo's file goes within seconds of the post's event


@dataclass
class _Photo:
    size: int
    count: int
    chunks: dict[int, bytes] = field(default_factory=dict)

    @property
    def held(self) -> int:
        return sum(len(c) for c in self.chunks.values())


class BlobReceiver:
    """Gathers, checks and keeps the posts' photos; deletes purged ones."""

    def __init__(
        self,
        store: Store,
        broker_url: str,
        files: PhotoFiles,
        client_id: str,
        min_retention_days: float = 1.0,
    ) -> None:
        self.store = store
        self.files = files
        self.min_retention_days = min_retention_days
        self.is_connected = False
        self._stop = threading.Event()
        self._queue: queue.SimpleQueue[tuple[str, str, bytes] | None] = queue.SimpleQueue()
        self._gathering: OrderedDict[tuple[str, str, str], _Photo] = OrderedDict()
        self._client = MqttClient(
            broker_url,
            f"{client_id}-blobs",
            subscriptions=[(f"{PREFIX}/+/+/blobs", 1)],
            on_connected=self._on_connect,
            on_disconnected=self._on_disconnect,
            on_message=self._on_message,
            mqtt5=True,
            max_inflight=100,
        )
        self._worker = threading.Thread(target=self._run, name="blobs", daemon=True)

    def start(self) -> None:
        self._client.start()
        self._worker.start()

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)
        self._client.stop()
        self._worker.join(timeout=10)

    def _on_connect(self) -> None:
        self.is_connected = True

    def _on_disconnect(self, reason: str) -> None:
        self.is_connected = False

    def _on_message(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        if len(parts) == 5 and "/".join(parts[:2]) == PREFIX and parts[4] == "blobs":
            self._queue.put((parts[2], parts[3], payload))

    # ---- worker -----------------------------------------------------------------------------

    def _run(self) -> None:
        swept = 0.0
        while not self._stop.is_set():
            try:
                message = self._queue.get(timeout=SWEEP_EVERY_S)
            except queue.Empty:
                message = None
            try:
                if message is not None:
                    self.receive(*message)
                if time.monotonic() - swept >= SWEEP_EVERY_S:
                    swept = time.monotonic()
                    self.sweep_purged()
            except Exception:  # nothing a post sends may stop the worker
                log.exception("handling a photo chunk failed; the post will send it again")

    def receive(self, site: str, device: str, raw: bytes) -> None:
        """One chunk; once its photo is whole, keep or refuse it and answer the post."""
        try:
            header, body = read_chunk(raw)
        except UnreadableChunk as exc:
            log.warning(
                "photo chunk refused", extra={"site": site, "device": device, "reason": str(exc)}
            )
            return
        key = (site, device, header.sha256)
        photo = self._gathering.get(key)
        if photo is None or (photo.size, photo.count) != (header.size, header.count):
            photo = self._gathering[key] = _Photo(header.size, header.count)
        photo.chunks[header.index] = body
        self._gathering.move_to_end(key)
        if len(photo.chunks) < photo.count:
            self._bound()
            return
        del self._gathering[key]
        content = b"".join(photo.chunks[i] for i in range(photo.count))
        state = self.accept(site, device, header.sha256, content)
        ack = BlobAck(sha256=header.sha256, state=state)
        self._client.publish(blob_ack_topic(site, device), json.dumps(ack.model_dump()))

    def accept(
        self, site: str, device: str, sha256: str, content: bytes
    ) -> Literal["stored", "refused", "unknown"]:
        """`stored`, `refused` (the bytes do not hash to `sha256`) or `unknown` (the post
        attached no photo with that hash, as far as the hub has heard)."""
        expected = self.store.expected_photo(site, device, sha256)
        if expected is None:
            log.warning("photo of no known event", extra={"site": site, "device": device})
            return "unknown"
        if hashlib.sha256(content).hexdigest() != sha256 or len(content) != expected["size"]:
            log.warning(
                "photo refused: its bytes do not hash to its event's sha256",
                extra={"site": site, "device": device, "sha256": sha256},
            )
            return "refused"
        if expected["purged"]:
            return "stored"  # purged meanwhile: nothing to keep, nothing to send again
        if not self.files.has(sha256):
            self.files.write(content, sha256)
        self.store.mark_photo_stored(site, device, sha256)
        log.info("photo stored", extra={"site": site, "device": device, "bytes": len(content)})
        return "stored"

    def _bound(self) -> None:
        held = sum(p.held for p in self._gathering.values())
        while held > MAX_GATHERING_BYTES and len(self._gathering) > 1:
            _, dropped = self._gathering.popitem(last=False)
            held -= dropped.held
            log.warning("unfinished photo dropped; its post sends it again")

    def sweep_purged(self) -> int:
        """Delete the files of photos every post purged, once they have been here longer than
        the hub's minimum retention (`GUARDPOST_HUB_MIN_RETENTION_DAYS`); returns how many."""
        before = format_time(utc_now() - timedelta(days=self.min_retention_days))
        hashes = self.store.purged_photo_files(before)
        for sha256 in hashes:
            self.files.delete(sha256)
            self.store.forget_photo_file(sha256)
        if hashes:
            log.info("purged photo files deleted", extra={"photos": len(hashes)})
        return len(hashes)
