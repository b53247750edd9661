"""The demo (called by scripts/demo): Mosquitto with the hub's generated config, the hub, and two
posts at two sites with units, guards, visits and incidents. Data goes to ./demo-data (made
afresh each run). Ports: 1883 (broker), 8000 (hub), 8080 and 8081 (posts), or free ones."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent
EDGE, HUB = str(BIN / "guardpost-edge"), str(BIN / "guardpost-hub")
UNITS = {
    "harbour-view": "unit,intercom,residents\n1A,0101,陳大文\n1B,0102,李美玲\n"
    "2A,0201,Mr and Mrs Wong\n2B,,\n12A,1201,張小姐\n12B,1202,Mr Patel\n",
    "sunrise-court": "unit,intercom,residents\n3楼A,0301,王先生\n3楼B,0302,刘女士\n"
    "5楼A,,\n8楼C,0803,赵老师\n",
}
GUARDS = [("1001", "陳保安", "2468", "guard"), ("9001", "Supervisor Wong", "13579", "supervisor")]
MANAGER = ("manager", "manager-demo-1")
WEBHOOK_SECRET = "demo-webhook-secret"
ANSWER_AFTER_S = "5"  # the simulated resident picks up after this long
WATCHED = "Wong Ka-ho"  # on the demo's watch list: register this name to see the warning
SEVERE_DEADLINE_H = "0.1"  # 6 minutes, so the demo's severe incident goes overdue while you watch
SUPERVISOR_MAIL = "supervisor@example.com"
SUPERVISOR = ("supervisor", "supervisor-demo-1")
HUB_GUARD = ("2002", "李保安", "8642")  # added at the hub, not at a post: works at both
PATROL_SITE = "harbour-view"  # its three checkpoints and a round, walked at /patrol
CHECKPOINTS = (("大堂 Lobby", "G/F"), ("停車場 Car park", "B1"), ("天台 Roof", "R/F"))


def run(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"demo: {' '.join(args[:2])} failed: {result.stderr.strip()}")
    return result.stdout


def values(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def port(preferred: int) -> int:
    """The preferred port if it is free, else any free one."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            sys.exit(f"demo: {url} did not start")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    sys.exit(f"demo: {url} did not answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path("demo-data"))
    parser.add_argument(
        "--seed-only", action="store_true", help="start, seed, print, stop (for a quick check)"
    )
    args = parser.parse_args()
    root: Path = args.dir.resolve()
    if root.exists():
        shutil.rmtree(root)
    hub_data = root / "hub"
    broker_port, hub_port, smtp_port = port(1883), port(8000), port(8025)
    run(HUB, "init", "--data", str(hub_data))
    sites = ["--sites", ",".join(UNITS)]
    for (username, password), role, more in (
        (MANAGER, "manager", []),
        (SUPERVISOR, "supervisor", sites),
    ):
        who = ("--username", username, "--password", password)
        run(HUB, "add-user", "--data", str(hub_data), *who, "--role", role, *more)
    hub_account = values(
        run(HUB, "broker-config", "--data", str(hub_data), "--port", str(broker_port))
    )
    posts: list[dict[str, Any]] = []
    for n, site in enumerate(UNITS):
        account = values(
            run(
                HUB,
                "provision-device",
                "--data",
                str(hub_data),
                "--site",
                site,
                "--device",
                "lobby-1",
            )
        )
        data = root / f"{site}-lobby-1"
        run(
            EDGE,
            "init",
            "--data",
            str(data),
            "--site",
            site,
            "--device",
            "lobby-1",
            "--id-key",
            account["id_key"],
        )
        for badge, name, pin, role in GUARDS:
            run(
                EDGE,
                "add-guard",
                "--data",
                str(data),
                "--badge",
                badge,
                "--name",
                name,
                "--pin",
                pin,
                "--role",
                role,
            )
        (data / "units.csv").write_text(UNITS[site], encoding="utf-8")
        run(EDGE, "import-units", "--data", str(data), str(data / "units.csv"))
        door_key = (
            run(EDGE, "add-key", "--data", str(data), "--scope", "door", "--name", "demo door")
            .strip()
            .splitlines()[-1]
        )
        intercom_key = (
            run(
                EDGE,
                "add-key",
                "--data",
                str(data),
                "--scope",
                "intercom",
                "--name",
                "demo gateway",
            )
            .strip()
            .splitlines()[-1]
        )
        posts.append(
            {
                "site": site,
                "data": data,
                "port": port(8080 + n),
                "account": account,
                "door_key": door_key,
                "intercom_key": intercom_key,
                "gateway_port": port(8099 + n),
            }
        )

    procs: list[subprocess.Popen[bytes]] = []
    logs = root / "logs"
    logs.mkdir()

    def start(name: str, *cmd: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with (logs / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
            )
        procs.append(proc)
        return proc

    mail = root / "mail"
    try:
        start("mosquitto", "mosquitto", "-c", str(hub_data / "broker" / "mosquitto.conf"))
        # a local mail server that keeps every mail as a file in demo-data/mail (Maildir)
        start(
            "smtp",
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{smtp_port}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(mail),
        )
        hub_url = f"http://127.0.0.1:{hub_port}"
        hub = start(
            "hub",
            HUB,
            "serve",
            "--data",
            str(hub_data),
            "--port",
            str(hub_port),
            "--broker",
            f"mqtt://hub:{hub_account['password']}@127.0.0.1:{broker_port}",
            env={
                "GUARDPOST_HUB_ESCALATION_CHECK_S": "3",
                "GUARDPOST_HUB_PUBLIC_URL": f"http://127.0.0.1:{hub_port}",
            },
        )
        wait_http(hub_url, hub)
        watch(hub_url)
        notify(hub_url, smtp_port)
        patrol_round(hub_url)
        as_manager(
            hub_url,
            "/guards",
            {
                "badge": HUB_GUARD[0],
                "name": HUB_GUARD[1],
                "pin": HUB_GUARD[2],
                "role": "guard",
                "sites": [post["site"] for post in posts],
            },
        )
        for post in posts:
            start(
                f"gateway-{post['site']}",
                sys.executable,
                str(Path(__file__).with_name("intercom_gateway.py")),
                "--port",
                str(post["gateway_port"]),
                "--secret",
                WEBHOOK_SECRET,
                "--key",
                post["intercom_key"],
                "--mode",
                "approve",
                "--after",
                ANSWER_AFTER_S,
            )
            broker = (
                f"mqtt://{post['account']['username']}:{post['account']['password']}"
                f"@127.0.0.1:{broker_port}"
            )
            post["url"] = f"http://127.0.0.1:{post['port']}"
            proc = start(
                post["site"],
                EDGE,
                "serve",
                "--data",
                str(post["data"]),
                "--port",
                str(post["port"]),
                "--broker",
                broker,
                "--intercom-webhook",
                f"http://127.0.0.1:{post['gateway_port']}/webhook",
                "--intercom-secret",
                WEBHOOK_SECRET,
                env={"GUARDPOST_DEADLINE_SEVERE_H": SEVERE_DEADLINE_H},
            )
            wait_http(post["url"], proc)
            seed(post["url"], post["door_key"], post["site"])
        print(banner(hub_url, broker_port, posts, root), flush=True)
        print(wait_answered(posts), flush=True)
        print(wait_mail(mail), flush=True)
        print(wait_synced(hub_url, posts), flush=True)
        print(wait_hub_guard(posts), flush=True)
        if args.seed_only:
            time.sleep(2)
            return
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        print("demo: a process stopped; see", logs, file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_answered(posts: list[dict[str, Any]]) -> str:
    """Wait until the simulated residents have answered every seeded request; say so."""
    counts: dict[str, int] = {}
    for _ in range(300):
        counts = {}
        for post in posts:
            token = httpx.post(
                f"{post['url']}/api/v1/auth/login",
                json={"badge": GUARDS[0][0], "pin": GUARDS[0][2]},
            ).json()["token"]
            visits = httpx.get(
                f"{post['url']}/api/v1/visits", headers={"Authorization": f"Bearer {token}"}
            ).json()["visits"]
            for visit in visits:
                status = visit["confirmation"]["status"]
                counts[status] = counts.get(status, 0) + 1
        if not counts.get("pending"):
            break
        time.sleep(0.1)
    return (
        f"demo: the simulated flats were rung and answered: {counts.get('approved', 0)} "
        f"approved, {counts.get('pending', 0)} still pending"
    )


def wait_mail(mail: Path) -> str:
    """Wait until the mail for the seeded severe incident has arrived; say where it is."""
    for _ in range(300):
        if (mail / "new").is_dir() and any((mail / "new").iterdir()):
            return f"demo: the supervisor's mail for a severe incident is in {mail}/new"
        time.sleep(0.1)
    return "demo: no mail yet; see the hub's log"


def as_manager(hub_url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST `body` to the hub's API at `path`, logged in as the demo's manager: the answer."""
    token = httpx.post(
        f"{hub_url}/api/v1/auth/login", json={"username": MANAGER[0], "password": MANAGER[1]}
    ).json()["token"]
    answer = httpx.post(
        f"{hub_url}/api/v1{path}", headers={"Authorization": f"Bearer {token}"}, json=body
    )
    answer.raise_for_status()
    made: dict[str, Any] = answer.json()
    return made


def patrol_round(hub_url: str) -> None:
    """The demo site's three checkpoints and a round past them at the top of every hour (20
    minutes to walk it): a run left unscanned opens an incident at the post."""
    walk = [
        as_manager(hub_url, f"/sites/{PATROL_SITE}/checkpoints", {"name": n, "location": at})["id"]
        for n, at in CHECKPOINTS
    ]
    as_manager(
        hub_url,
        f"/sites/{PATROL_SITE}/rounds",
        {
            "name": "每小時巡邏 Hourly",
            "checkpoints": walk,
            "every_minutes": 60,
            "window_minutes": 20,
            "from": "00:00",
            "to": "23:00",
        },
    )


def notify(hub_url: str, smtp_port: int) -> None:
    """The demo's escalation rule: severe incidents mail the supervisor, opened and overdue."""
    mail = f"mailto://127.0.0.1:{smtp_port}?from=hub@example.com&to={SUPERVISOR_MAIL}&mode=insecure"
    as_manager(
        hub_url,
        "/notify-rules",
        {"severity": "severe", "events": ["opened", "overdue"], "url": mail},
    )


def watch(hub_url: str) -> None:
    """One demo entry on the company's watch list (by name: no ID number in the demo)."""
    reason = "Banned from the estates (demo entry)"
    as_manager(hub_url, "/watchlist", {"name": WATCHED, "reason": reason, "severity": "medium"})


def wait_synced(hub_url: str, posts: list[dict[str, Any]]) -> str:
    """Wait until the hub holds every post's events; say so."""
    token = httpx.post(
        f"{hub_url}/api/v1/auth/login", json={"username": MANAGER[0], "password": MANAGER[1]}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    want = {}
    for post in posts:
        guard = httpx.post(
            f"{post['url']}/api/v1/auth/login", json={"badge": GUARDS[0][0], "pin": GUARDS[0][2]}
        ).json()["token"]
        state = httpx.get(
            f"{post['url']}/api/v1/sync", headers={"Authorization": f"Bearer {guard}"}
        ).json()
        want[post["site"]] = state["last_seq"]
    have: dict[str, int] = {}
    for _ in range(300):
        devices = httpx.get(f"{hub_url}/api/v1/devices", headers=headers).json()["devices"]
        have = {d["site"]: d["acked_seq"] for d in devices}
        if all(have.get(site, 0) >= n for site, n in want.items()):
            total = sum(want.values())
            return f"demo: both posts synced to the hub ({total} events)"
        time.sleep(0.1)
    return f"demo: posts not synced yet: hub has {have}, posts have {want}"


def wait_hub_guard(posts: list[dict[str, Any]]) -> str:
    """Wait until every post has applied the hub's roster, then log in there as the guard the
    hub added (asking the post's settings, not trying the PIN: failures would lock the badge)."""
    for post in posts:
        token = httpx.post(
            f"{post['url']}/api/v1/auth/login", json={"badge": GUARDS[0][0], "pin": GUARDS[0][2]}
        ).json()["token"]
        for _ in range(300):
            settings = httpx.get(
                f"{post['url']}/api/v1/settings", headers={"Authorization": f"Bearer {token}"}
            ).json()
            if settings["versions"]["roster"] >= 1:
                break
            time.sleep(0.1)
        login = httpx.post(
            f"{post['url']}/api/v1/auth/login", json={"badge": HUB_GUARD[0], "pin": HUB_GUARD[2]}
        )
        if login.status_code != 200:
            return f"demo: the guard added at the hub cannot log in yet at {post['url']}"
    return "demo: the guard added at the hub logs in at both posts"


def banner(hub_url: str, broker_port: int, posts: list[dict[str, Any]], root: Path) -> str:
    lines = [
        "",
        "Guardpost demo is running. Ctrl-C stops everything.",
        "",
        f"  Hub (supervisors)        {hub_url}   API docs {hub_url}/docs",
        f"    manager                username {MANAGER[0]}  password {MANAGER[1]}",
        f"    supervisor (both sites) username {SUPERVISOR[0]}  password {SUPERVISOR[1]}",
        f"    reports                {hub_url}/reports (PDF in Chinese: ?lang=zh-Hant)",
        f"    patrol rounds          {hub_url}/sites/{PATROL_SITE}/patrols",
        f"    checkpoint QR codes    {hub_url}/sites/{PATROL_SITE}/checkpoints.pdf (print, scan"
        " or type the code at the post's /patrol)",
    ]
    for post in posts:
        lines.append(f"  Post {post['site']}/lobby-1   {post['url']}   API docs {post['url']}/docs")
        lines.append(
            f"    intercom gateway (simulated) http://127.0.0.1:{post['gateway_port']}"
            f"/received: residents approve after {ANSWER_AFTER_S} s"
        )
    lines += [
        f"    guard                  badge {GUARDS[0][0]}  PIN {GUARDS[0][2]}",
        f"    supervisor             badge {GUARDS[1][0]}  PIN {GUARDS[1][2]}",
        f"    guard added at the hub badge {HUB_GUARD[0]}  PIN {HUB_GUARD[2]} (both posts)",
        f"    watch list             register a visitor named {WATCHED!r} to see it",
        f"  Mail (escalation)        {root / 'mail'}/new: severe incidents mail "
        f"{SUPERVISOR_MAIL} when they open and when overdue "
        f"({float(SEVERE_DEADLINE_H) * 60:g} min in the demo)",
        f"  Broker                   mqtt://127.0.0.1:{broker_port} (accounts in "
        f"{root / 'hub' / 'broker'})",
        f"  Data and logs            {root}",
        "",
    ]
    return "\n".join(lines)


def seed(url: str, door_key: str, site: str) -> None:
    token = httpx.post(
        f"{url}/api/v1/auth/login", json={"badge": GUARDS[0][0], "pin": GUARDS[0][2]}
    ).json()["token"]
    api = httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"})
    first_unit, second_unit, third_unit = [
        line.split(",")[0] for line in UNITS[site].splitlines()[1:4]
    ]
    visits = [
        {
            "visitor_name": "黃志明",
            "unit": first_unit,
            "category": "guest",
            "id_number": "A1234567(8)",
            "party_size": 2,
        },
        {
            "visitor_name": "SF Express courier",
            "unit": second_unit,
            "category": "delivery",
            "company": "SF Express",
        },
        {
            "visitor_name": "Lam Plumbing",
            "unit": third_unit,
            "category": "repair",
            "company": "Lam Plumbing Ltd",
            "purpose": "kitchen leak",
            "vehicle_plate": "AB 1234",
        },
    ]
    ids = [api.post("/visits", json=v).json()["id"] for v in visits]
    api.post(f"/visits/{ids[1]}/checkout", json={})
    incident = api.post(
        "/incidents",
        json={
            "category": "complaint",
            "severity": "medium",
            "title": "樓上裝修噪音",
            "description": "住戶投訴晚上十時後仍在裝修",
            "channel": "phone",
        },
    ).json()
    api.post(
        f"/incidents/{incident['id']}/entries",
        json={"kind": "note", "text": "已記錄投訴要點，稍後上樓查看"},
    )
    api.post(
        "/incidents",
        json={
            "category": "equipment",
            "severity": "minor",
            "title": "Lift B light flickering",
            "location": "Lift B",
        },
    )
    if site == "harbour-view":
        api.post(
            "/incidents",
            json={
                "category": "emergency",
                "severity": "severe",
                "title": "升降機困人 Lift A entrapment",
                "location": "Lift A",
            },
        )
    httpx.post(
        f"{url}/api/v1/door-events",
        headers={"Authorization": f"Bearer {door_key}"},
        json={"door": "car park", "kind": "held_open", "duration_s": 300},
    )
    api.post("/shift-notes", json={"text": "Night shift: all quiet, car park door checked."})


if __name__ == "__main__":
    main()
