"""Resident confirmation through the intercom (CONTRACT section 5): webhook delivery and expiry.

Registration writes a pending request and its delivery row in one transaction (`Logbook`), so
nothing here is in memory only. One thread POSTs every due delivery to the gateway, signed with
`X-Guardpost-Signature: sha256=HMAC(secret, raw body)`, retries with backoff (1, 2, 4, 8, 15 s)
until the request expires, and turns every request still pending at its `expires_at` into
`no_answer`. After a restart it picks up where it stopped: undelivered requests are sent, and
those that expired meanwhile are closed at once. A gateway that is down never blocks a guard.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from schemas.ids import utc_now

from .logbook import Logbook

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Guardpost-Signature"
POST_TIMEOUT_S = 5.0  # a gateway slower than this is treated as down for this attempt
IDLE_CHECK_S = 5.0  # look for work at least this often, even without a wake-up
SENDERS = 4  # deliveries in flight at once, so one slow gateway call does not hold the rest


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for a raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(delivery: dict[str, Any], callback: str) -> bytes:
    """The webhook's JSON body (CONTRACT 5): the same bytes on every attempt."""
    return json.dumps(
        {
            "request_id": delivery["request_id"],
            "unit": delivery["unit"],
            "intercom": delivery["intercom"],
            "visitor_name": delivery["visitor_name"],
            "category": delivery["category"],
            "party_size": delivery["party_size"],
            "expires_at": delivery["expires_at"],
            "callback": callback,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


class Intercom:
    """The post's intercom worker: delivers webhooks (when one is configured) and expires
    unanswered requests (always, so a post whose webhook was removed still closes them)."""

    def __init__(
        self, book: Logbook, webhook: str | None, secret: str | None, callback: str
    ) -> None:
        self.book = book
        self.webhook = webhook
        self.secret = secret or ""
        self.callback = callback
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._inflight: set[str] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="webhook")
        self._thread = threading.Thread(target=self._run, name="intercom", daemon=True)
        book.on_commit(self._on_commit)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _on_commit(self, events: list[dict[str, Any]]) -> None:
        if any(
            e["type"] == "visit.registered" and e["data"]["confirmation"]["status"] == "pending"
            for e in events
        ):
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                expired = self.book.visits.expire_confirmations_now()
                if expired:
                    log.info("confirmations expired", extra={"count": expired})
                if self.webhook:
                    for delivery in self.book.deliveries.due():
                        with self._lock:
                            if delivery["request_id"] in self._inflight:
                                continue
                            self._inflight.add(delivery["request_id"])
                        self._pool.submit(self._deliver, delivery)
                wait_s = IDLE_CHECK_S
                due = self.book.deliveries.next_due()
                if due is not None:
                    wait_s = min(wait_s, max((due - utc_now()).total_seconds(), 0.05))
                with self._lock:
                    if self._inflight:  # their attempt is "due" until it ends and wakes us
                        wait_s = max(wait_s, 0.5)
            except Exception:
                log.exception("intercom worker failed; trying again")
                wait_s = IDLE_CHECK_S
            self._wake.wait(wait_s)
            self._wake.clear()

    def _deliver(self, delivery: dict[str, Any]) -> None:
        request_id = delivery["request_id"]
        try:
            body = webhook_body(delivery, self.callback)
            request = urllib.request.Request(
                str(self.webhook),
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: sign(self.secret, body),
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=POST_TIMEOUT_S) as response:
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (OSError, ValueError) as exc:
                self.book.deliveries.mark_failed_now(request_id, type(exc).__name__)
                log.warning(
                    "webhook not reachable",
                    extra={"request_id": request_id, "error": type(exc).__name__},
                )
                return
            if 200 <= status < 300:
                self.book.deliveries.mark_delivered_now(request_id)
                log.info(
                    "webhook delivered",
                    extra={"request_id": request_id, "attempt": delivery["attempts"] + 1},
                )
            else:
                self.book.deliveries.mark_failed_now(request_id, f"HTTP {status}")
                log.warning("webhook refused", extra={"request_id": request_id, "status": status})
        except Exception:
            log.exception("webhook delivery failed", extra={"request_id": request_id})
        finally:
            with self._lock:
                self._inflight.discard(request_id)
            self._wake.set()  # its next attempt may be due sooner than the worker thinks
