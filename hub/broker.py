"""Mosquitto 2.x configuration for the hub's broker: config, password file and ACL.

Each device may publish only its own `events`, `status` and `blobs` (photo bytes), read only
its own `ack` and `blobs/ack` and its site's `down`; the hub account reads and writes
everything under `guardpost/v1/`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

from schemas.topics import (
    ack_topic,
    blob_ack_topic,
    blobs_topic,
    down_topic,
    events_topic,
    status_topic,
)

HUB_USER = "hub"
PBKDF2_ITERATIONS = 1000


def mosquitto_hash(password: str) -> str:
    """The `$7$` PBKDF2-SHA512 form that mosquitto_passwd writes (Mosquitto 2.x)."""
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    return (
        f"$7${PBKDF2_ITERATIONS}${base64.b64encode(salt).decode()}"
        f"${base64.b64encode(digest).decode()}"
    )


def new_password() -> str:
    return secrets.token_urlsafe(24)


def device_username(site: str, device: str) -> str:
    return f"{site}.{device}"


def write_broker_files(
    directory: Path, port: int, hub_hash: str, devices: list[dict[str, Any]]
) -> Path:
    """Write mosquitto.conf, passwd and acl into `directory`; returns the config's path."""
    directory = directory.resolve()  # mosquitto resolves relative paths from its own cwd
    directory.mkdir(parents=True, exist_ok=True)
    passwd = directory / "passwd"
    acl = directory / "acl"
    lines = [f"{HUB_USER}:{hub_hash}"] + [f"{d['mqtt_username']}:{d['mqtt_hash']}" for d in devices]
    _write_private(passwd, "\n".join(lines) + "\n")
    rules = [
        f"user {HUB_USER}",
        "topic readwrite guardpost/v1/#",
        "",
    ]
    for d in devices:
        site, device = d["site"], d["device"]
        rules += [
            f"user {d['mqtt_username']}",
            f"topic write {events_topic(site, device)}",
            f"topic write {status_topic(site, device)}",
            f"topic write {blobs_topic(site, device)}",
            f"topic read {ack_topic(site, device)}",
            f"topic read {blob_ack_topic(site, device)}",
            f"topic read {down_topic(site)}",
            "",
        ]
    _write_private(acl, "\n".join(rules))
    conf = directory / "mosquitto.conf"
    conf.write_text(
        "# written by guardpost-hub broker-config / provision-device; do not edit by hand\n"
        "per_listener_settings false\n"
        f"listener {port}\n"
        "allow_anonymous false\n"
        f"password_file {passwd}\n"
        f"acl_file {acl}\n"
        "persistence true\n"
        f"persistence_location {directory}/\n"
        "max_inflight_messages 100\n"
        "max_queued_messages 10000\n"
        "max_packet_size 300000\n",  # batches are at most 256 KiB
        encoding="utf-8",
    )
    return conf


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # the broker never reads a half-written file
