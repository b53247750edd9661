#!/usr/bin/env python3
"""A simulated intercom gateway, for the demo and the tests: it speaks Guardpost's webhook
(CONTRACT 5) over real HTTP like a real gateway would, and "rings the flat" by answering.

    python scripts/intercom_gateway.py --port 8099 --secret S --key gpk_... \\
        [--mode approve|deny|never] [--after SECONDS] [--fail N]

POST /webhook (or /)  a confirmation request; the signature is checked with --secret (401 if
                      wrong). With --fail N the first N requests get 503 (a gateway that is down).
                      Otherwise 200, and after --after seconds the "resident" answers on the
                      request's `callback` with the intercom key: approve, deny, or never.
GET  /received        every request it got: request_id, body, signature_ok, status it returned,
                      and the edge's answer to its decision (for tests and curious integrators).
POST /mode            change mode/after/fail while running: {"mode": "deny", "after": 0}.

Only the standard library (and scripts/webhook_peer.py beside it), so it runs anywhere Python
does.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from webhook_peer import handler_for, parser_for, send_decision, serve, signature_ok

MODES = ("approve", "deny", "never")


class Gateway:
    """What the simulated gateway knows and does; the HTTP handler only calls it."""

    def __init__(self, secret: str, key: str, mode: str, after_s: float, fail: int) -> None:
        self.secret = secret.encode()
        self.key = key
        self.mode, self.after_s, self.fail = mode, after_s, fail
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def webhook(self, body: bytes, signature: str) -> int:
        """Take one request; the HTTP status to return."""
        ok = signature_ok(self.secret, body, signature)
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        with self.lock:
            if not ok:
                status = 401
            elif self.fail > 0:
                self.fail -= 1
                status = 503
            else:
                status = 200
            record = {
                "request_id": (request or {}).get("request_id"),
                "body": request,
                "signature_ok": ok,
                "status": status,
                "answer": None,
            }
            self.received.append(record)
            mode, after_s = self.mode, self.after_s
        if status == 200 and mode != "never" and request:
            threading.Thread(target=self.answer, args=(record, mode, after_s), daemon=True).start()
        return status

    def answer(self, record: dict[str, Any], mode: str, after_s: float) -> None:
        """The resident picks up after `after_s` and presses approve or deny."""
        time.sleep(after_s)
        decision = "approve" if mode == "approve" else "deny"
        status = send_decision(record["body"]["callback"], self.key, record["request_id"], decision)
        with self.lock:
            record["answer"] = status

    def seen(self) -> dict[str, Any]:
        """GET /received: every request so far."""
        with self.lock:
            return {"received": [dict(record) for record in self.received]}

    def change(self, body: bytes) -> dict[str, Any]:
        """POST /mode: a new mode, delay or number of failures; the settings now."""
        change = json.loads(body or b"{}")
        with self.lock:
            if change.get("mode") in MODES:
                self.mode = change["mode"]
            self.after_s = float(change.get("after", self.after_s))
            self.fail = int(change.get("fail", self.fail))
            return {"mode": self.mode, "after": self.after_s, "fail": self.fail}


def main() -> None:
    parser = parser_for(__doc__.split("\n\n")[0], 8099)
    parser.add_argument("--mode", choices=MODES, default="approve")
    parser.add_argument("--after", type=float, default=3.0, help="seconds before the answer")
    parser.add_argument("--fail", type=int, default=0, help="answer 503 to the first N requests")
    args = parser.parse_args()
    gateway = Gateway(args.secret, args.key, args.mode, args.after, args.fail)
    handler = handler_for(gateway.webhook, {"/received": gateway.seen}, {"/mode": gateway.change})
    serve(
        args.host,
        args.port,
        handler,
        f"intercom gateway simulator on http://{args.host}:{args.port}/webhook "
        f"({args.mode} after {args.after:g} s)",
    )


if __name__ == "__main__":
    main()
