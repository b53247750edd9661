"""`backup`: a consistent copy of a post's database while `serve` runs (SQLite's online backup
API, in one read transaction: a snapshot of one moment, never a half-written group), checked
(`integrity_check` and the hash chain) before it takes its final name, and the last N kept.

The copy holds the database only: the ID-number HMAC key (`id-hmac.key`) is a separate file of
the data directory, kept with it once (docs/deploy.md, "Backups")."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from schemas.ids import utc_now
from service import errors

from .database import DB_FILE, open_checked, verify_chain

BACKUP_GLOB = "guardpost-*.db"


@dataclass(frozen=True)
class Backup:
    path: Path
    events: int
    last_seq: int
    removed: tuple[Path, ...] = ()


def backup_file(to: Path, site: str, device: str) -> Path:
    """`to` itself, or a new dated file in it when `to` is a directory."""
    if not to.is_dir():
        return to
    stamp = utc_now().strftime("%Y%m%dT%H%M%S%fZ")
    return to / f"guardpost-{site}-{device}-{stamp}.db"


def back_up(data: Path, to: Path, keep: int | None = None) -> Backup:
    """Copy DATA's database to `to` (a file, or a directory for a dated file); with `keep`
    and a directory, remove all but the newest `keep` backups there."""
    source = open_checked(data / DB_FILE)  # read-only: the backup never writes to the post
    try:
        meta = dict(source.execute("SELECT key, value FROM meta").fetchall())
        target = backup_file(to, meta["site"], meta["device"])
        if not target.parent.is_dir():
            raise errors.InvalidValue(f"--to: {target.parent} is not a directory")
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)  # all pages in one step: one read transaction, one moment
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            copy.close()
    finally:
        source.close()
    events, last_seq = _check_copy(partial)
    with partial.open("rb") as file:
        os.fsync(file.fileno())
    partial.chmod(0o600)  # it holds visitors' personal data, like the database
    partial.replace(target)
    removed: tuple[Path, ...] = ()
    if keep is not None and to.is_dir():
        old = sorted(to.glob(BACKUP_GLOB), key=lambda p: p.name)[:-keep]
        for path in old:
            path.unlink()
        removed = tuple(old)
    return Backup(target, events, last_seq, removed)


def _check_copy(path: Path) -> tuple[int, int]:
    """(events, last seq) of a copy that passed integrity_check and the chain; else it is
    removed and StorageFailed says why."""
    try:
        conn = open_checked(path, "integrity_check")
        try:
            events, bad = verify_chain(conn)
            last_seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        finally:
            conn.close()
        if bad is not None:
            raise errors.DamagedDatabase(f"its chain breaks at seq {bad}")
    except errors.DamagedDatabase as exc:
        path.unlink(missing_ok=True)
        raise errors.StorageFailed(
            f"the copy did not verify ({exc.msg}); nothing was kept"
        ) from None
    return events, int(last_seq)
