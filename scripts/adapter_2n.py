#!/usr/bin/env python3
"""A bridge from Guardpost's intercom webhook to a 2N IP intercom's HTTP API.

    python scripts/adapter_2n.py --port 8098 --secret S --key gpk_... \\
        --intercom https://192.168.1.50 --user guardpost --password P [--switch 1]

The post sends each confirmation request here (CONTRACT 5). The adapter checks the signature,
answers 200 at once, and rings the flat with `GET /api/call/dial?number=INTERCOM`. One thread
follows the intercom's event log (`/api/log/subscribe`, then `/api/log/pull` in a loop) and
turns what the resident does into the answer the post expects, on the request's `callback`:

  the resident releases the door (SwitchStateChanged, state true) during the call -> approve
  the resident presses 1 (DtmfEntered)       -> open the door (/api/switch/ctrl) and approve
  the resident presses 2                     -> deny, and hang up
  the call ends after it was answered, with no release -> deny
  nobody picks up                            -> nothing: the post records no_answer itself

Each request is answered once, never after its `expires_at` (then the call is hung up). The
2N user needs the Call Control, Call Monitoring, Switch Control and Switch Monitoring
privileges. GET /status lists the calls the adapter follows. Standard library only (and
scripts/webhook_peer.py beside it).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from webhook_peer import handler_for, parser_for, send_decision, serve, signature_ok

log = logging.getLogger("adapter_2n")
EVENTS = "CallStateChanged,SwitchStateChanged,DtmfEntered"
PULL_TIMEOUT_S = 5  # how long one /api/log/pull may wait for an event


@dataclass
class Call:
    """One confirmation request and the call that asks the resident."""

    request_id: str
    intercom: str
    expires_at: float  # epoch seconds
    callback: str
    session: int | None = None
    state: str = "dialling"  # dialling, ringing, connected, terminated
    answered: str | None = None  # approve / deny once sent
    answer_status: int | None = None


class TwoN:
    """The 2N intercom's HTTP API (Basic or Digest auth)."""

    def __init__(self, base: str, user: str, password: str) -> None:
        self.base = base.rstrip("/")
        manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        manager.add_password(None, self.base, user, password)
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPBasicAuthHandler(manager),
            urllib.request.HTTPDigestAuthHandler(manager),
        )

    def get(self, path: str, timeout_s: float = 10, **params: Any) -> dict[str, Any]:
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        with self.opener.open(url, timeout=timeout_s) as response:
            answer: dict[str, Any] = json.loads(response.read())
        return answer


class Adapter:
    """Webhook in, 2N calls out, resident's decision back to the post."""

    def __init__(self, secret: str, key: str, intercom: TwoN, switch: int) -> None:
        self.secret = secret.encode()
        self.key = key
        self.intercom = intercom
        self.switch = switch
        self.calls: dict[str, Call] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()

    # ---- from the post ------------------------------------------------------------------------

    def webhook(self, body: bytes, signature: str) -> int:
        if not signature_ok(self.secret, body, signature):
            log.warning("webhook with a bad signature refused")
            return 401
        try:
            request = json.loads(body)
            call = Call(
                str(request["request_id"]),
                str(request["intercom"]),
                datetime.fromisoformat(request["expires_at"]).timestamp(),
                str(request["callback"]),
            )
        except (ValueError, KeyError, TypeError):
            return 422
        with self.lock:
            if call.request_id in self.calls:
                return 200  # a retry of what we already have
            self.calls[call.request_id] = call
        threading.Thread(target=self.dial, args=(call,), daemon=True).start()
        return 200

    def dial(self, call: Call) -> None:
        try:
            answer = self.intercom.get("/api/call/dial", number=call.intercom)
        except (OSError, ValueError) as exc:
            log.warning("dial failed: %s", exc, extra={"request_id": call.request_id})
            with self.lock:
                call.state = "terminated"
            return
        with self.lock:
            call.session = int(answer.get("result", {}).get("session", 0)) or None
            call.state = "ringing"
        log.info("ringing the flat", extra={"request_id": call.request_id})

    # ---- to the post -------------------------------------------------------------------------

    def answer(self, call: Call, decision: str) -> None:
        """Send the resident's decision once, unless the request has expired."""
        with self.lock:
            if call.answered or time.time() >= call.expires_at:
                return
            call.answered = decision
        # 409: the guard decided, or it expired; either way we stop
        status = send_decision(call.callback, self.key, call.request_id, decision)
        with self.lock:
            call.answer_status = status
        log.info(
            "answered",
            extra={"request_id": call.request_id, "decision": decision, "status": status},
        )

    # ---- from the intercom ---------------------------------------------------------------------

    def follow_events(self) -> None:
        """Subscribe to the intercom's log and dispatch its events until stopped."""
        subscription: int | None = None
        while not self.stop.is_set():
            try:
                if subscription is None:
                    answer = self.intercom.get("/api/log/subscribe", include="new", filter=EVENTS)
                    subscription = int(answer["result"]["id"])
                pulled = self.intercom.get(
                    "/api/log/pull",
                    timeout_s=PULL_TIMEOUT_S + 5,
                    id=subscription,
                    timeout=PULL_TIMEOUT_S,
                )
                if not pulled.get("success"):
                    subscription = None  # the intercom restarted or dropped it: subscribe again
                    continue
                for event in pulled["result"]["events"]:
                    self.on_event(event)
                self.expire()
            except (OSError, ValueError, KeyError) as exc:
                log.warning("intercom log unreachable: %s", exc)
                subscription = None
                self.stop.wait(2)

    def on_event(self, event: dict[str, Any]) -> None:
        kind, params = event.get("event"), event.get("params") or {}
        if kind == "CallStateChanged":
            call = self._by_session(params.get("session"))
            if call is None:
                return
            with self.lock:
                was = call.state
                call.state = str(params.get("state", call.state))
            if call.state == "terminated" and was == "connected":
                self.answer(call, "deny")  # answered, then hung up without letting them in
        elif kind == "SwitchStateChanged" and params.get("state") is True:
            call = self._connected()
            if call is not None:
                self.answer(call, "approve")  # released from the flat's indoor unit
        elif kind == "DtmfEntered":
            call = self._by_session(params.get("session")) or self._connected()
            if call is None:
                return
            if params.get("code") == "1":
                self.intercom.get("/api/switch/ctrl", switch=self.switch, action="trigger")
                self.answer(call, "approve")
            elif params.get("code") == "2":
                self.answer(call, "deny")
                self._hang_up(call)

    def expire(self) -> None:
        """Hang up and forget requests past their expiry (the post has said no_answer)."""
        now = time.time()
        with self.lock:
            expired = [c for c in self.calls.values() if c.expires_at <= now and c.state != "gone"]
        for call in expired:
            if call.state in ("ringing", "connected"):
                self._hang_up(call)
            with self.lock:
                call.state = "gone"

    def _hang_up(self, call: Call) -> None:
        if call.session is None:
            return
        try:
            self.intercom.get("/api/call/hangup", session=call.session)
        except (OSError, ValueError) as exc:
            log.warning("hang-up failed: %s", exc)

    def _by_session(self, session: Any) -> Call | None:
        with self.lock:
            return next(
                (c for c in self.calls.values() if session is not None and c.session == session),
                None,
            )

    def _connected(self) -> Call | None:
        with self.lock:
            live = [c for c in self.calls.values() if c.state == "connected"]
        return live[-1] if live else None

    def status(self) -> dict[str, Any]:
        """GET /status: the calls the adapter follows (without their callbacks)."""
        with self.lock:
            return {"calls": [asdict(c) | {"callback": None} for c in self.calls.values()]}


def main() -> None:
    parser = parser_for(__doc__.split("\n\n")[0], 8098)
    parser.add_argument("--intercom", required=True, help="the 2N's base URL")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--switch", type=int, default=1, help="the door's switch number")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    adapter = Adapter(
        args.secret, args.key, TwoN(args.intercom, args.user, args.password), args.switch
    )
    threading.Thread(target=adapter.follow_events, daemon=True).start()
    banner = f"2N adapter on http://{args.host}:{args.port}/webhook -> {args.intercom}"
    try:
        serve(
            args.host, args.port, handler_for(adapter.webhook, {"/status": adapter.status}), banner
        )
    finally:
        adapter.stop.set()


if __name__ == "__main__":
    main()
