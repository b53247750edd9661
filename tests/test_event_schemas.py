"""Every event the logbook writes has exactly the shape its published schema gives
(`schemas.models.EVENT_DATA`, strict, no extra field), so the JSON Schema an integrator reads is
what the post sends and what the hub's strict ingest accepts."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

from edge.logbook import Actor, Logbook
from schemas.ids import new_id
from schemas.models import EVENT_DATA, IncidentPii, PreapprovalPii, TextPii, VisitPii
from service.passwords import hash_secret
from tests.bodies import watchlist_message
from tests.helpers import (
    SUPERVISOR,
    EdgeServer,
    free_port,
    init_post,
    intercom_args,
    run_edge,
    wait_until,
)

PII: dict[str, type[BaseModel]] = {
    "visit.registered": VisitPii,
    "preapproval.created": PreapprovalPii,
    "incident.opened": IncidentPii,
    "visit.confirmation": TextPii,  # an override's reason
    "door.event": TextPii,
    "incident.entry": TextPii,
    "incident.status": TextPii,
    "incident.severity": TextPii,
    "shift.note": TextPii,
}


def drive_a_shift(edge: EdgeServer, keys: dict[str, str]) -> str:
    """A realistic session through the API: visits (approved, denied, overridden, unanswered,
    pre-approved, flagged), doors, incidents with entries and a status, a shift note."""
    guard = edge.client(edge.login())
    chief = edge.client(edge.login(SUPERVISOR))
    door = httpx.Client(
        base_url=f"{edge.url}/api/v1",
        timeout=30,
        headers={"Authorization": f"Bearer {keys['door']}"},
    )
    intercom = httpx.Client(
        base_url=f"{edge.url}/api/v1",
        timeout=30,
        headers={"Authorization": f"Bearer {keys['intercom']}"},
    )
    try:

        def register(**fields: Any) -> dict[str, Any]:
            answer = guard.post(
                "/visits", json={"visitor_name": "陳小明", "category": "guest", **fields}
            )
            assert answer.status_code == 201, answer.text
            return dict(answer.json())

        walk_in = register(
            unit="12B",
            id_number="A1234567(8)",
            phone="5555 0000",
            company="Harbour Deliveries",
            purpose="parcel",
            party_size=2,
            vehicle_plate="AB 1234",
            notes="left by the side door",
        )
        assert guard.post(f"/visits/{walk_in['id']}/checkout").status_code == 200
        assert guard.post(f"/visits/{walk_in['id']}/undo-checkout").status_code == 200
        assert guard.post(f"/visits/{walk_in['id']}/checkout").status_code == 200
        for decision in ("approve", "deny"):
            pending = register(unit="12A")["confirmation"]["request_id"]
            answer = intercom.post(
                "/intercom/answers", json={"request_id": pending, "decision": decision}
            )
            assert answer.status_code == 200, answer.text
        overridden = register(unit="3C")
        assert (
            guard.post(
                f"/visits/{overridden['id']}/override",
                json={"reason": "resident waved from the window"},
            ).status_code
            == 200
        )
        unanswered = register(unit="12A")
        wait_until(
            lambda: (
                guard.get(f"/visits/{unanswered['id']}").json()["confirmation"]["status"]
                == "no_answer"
            ),
            20,
            "the request to expire",
        )
        code = intercom.post(
            "/intercom/preapprovals",
            json={
                "unit": "12A",
                "valid_until": "2099-01-01T00:00:00+00:00",
                "visitor_name": "Mr Expected",
            },
        )
        assert code.status_code == 201, code.text
        register(unit="12A", visitor_name="Mr Expected", preapproval_code=code.json()["code"])
        flagged = register(unit="12B", visitor_name="Banned Person")
        assert flagged["flag"] == "watch_list"
        for event in (
            {"door": "car park", "kind": "forced"},
            {"door": "lobby", "kind": "held_open", "duration_s": 300},
            {"door": "lobby", "kind": "held_open", "duration_s": 30},
            {
                "door": "lobby",
                "kind": "pin",
                "reason": "tenant",
                "occurred_at": "2026-11-30T01:02:03+00:00",
            },
        ):
            assert door.post("/door-events", json=event).status_code == 201
        incident = guard.post(
            "/incidents",
            json={
                "category": "complaint",
                "severity": "minor",
                "title": "noise on 3/F",
                "description": "music after midnight",
                "location": "3/F",
                "channel": "phone",
                "visit_id": walk_in["id"],
            },
        ).json()
        for kind in ("follow_up", "summary"):
            assert (
                guard.post(
                    f"/incidents/{incident['id']}/entries",
                    json={"kind": kind, "text": f"{kind} done"},
                ).status_code
                == 201
            )
        for status in ("acknowledged", "in_progress", "resolved", "closed"):
            moved = chief.post(f"/incidents/{incident['id']}/status", json={"status": status})
            assert moved.status_code == 200, moved.text
        assert guard.post("/shift-notes", json={"text": "交更: all quiet"}).status_code == 201
        assert chief.post("/shift/handover/acknowledge").status_code == 200
        return str(incident["id"])
    finally:
        for client in (guard, chief, door, intercom):
            client.close()


def drive_a_patrol(book: Logbook) -> None:
    """The hub's rounds arrive; a guard scans one checkpoint; a run that passed unscanned is
    judged missed (its round is made to have arrived two days ago)."""
    checkpoint = {"id": "cp-1", "name": "Roof", "location": None, "code": "roof-code-1"}
    night = {
        "id": "rd-1",
        "name": "Night",
        "checkpoints": ["cp-1"],
        "every_minutes": 60,
        "window_minutes": 10,
        "from": "00:00",
        "to": "00:00",
    }
    message = {"id": "pa-1", "version": 1, "checkpoints": [checkpoint], "rounds": [night]}
    assert book.patrols.apply_now(message)
    asyncio.run(book.patrols.scan("roof-code-1", None, Actor("guard", "1001")))
    long_ago = "2000-01-01T00:00:00.000+00:00"
    book.writer.write(lambda conn: conn.execute("UPDATE rounds SET since = ?", (long_ago,)))
    assert book.patrols.judge_now() >= 1


def test_every_event_the_logbook_writes_matches_its_published_schema(tmp_path: Path) -> None:
    data = tmp_path / "post"
    keys = init_post(data)
    book = Logbook(data)  # the hub's watch list arrives first (as sync applies it)
    try:
        banned = {"id": "e1", "name": "Banned Person", "reason": "theft", "severity": "medium"}
        assert book.watchlist.apply_now(watchlist_message("wl-1", banned))
        site_settings = {"deadlines_h": {"severe": 2}, "default_lang": "en"}
        assert book.settings.apply_now(
            {"id": "st-1", "version": 1, "name": "Harbour View", "settings": site_settings}
        )
        units = [  # the same units as the post's own import
            {"unit": "12A", "intercom": "1201", "residents": "陳太太"},
            {"unit": "12B"},
            {"unit": "3C", "intercom": "0303", "residents": "Mr Lee"},
        ]
        assert book.directory.apply_now({"id": "dir-1", "version": 1, "units": units})
        hub_guard = {  # a guard from the hub's roster: the PIN only as its hash
            "badge": "7001",
            "name": "Hub Guard",
            "role": "guard",
            "pin_hash": hash_secret("8642"),
            "disabled": False,
        }
        assert book.roster.apply_now({"id": "ro-1", "version": 1, "guards": [hub_guard]})
        drive_a_patrol(book)
    finally:
        book.close()
    nowhere = f"http://127.0.0.1:{free_port()}/ring"  # registration never waits for a gateway
    edge = EdgeServer(
        data,
        extra_args=intercom_args(nowhere, "webhook-secret-1", 3),
    ).start()
    try:
        incident_id = drive_a_shift(edge, keys)
        with edge.client(edge.login()) as guard:  # evidence: a photo, deleted by the purge
            jpeg = b"\xff\xd8\xff\xe0" + bytes(2000)
            photo = {"file": ("evidence.jpg", jpeg, "image/jpeg")}
            answer = guard.post(f"/incidents/{incident_id}/photos", files=photo)
            assert answer.status_code == 201, answer.text
    finally:
        edge.stop()
    book = Logbook(data)  # a supervisor's entry from the hub, as sync applies it
    try:
        assert book.incidents.apply_hub_entry_now(
            {
                "id": new_id(),
                "incident_id": incident_id,
                "kind": "note",
                "text": "called the tenant",
                "by": "hub:manager",
            }
        )
        # commands from the hub, carried out and refused
        opened = book.incidents.list(status="open")[0]["id"]
        command = {"incident_id": opened, "by": "hub:manager", "role": "manager"}
        for action in (
            {"action": "assign", "assignee": "manager"},
            {"action": "severity", "severity": "minor", "reason": "nobody is stuck"},
            {"action": "status", "status": "closed"},  # not its next step: refused
            {"action": "status", "status": "acknowledged", "reason": "the manager is on it"},
        ):
            assert book.commands.apply_now({**command, **action, "id": new_id()})
    finally:
        book.close()
    pii_rows = events(data, "type, pii FROM events WHERE pii IS NOT NULL")  # before the purge
    assert run_edge("purge", "--data", str(data), "--older-than", "0").returncode == 0
    rows = events(data, "type, data FROM events")

    assert {event_type for event_type, _ in rows} == set(EVENT_DATA)
    assert {event_type for event_type, _ in pii_rows} == set(PII)
    for event_type, data_text in rows:
        model = EVENT_DATA[event_type].model_validate_json(data_text, strict=True)
        # nothing coerced or left out: the model gives back exactly the JSON that was written
        assert model.model_dump(mode="json", exclude_unset=True) == json.loads(data_text)
    for event_type, pii_text in pii_rows:
        pii = PII[event_type].model_validate_json(pii_text, strict=True)
        assert pii.model_dump(mode="json") == json.loads(pii_text)


def events(data: Path, columns: str) -> list[tuple[str, str]]:
    conn = sqlite3.connect(data / "guardpost.db")
    try:
        return [(r[0], r[1]) for r in conn.execute(f"SELECT {columns} ORDER BY seq")]
    finally:
        conn.close()
