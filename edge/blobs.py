"""Sends the post's photo bytes to the hub (CONTRACT section 9), beside the event sync.

Its own MQTT connection (same credentials, client id `...-blobs`) and its own thread, so the
events of a visit never queue behind a photo: the bytes go at most `rate_bytes_s`, one photo at
a time, in chunks of at most 256 KiB on `{site}/{device}/blobs` (`schemas.photos` frames them).
A photo is sent once the hub has acked its `photo.attached` event (so the hub knows the hash to
check), and again until the hub answers `stored` on `{site}/{device}/blobs/ack`; `refused` (the
bytes did not hash right on the way) or no answer in time sends it again after the others.
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
        last_failed = ""  # a photo the hub did not take: the others go first
        while not self._stop.is_set():
            self._wake.wait(timeout=IDLE_S)
            self._wake.clear()
            while self.is_connected and not self._stop.is_set():
                try:
                    photo = self.book.photos.next_to_send(after=last_failed)
                    if photo is None:
                        last_failed = ""
                        break
                    if self._send(photo["sha256"]):
                        self.book.photos.mark_sent_now(photo["sha256"])
                        last_failed = ""
                    else:
                        last_failed = photo["sha256"]
                        break  # look again after IDLE_S
                except Exception:
                    log.exception("sending a photo failed; trying again later")
                    break

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
