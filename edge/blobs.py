"""Sends the post's photo bytes to the hub (CONTRACT section 9), beside the event sync.

Its own MQTT connection (same credentials, client id `...-blobs`) and its own thread, so the
events of a visit never queue behind a photo: the bytes go at most `rate_bytes_s`, one photo at
a time, in chunks of at most 256 KiB on `{site}/{device}/blobs` (`schemas.photos` frames them).
A photo is sent once the hub has acked its `photo.attached` event (so the hub knows the hash to
check), and again until the hub answers `stored` on `{site}/{device}/blobs/ack`; `refused` (the
bytes did not hash right on the way), `unknown` or no answer in time sends it again after the
others, after a pause that doubles with each failed try (2 s to 10 minutes).
"""

from __future__ import annotations

import logging
import threading
import time

from schemas.messages import UnreadableMessage, read_json
from schemas.photos import CHUNK_BYTES, BlobAck, BlobChunk, chunk_count, chunk_message
from schemas.topics import blob_ack_topic, blobs_topic
from service.mqtt import MqttClient

from .logbook import Logbook

log = logging.getLogger(__name__)

RATE_BYTES_S = 8 * 1024 * 1024  # leaves the uplink (and the Pi) to the events and the pages
ACK_TIMEOUT_S = 30.0  # no answer for a whole photo this long: send it again later
IDLE_S = 1.0  # how often it looks for a photo to send when nothing wakes it
RETRY_FIRST_S, RETRY_MAX_S = 2.0, 600.0  # a photo the hub did not take: pause, doubling


class BlobSender:
    """The post's photo uploader: one thread, one MQTT connection."""

    def __init__(
        self,
        book: Logbook,
        broker_url: str,
        *,
        rate_bytes_s: float = RATE_BYTES_S,
        ack_timeout_s: float = ACK_TIMEOUT_S,
    ) -> None:
        self.book = book
        self.site, self.device = book.site, book.device
        self.rate_bytes_s = rate_bytes_s
        self.ack_timeout_s = ack_timeout_s
        self.is_connected = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._answered = threading.Condition()
        self._answers: dict[str, str] = {}  # sha256 -> the hub's last answer
        self._failures: dict[str, tuple[int, float]] = {}  # sha256 -> (tries, next try at)
        self._client = MqttClient(
            broker_url,
            f"guardpost-{self.site}-{self.device}-blobs",
            subscriptions=[(blob_ack_topic(self.site, self.device), 1)],
            on_connected=self._on_connect,
            on_disconnected=self._on_disconnect,
            on_message=self._on_message,
        )
        self._thread = threading.Thread(target=self._run, name="blobs", daemon=True)
        book.on_commit(lambda events: self._wake.set())

    def start(self) -> None:
        self._client.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        with self._answered:
            self._answered.notify_all()
        self._client.stop()
        self._thread.join(timeout=5)

    # ---- MQTT callbacks (paho's network thread) ---------------------------------------------

    def _on_connect(self) -> None:
        self.is_connected = True
        self._wake.set()

    def _on_disconnect(self, reason: str) -> None:
        self.is_connected = False

    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            ack = BlobAck.model_validate(read_json(payload, 1024), strict=True)
        except (UnreadableMessage, ValueError):
            log.warning("blob ack refused", extra={"topic": topic})
            return
        with self._answered:
            self._answers[ack.sha256] = ack.state
            self._answered.notify_all()

    # ---- sender thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=IDLE_S)
            self._wake.clear()
            while self.is_connected and not self._stop.is_set():
                try:
                    sha256 = self._next()
                    if sha256 is None:
                        break
                    if self._send(sha256):
                        self.book.photos.mark_sent_now(sha256)
                        self._failures.pop(sha256, None)
                    else:  # the others go first; this one again after a growing pause
                        failures = self._failures.get(sha256, (0, 0.0))[0] + 1
                        pause = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (failures - 1))
                        self._failures[sha256] = (failures, time.monotonic() + pause)
                except Exception:
                    log.exception("sending a photo failed; trying again later")
                    break

    def _next(self) -> str | None:
        """The oldest photo to send that is not waiting after a failed try."""
        now = time.monotonic()
        for photo in self.book.photos.to_send():
            if self._failures.get(photo["sha256"], (0, 0.0))[1] <= now:
                return str(photo["sha256"])
        return None

    def _send(self, sha256: str) -> bool:
        """Publish one photo's chunks at the bounded rate; True once the hub says `stored`."""
        if not self.book.photos.files.has(sha256):
            log.error("photo file missing; not sent", extra={"sha256": sha256})
            return False
        content = self.book.photos.files.read(sha256)
        with self._answered:
            self._answers.pop(sha256, None)
        count, started = chunk_count(len(content)), time.monotonic()
        for index in range(count):
            if not self.is_connected or self._stop.is_set():
                return False
            body = content[index * CHUNK_BYTES : (index + 1) * CHUNK_BYTES]
            header = BlobChunk(sha256=sha256, size=len(content), index=index, count=count)
            self._client.publish(blobs_topic(self.site, self.device), chunk_message(header, body))
            ahead = (index + 1) * CHUNK_BYTES / self.rate_bytes_s - (time.monotonic() - started)
            if ahead > 0:
                self._stop.wait(ahead)
        with self._answered:
            self._answered.wait_for(
                lambda: sha256 in self._answers or self._stop.is_set(), self.ack_timeout_s
            )
            answer = self._answers.pop(sha256, "no answer")
        if answer != "stored":
            log.warning("photo not taken by the hub", extra={"sha256": sha256, "answer": answer})
        else:
            log.info("photo sent", extra={"sha256": sha256, "bytes": len(content)})
        return answer == "stored"
