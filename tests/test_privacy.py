"""The full ID number never lands anywhere; purged names really leave the file."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

from tests.bodies import new_visit
from tests.helpers import EdgeServer, run_edge

CANARY_ID = "Z9876543(1)"
CANARY_ID_FORMS = ["Z9876543(1)", "Z98765431", "9876543", "z9876543"]
CANARY_NAME = "Canaryvisitor 金絲雀"


def file_bytes(data: Path) -> dict[str, bytes]:
    """Every file in the post's directory (database, WAL, logs, secrets)."""
    return {p.name: p.read_bytes() for p in data.iterdir() if p.is_file()}


def assert_nowhere(data: Path, answers: list[str], forms: list[str]) -> None:
    for name, content in file_bytes(data).items():
        for form in forms:
            assert form.encode() not in content, f"{form!r} found in {name}"
    for text in answers:
        for form in forms:
            assert form not in text


def test_the_full_id_number_is_never_stored_logged_or_answered(edge: EdgeServer) -> None:
    answers: list[str] = []
    with edge.client(edge.login()) as api:
        visit = api.post("/visits", json=new_visit(CANARY_NAME, id_number=CANARY_ID))
        assert visit.status_code == 201
        assert visit.json()["id_number_masked"] == "Z****543(1)"
        # a refused registration with the same number: the 422 must not echo it
        refused = api.post("/visits", json=new_visit(CANARY_NAME, "nowhere", id_number=CANARY_ID))
        assert refused.status_code == 422
        too_long = api.post("/visits", json=new_visit("x", id_number=CANARY_ID * 9))
        assert too_long.status_code == 422
        answers += [visit.text, refused.text, too_long.text]
        answers += [
            api.get(path).text for path in ("/visits", f"/visits/{visit.json()['id']}", "/logbook")
        ]
    edge.stop()  # logs flushed, WAL as the server left it
    assert_nowhere(edge.data, answers, CANARY_ID_FORMS)
    # the name itself is kept until retention ends
    assert CANARY_NAME.encode() in b"".join(file_bytes(edge.data).values())


def test_purge_removes_names_from_the_file_and_the_chain_still_verifies(edge: EdgeServer) -> None:
    with edge.client(edge.login()) as api:
        contact = {"phone": "+852 5555 0199", "vehicle_plate": "CANARY 88"}
        notes = "canary notes about the person"
        visit = api.post(
            "/visits", json=new_visit(CANARY_NAME, id_number=CANARY_ID, notes=notes, **contact)
        ).json()
        api.post(f"/visits/{visit['id']}/checkout", json={})
        api.post("/shift-notes", json={"text": "quiet night"})
    edge.stop()

    result = run_edge("purge", "--data", str(edge.data), "--older-than", "0")
    assert result.returncode == 0, result.stderr
    # the visit's event and the shift note's
    assert result.stdout.strip() == "purged personal data of 1 visits (2 events) older than 0 days"
    forms = [
        CANARY_NAME,
        "Canaryvisitor",
        "金絲雀",
        "5555 0199",
        "CANARY 88",
        "canary notes",
        "Z****543(1)",
    ]
    assert_nowhere(edge.data, [], forms)
    verified = run_edge("verify", "--data", str(edge.data))
    assert (verified.returncode, verified.stdout.strip()) == (0, "ok 4 events")

    edge.start()
    with edge.client(edge.login()) as api:
        after = api.get(f"/visits/{visit['id']}").json()
        types = [e["type"] for e in api.get("/logbook").json()["entries"]]
    assert {
        k: after[k] for k in ("visitor_name", "id_number_masked", "phone", "vehicle_plate", "notes")
    } == dict.fromkeys(("visitor_name", "id_number_masked", "phone", "vehicle_plate", "notes"))
    # counts and times stay
    assert (after["unit"], after["party_size"], after["checked_in_at"]) == (
        visit["unit"],
        1,
        visit["checked_in_at"],
    )
    assert after["checked_out_at"] is not None
    assert types == ["visit.registered", "visit.checked_out", "shift.note", "pii.purged"]
    # a second purge finds nothing more to do and appends nothing
    edge.stop()
    again = run_edge("purge", "--data", str(edge.data), "--older-than", "0")
    assert again.stdout.strip() == "purged personal data of 0 visits (0 events) older than 0 days"


def test_secrets_and_database_are_readable_only_by_the_owner(tmp_path: Path) -> None:
    data = tmp_path / "post"
    assert run_edge("init", "--data", str(data), "--site", "s", "--device", "d").returncode == 0
    for name in ("id-hmac.key", "guardpost.db"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600


def test_pins_are_stored_only_as_argon2_hashes(edge: EdgeServer) -> None:
    edge.stop()
    conn = sqlite3.connect(edge.data / "guardpost.db")
    pins = [row[0] for row in conn.execute("SELECT pin_hash FROM guards")]
    conn.close()
    assert len(pins) == 2 and all(p.startswith("$argon2id$") for p in pins)


def test_purge_while_the_post_is_serving_keeps_seqs_gapless(edge: EdgeServer) -> None:
    import threading

    token = edge.login()
    with edge.client(token) as api:
        api.post("/visits", json={"visitor_name": CANARY_NAME, "unit": "12A", "category": "guest"})
    stop = threading.Event()
    answers: list[int] = []

    def keep_writing() -> None:
        with edge.client(token) as api:
            while not stop.is_set():
                answers.append(api.post("/shift-notes", json={"text": "patrol ok"}).status_code)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        result = run_edge("purge", "--data", str(edge.data), "--older-than", "0")
    finally:
        stop.set()
        writer.join()
    assert result.returncode == 0, result.stderr
    assert set(answers) == {201}
    with edge.client(token) as api:
        entries = api.get("/logbook").json()["entries"]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert [e["type"] for e in entries].count("pii.purged") == 1
    edge.stop()
    verified = run_edge("verify", "--data", str(edge.data))
    assert (verified.returncode, verified.stdout.strip()) == (0, f"ok {len(entries)} events")
