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

Only the standard library, so it runs anywhere Python does.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("approve", "deny", "never")


class Gateway:
    """What the simulated gateway knows and does; the HTTP handler only calls it."""

    def __init__(self, secret: str, key: str, mode: str, after_s: float, fail: int) -> None:
        self.secret = secret.encode()
        self.key = key
        self.mode, self.after_s, self.fail = mode, after_s, fail
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def signature_ok(self, body: bytes, header: str) -> bool:
        expected = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, header)

    def webhook(self, body: bytes, signature: str) -> int:
        """Take one request; the HTTP status to return."""
        ok = self.signature_ok(body, signature)
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
        body = json.dumps(
            {
                "request_id": record["request_id"],
                "decision": "approve" if mode == "approve" else "deny",
            }
        ).encode()
        request = urllib.request.Request(
            record["body"]["callback"],
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            status = None
        with self.lock:
            record["answer"] = status


def handler_for(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if self.path == "/received":
                with gateway.lock:
                    self._reply(200, {"received": list(gateway.received)})
            else:
                self._reply(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/mode":
                change = json.loads(body or b"{}")
                with gateway.lock:
                    if change.get("mode") in MODES:
                        gateway.mode = change["mode"]
                    gateway.after_s = float(change.get("after", gateway.after_s))
                    gateway.fail = int(change.get("fail", gateway.fail))
                self._reply(
                    200, {"mode": gateway.mode, "after": gateway.after_s, "fail": gateway.fail}
                )
            elif self.path in ("/", "/webhook"):
                status = gateway.webhook(body, self.headers.get("X-Guardpost-Signature", ""))
                self._reply(status, {"ok": status == 200})
            else:
                self._reply(404, {"error": "not found"})

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # quiet: the tests read /received

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--secret", required=True, help="the edge's --intercom-secret")
    parser.add_argument("--key", required=True, help="an intercom key of the edge (add-key)")
    parser.add_argument("--mode", choices=MODES, default="approve")
    parser.add_argument("--after", type=float, default=3.0, help="seconds before the answer")
    parser.add_argument("--fail", type=int, default=0, help="answer 503 to the first N requests")
    args = parser.parse_args()
    gateway = Gateway(args.secret, args.key, args.mode, args.after, args.fail)
    server = ThreadingHTTPServer((args.host, args.port), handler_for(gateway))
    print(
        f"intercom gateway simulator on http://{args.host}:{args.port}/webhook "
        f"({args.mode} after {args.after:g} s)",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
