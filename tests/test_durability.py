"""Nothing confirmed is lost: concurrent bursts, kill -9 mid-burst, and tampering detected."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.helpers import EdgeServer, run_edge


def register(url: str, token: str, n: int) -> str | None:
    """One registration; the visit id if the post answered 201, None if it never answered."""
    try:
        answer = httpx.post(
            f"{url}/api/v1/visits",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "visitor_name": f"訪客 {n}",
                "unit": "12A",
                "category": "delivery",
                "id_number": f"K{n:07d}",
            },
            timeout=30,
        )
    except httpx.HTTPError:
        return None
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def logbook_seqs(api: httpx.Client) -> list[int]:
    return [e["seq"] for e in api.get("/logbook").json()["entries"]]


def test_200_concurrent_registrations_then_kill_9_loses_nothing_confirmed(edge: EdgeServer) -> None:
    token = edge.login()
    with ThreadPoolExecutor(max_workers=20) as pool:
        first = list(pool.map(lambda n: register(edge.url, token, n), range(200)))
    assert None not in first
    with edge.client(token) as api:
        assert logbook_seqs(api) == list(range(1, 201))

    confirmed: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def keep_registering(worker: int) -> None:
        n = 1000 + worker * 10_000
        while not stop.is_set():
            visit_id = register(edge.url, token, n)
            if visit_id is None:
                return  # the server is gone
            with lock:
                confirmed.append(visit_id)
            n += 1

    workers = [threading.Thread(target=keep_registering, args=(w,)) for w in range(20)]
    for worker in workers:
        worker.start()
    try:
        from tests.helpers import wait_until

        wait_until(lambda: len(confirmed) >= 100, 30, "a second burst under way")
        edge.kill9()  # in the middle of the burst: requests are in flight
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=60)

    edge.start()
    with edge.client(edge.login()) as api:
        seqs = logbook_seqs(api)
        stored = {v["id"] for v in api.get("/visits").json()["visits"]}
    # every 201 is there, seqs have no gap, and nothing was stored twice
    assert set(first) | set(confirmed) <= stored
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(stored) == len(seqs)
    edge.stop()
    result = run_edge("verify", "--data", str(edge.data))
    assert (result.returncode, result.stdout.strip()) == (0, f"ok {len(seqs)} events")


def _ten_events_then_tamper(edge: EdgeServer, sql: str) -> subprocess.CompletedProcess[str]:
    """Ten events, the stopped post's logbook edited by `sql`, and what `verify` says then."""
    token = edge.login()
    for n in range(10):
        assert register(edge.url, token, n)
    edge.stop()
    assert run_edge("verify", "--data", str(edge.data)).stdout.strip() == "ok 10 events"
    conn = sqlite3.connect(edge.data / "guardpost.db")
    with conn:
        conn.execute(sql)
    conn.close()
    return run_edge("verify", "--data", str(edge.data))


def _broken_at(seq: int) -> tuple[int, str]:
    """What `verify` says (exit status, stdout) when `seq` is the first event to break the chain."""
    return 1, f"broken at seq {seq}: the chain is intact only up to seq {seq - 1}"


def _said(result: subprocess.CompletedProcess[str]) -> tuple[int, str]:
    return result.returncode, result.stdout.strip()


def test_verify_names_the_seq_whose_data_was_edited(edge: EdgeServer) -> None:
    # one byte of a kept field: the unit 12A becomes 12B in seq 4's data
    sql = "UPDATE events SET data = replace(data, '\"12A\"', '\"12B\"') WHERE seq = 4"
    assert _said(_ten_events_then_tamper(edge, sql)) == _broken_at(4)


def test_verify_names_a_deleted_seq(edge: EdgeServer) -> None:
    sql = "DELETE FROM events WHERE seq = 7"
    assert _said(_ten_events_then_tamper(edge, sql)) == _broken_at(7)


def test_verify_catches_an_edited_name_before_purge(edge: EdgeServer) -> None:
    sql = "UPDATE events SET pii = replace(pii, '訪客 2', '訪客 9') WHERE seq = 3"
    assert _said(_ten_events_then_tamper(edge, sql)) == _broken_at(3)


def test_verify_names_a_seq_whose_json_no_longer_parses(edge: EdgeServer) -> None:
    sql = "UPDATE events SET data = substr(data, 2) WHERE seq = 5"  # drops the opening brace
    result = _ten_events_then_tamper(edge, sql)
    assert _said(result) == _broken_at(5)
    assert "Traceback" not in result.stderr
