"""The far side of the intercom webhook (CONTRACT 5), shared by scripts/intercom_gateway.py and
scripts/adapter_2n.py: the signature check, the answer on the request's `callback`, the small
HTTP server and the options every peer takes. Keep it beside them; standard library only."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def signature_ok(secret: bytes, body: bytes, header: str) -> bool:
    """The post's `X-Guardpost-Signature` for `body`, checked in constant time."""
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def send_decision(callback: str, key: str, request_id: str, decision: str) -> int | None:
    """POST the resident's `approve` or `deny` to the post with the intercom key: the post's HTTP
    status (409: the guard decided or the request expired), None where it could not be reached."""
    body = json.dumps({"request_id": request_id, "decision": decision}).encode()
    request = urllib.request.Request(
        callback,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def handler_for(
    webhook: Callable[[bytes, str], int],
    gets: dict[str, Callable[[], Any]],
    posts: dict[str, Callable[[bytes], Any]] | None = None,
) -> type[BaseHTTPRequestHandler]:
    """A quiet JSON handler: POST /webhook (or /) goes to `webhook(body, signature)`, which
    returns the status; `gets` and `posts` map other paths to what they answer with 200."""
    extra = posts or {}

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if self.path in gets:
                self._reply(200, gets[self.path]())
            else:
                self._reply(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path in extra:
                self._reply(200, extra[self.path](body))
            elif self.path in ("/", "/webhook"):
                status = webhook(body, self.headers.get("X-Guardpost-Signature", ""))
                self._reply(status, {"ok": status == 200})
            else:
                self._reply(404, {"error": "not found"})

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # quiet: the tests read what the peer received

    return Handler


def parser_for(description: str, port: int) -> argparse.ArgumentParser:
    """The options of every peer: where it listens, and the post's secret and intercom key."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--secret", required=True, help="the post's --intercom-secret")
    parser.add_argument("--key", required=True, help="an intercom key of the post (add-key)")
    return parser


def serve(host: str, port: int, handler: type[BaseHTTPRequestHandler], banner: str) -> None:
    """Listen, say so on stdout, and serve until interrupted."""
    server = ThreadingHTTPServer((host, port), handler)
    print(banner, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
