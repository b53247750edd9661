"""The floor for scripts/bench_edge.py: a bare FastAPI + SQLite app that inserts one row per
request in its own transaction (WAL, synchronous=FULL), which any durable service pays. Served by
uvicorn like the edge: `uvicorn bench_floor_app:app` with FLOOR_DB set."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from typing import Any

from fastapi import FastAPI

DB = os.environ.get("FLOOR_DB", "floor.db")
_local = threading.local()

app = FastAPI()


def _create() -> None:
    """WAL and the table, once, before the threads connect (a thread's first request that set
    WAL while another wrote was refused with `database is locked`)."""
    conn = sqlite3.connect(DB, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS visits (id INTEGER PRIMARY KEY, body TEXT)")
    conn.close()


_create()


def _conn() -> sqlite3.Connection:
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(DB, isolation_level=None, timeout=30)
        conn.execute("PRAGMA synchronous=FULL")
        _local.conn = conn
    return conn


@app.post("/api/v1/visits", status_code=201)
def register_visit(body: dict[str, Any]) -> dict[str, Any]:
    conn = _conn()
    conn.execute("BEGIN IMMEDIATE")
    cursor = conn.execute("INSERT INTO visits (body) VALUES (?)", (json.dumps(body),))
    conn.execute("COMMIT")
    return {"id": cursor.lastrowid, **body}
