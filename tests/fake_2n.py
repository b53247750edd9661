"""A fake 2N IP intercom for the adapter's tests: the part of 2N's HTTP API the adapter uses
(call dial and hang-up, switch control, log subscribe and long-poll pull), over real HTTP
with Basic auth, and `resident(session, action)` to play the person in the flat."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.helpers import free_port

ACTIONS = {
    "answer_and_release": [
        ("CallStateChanged", {"state": "connected"}),
        ("SwitchStateChanged", {"switch": 1, "state": True}),
        ("CallStateChanged", {"state": "terminated"}),
    ],
    "answer_and_press_1": [
        ("CallStateChanged", {"state": "connected"}),
        ("DtmfEntered", {"direction": "incoming", "code": "1"}),
    ],
    "answer_and_press_2": [
        ("CallStateChanged", {"state": "connected"}),
        ("DtmfEntered", {"direction": "incoming", "code": "2"}),
    ],
    "answer_and_hang_up": [
        ("CallStateChanged", {"state": "connected"}),
        ("CallStateChanged", {"state": "terminated"}),
    ],
    "ignore": [("CallStateChanged", {"state": "terminated"})],
}


class Fake2N:
    def __init__(self, user: str = "guardpost", password: str = "2n-pass") -> None:
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.port = free_port()
        self.dials: list[dict[str, Any]] = []  # {"number", "session"}
        self.triggers: list[dict[str, Any]] = []
        self.hangups: list[int] = []
        self.requests: list[str] = []  # every URL asked for, to check no ID number arrives
        self.events: list[dict[str, Any]] = []
        self.cursor: dict[int, int] = {}  # subscription id -> next event index
        self.changed = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Fake2N:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _event(self, kind: str, params: dict[str, Any]) -> None:
        with self.changed:
            self.events.append(
                {
                    "id": len(self.events) + 1,
                    "utcTime": int(time.time()),
                    "upTime": 100,
                    "event": kind,
                    "params": params,
                }
            )
            self.changed.notify_all()

    def resident(self, session: int, action: str) -> None:
        """What the person in the flat does with the call."""
        for kind, template in ACTIONS[action]:
            params = dict(template)
            if kind != "SwitchStateChanged":  # a switch knows nothing of calls
                params["session"] = session
            if kind == "CallStateChanged":
                params["direction"] = "outgoing"
            self._event(kind, params)

    def _api(self, path: str, query: dict[str, str]) -> dict[str, Any]:
        if path == "/api/call/dial":
            session = len(self.dials) + 10
            self.dials.append({"number": query.get("number"), "session": session})
            self._event(
                "CallStateChanged",
                {
                    "direction": "outgoing",
                    "state": "ringing",
                    "peer": query.get("number"),
                    "session": session,
                },
            )
            return {"success": True, "result": {"session": session}}
        if path == "/api/call/hangup":
            self.hangups.append(int(query.get("session", 0)))
            return {"success": True}
        if path == "/api/switch/ctrl":
            self.triggers.append(dict(query))
            return {"success": True}
        if path == "/api/log/subscribe":
            with self.changed:
                sub = len(self.cursor) + 1
                self.cursor[sub] = len(self.events)  # include=new
            return {"success": True, "result": {"id": sub}}
        if path == "/api/log/pull":
            sub = int(query.get("id", 0))
            deadline = time.monotonic() + float(query.get("timeout", 0))
            with self.changed:
                if sub not in self.cursor:
                    return {"success": False, "error": {"code": 12, "description": "invalid"}}
                while self.cursor[sub] >= len(self.events) and time.monotonic() < deadline:
                    self.changed.wait(max(deadline - time.monotonic(), 0.01))
                events = self.events[self.cursor[sub] :]
                self.cursor[sub] = len(self.events)
            return {"success": True, "result": {"events": events}}
        return {"success": False, "error": {"code": 1, "description": "not found"}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                fake.requests.append(self.path)
                if self.headers.get("Authorization") != fake.auth:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="2N"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                data = json.dumps(fake._api(url.path, query)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler
