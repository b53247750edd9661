"""`guardpost-edge install`: the systemd units that run a post on a Raspberry Pi with nobody
looking after it: `serve` restarted always, as its own user, with the file system read-only but
for its data directory; a daily purge and backup (the newest N kept); optionally Chromium in
kiosk mode on the post's page, for a Pi with its own touchscreen. docs/deploy.md walks through it.

`--dry-run` prints the units and writes nothing; `--root DIR` writes them under DIR instead of
`/` and neither creates the user nor calls systemctl (packaging, tests)."""

from __future__ import annotations

import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

UNIT_DIR = Path("etc/systemd/system")
ENV_FILE = Path("etc/guardpost/edge.env")
SERVE_UNIT = "guardpost-edge.service"
DAILY_UNIT = "guardpost-edge-daily.service"
DAILY_TIMER = "guardpost-edge-daily.timer"
KIOSK_UNIT = "guardpost-kiosk.service"

# what the service never needs: it only reads its program, writes its data directory, and talks
# TCP (the tablet, the broker, the intercom gateway)
HARDENING = """\
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={data}
ProtectHome={protect_home}
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
SystemCallArchitectures=native
CapabilityBoundingSet=
UMask=0077
"""


@dataclass(frozen=True)
class Post:
    """What the units are made of."""

    data: Path
    user: str
    host: str
    port: int
    keep: int
    program: Path  # this venv's guardpost-edge
    kiosk_user: str | None = None
    browser: Path = Path("/usr/bin/chromium")
    kiosk_url: str = ""  # default: the post on this Pi, http://127.0.0.1:PORT/


def program_path() -> Path:
    """The `guardpost-edge` of the environment this runs in (the venv's)."""
    return Path(sys.executable).parent / "guardpost-edge"


def unit_files(post: Post) -> dict[str, str]:
    """Each unit's file name and text."""
    protect_home = "read-only" if post.program.is_relative_to("/home") else "yes"
    if post.program.is_relative_to("/root"):
        protect_home = "read-only"
    hardening = HARDENING.format(data=post.data, protect_home=protect_home)
    run = f"{post.program} %s --data {post.data}"
    units = {
        SERVE_UNIT: f"""\
[Unit]
Description=Guardpost edge: the lobby post's logbook service
After=network-online.target time-sync.target
Wants=network-online.target

[Service]
Type=simple
User={post.user}
Group={post.user}
# the broker URL (with its password), TLS files and other GUARDPOST_ settings, mode 0600
EnvironmentFile=-/{ENV_FILE}
ExecStart={run % "serve"} --host {post.host} --port {post.port}
Restart=always
RestartSec=5
TimeoutStopSec=30
{hardening}
[Install]
WantedBy=multi-user.target
""",
        DAILY_UNIT: f"""\
[Unit]
Description=Guardpost edge: daily purge of personal data and backup
After={SERVE_UNIT}

[Service]
Type=oneshot
User={post.user}
Group={post.user}
EnvironmentFile=-/{ENV_FILE}
# a purge refused (a clock behind the logbook) must not stop the backup: "-" ignores it
ExecStart=-{run % "purge"}
ExecStart={run % "backup"} --to {post.data / "backups"} --keep {post.keep}
{hardening}""",
        DAILY_TIMER: """\
[Unit]
Description=Guardpost edge: the daily purge and backup at 03:30

[Timer]
OnCalendar=*-*-* 03:30:00
RandomizedDelaySec=15min
Persistent=true

[Install]
WantedBy=timers.target
""",
    }
    if post.kiosk_user:
        units[KIOSK_UNIT] = f"""\
[Unit]
Description=Guardpost: the post's page in Chromium kiosk mode on the Pi's own screen
After={SERVE_UNIT} graphical.target
Wants={SERVE_UNIT}

[Service]
User={post.kiosk_user}
Environment=DISPLAY=:0
ExecStart={post.browser} --kiosk --noerrdialogs --disable-infobars --no-first-run \
--password-store=basic {post.kiosk_url or f"http://127.0.0.1:{post.port}/"}
Restart=always
RestartSec=5

[Install]
WantedBy=graphical.target
"""
    return units


def write_units(post: Post, root: Path) -> list[Path]:
    """Write the units (and an empty environment file, if there is none) under `root`."""
    written = []
    unit_dir = root / UNIT_DIR
    unit_dir.mkdir(parents=True, exist_ok=True)
    for name, text in unit_files(post).items():
        path = unit_dir / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o644)
        written.append(path)
    env = root / ENV_FILE
    if not env.exists():
        env.parent.mkdir(parents=True, exist_ok=True)
        env.touch(mode=0o600)
        env.write_text("# GUARDPOST_BROKER=mqtts://SITE.DEVICE:PASSWORD@hub.example:8883\n")
        written.append(env)
    return written


def ensure_user(user: str, data: Path) -> bool:
    """Create the post's system user if missing (True if created); give it the data dir."""
    created = False
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--home-dir", str(data), "--no-create-home"]
            + ["--shell", "/usr/sbin/nologin", user],
            check=True,
            capture_output=True,
        )
        created = True
    (data / "backups").mkdir(exist_ok=True)
    shutil.chown(data, user, user)
    for path in data.rglob("*"):
        shutil.chown(path, user, user)
    return created


def enable(units: list[str]) -> bool:
    """`systemctl enable --now` the service and the timer where systemd runs; False if not."""
    if not Path("/run/systemd/system").is_dir():
        return False
    subprocess.run(["systemctl", "daemon-reload"], check=True)
    subprocess.run(["systemctl", "enable", "--now", *units], check=True)
    return True
