"""Sets up and serves the demo post (called by scripts/demo)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
EDGE = str(BIN / "guardpost-edge")
UNITS = """unit,intercom,residents
1A,0101,陳大文
1B,0102,李美玲
2A,0201,Mr and Mrs Wong
2B,,
12A,1201,張小姐
12B,1202,Mr Patel
"""
GUARD = ("1001", "陳保安", "2468", "guard")
SUPERVISOR = ("9001", "Supervisor Wong", "13579", "supervisor")


def run(*args: str) -> str:
    return subprocess.run([EDGE, *args], check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    data: Path = args.dir / "lobby-1"
    if data.exists():
        shutil.rmtree(data)  # a fresh demo every time
    run("init", "--data", str(data), "--site", "harbour-view", "--device", "lobby-1")
    for badge, name, pin, role in (GUARD, SUPERVISOR):
        run("add-guard", "--data", str(data), "--badge", badge, "--name", name, "--pin", pin,
            "--role", role)
    (data / "units.csv").write_text(UNITS, encoding="utf-8")
    run("import-units", "--data", str(data), str(data / "units.csv"))
    door_key = run("add-key", "--data", str(data), "--scope", "door", "--name", "demo door")
    server = subprocess.Popen([EDGE, "serve", "--data", str(data), "--port", str(args.port),
                               "--host", "127.0.0.1"])
    url = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        seed(url, door_key.strip().splitlines()[-1])
        print(f"""
Guardpost demo is running. Ctrl-C stops it.

  Edge post harbour-view/lobby-1   {url}
    API docs                       {url}/docs
    guard        badge {GUARD[0]}  PIN {GUARD[2]}
    supervisor   badge {SUPERVISOR[0]}  PIN {SUPERVISOR[2]}
    data                           {data}
""", flush=True)
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.terminate()
        server.wait(timeout=10)


def seed(url: str, door_key: str) -> None:
    token = httpx.post(f"{url}/api/v1/auth/login",
                       json={"badge": GUARD[0], "pin": GUARD[2]}).json()["token"]
    api = httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"})
    visits = [
        {"visitor_name": "黃志明", "unit": "12A", "category": "guest", "id_number": "A1234567(8)",
         "party_size": 2},
        {"visitor_name": "SF Express courier", "unit": "1B", "category": "delivery",
         "company": "SF Express"},
        {"visitor_name": "Lam Plumbing", "unit": "2A", "category": "repair",
         "company": "Lam Plumbing Ltd", "purpose": "kitchen leak", "vehicle_plate": "AB 1234"},
    ]
    ids = [api.post("/visits", json=v).json()["id"] for v in visits]
    api.post(f"/visits/{ids[1]}/checkout", json={})
    incident = api.post("/incidents", json={
        "category": "complaint", "severity": "medium", "title": "樓上裝修噪音",
        "description": "住戶投訴 2B 單位晚上十時後仍在裝修", "channel": "phone"}).json()
    api.post(f"/incidents/{incident['id']}/entries",
             json={"kind": "note", "text": "已記錄投訴要點，稍後上樓查看"})
    api.post("/incidents", json={"category": "equipment", "severity": "minor",
                                 "title": "Lift B light flickering", "location": "Lift B"})
    httpx.post(f"{url}/api/v1/door-events", headers={"Authorization": f"Bearer {door_key}"},
               json={"door": "car park", "kind": "held_open"})
    api.post("/shift-notes", json={"text": "Night shift: all quiet, car park door checked."})


if __name__ == "__main__":
    main()
