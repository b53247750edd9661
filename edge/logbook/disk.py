"""The post's disk: how much is free where its database lives, and the reserve below which the
post refuses new records (a 507 before the disk is really full, so the post's own bookkeeping,
acks, the hub's messages and the purge, still has room to write)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from service import errors

log = logging.getLogger(__name__)

MB = 1024 * 1024
SMALL_DISK = 64 * MB


def free_mb(path: Path) -> int:
    """Megabytes free to this process on the file system holding `path`."""
    return shutil.disk_usage(path).free // MB


def size_text(n: int) -> str:
    """`n` bytes as a person reads them: whole MB, or KB below one MB."""
    return f"{n // MB} MB" if n >= MB else f"{n // 1024} KB"


class DiskReserve:
    """Refuses new records while less than the reserve is free beside the database."""

    def __init__(self, path: Path, reserve_mb: int) -> None:
        self.path = path
        self.reserve_mb = reserve_mb
        self._was_low = False

    def free_mb(self) -> int:
        return free_mb(self.path)

    def reserve_bytes(self, total: int | None = None) -> int:
        """`reserve_mb`, but never more than a tenth of the file system, and none on one under
        64 MB (a RAM disk, a test's tmpfs): there a reserve would refuse nearly from the start,
        and the post answers 507 when the disk is really full instead."""
        total = shutil.disk_usage(self.path).total if total is None else total
        if self.reserve_mb <= 0 or total < SMALL_DISK:
            return 0
        return min(self.reserve_mb * MB, total // 10)

    def is_low(self) -> bool:
        """True while less than the reserve is free (never with a reserve of 0)."""
        usage = shutil.disk_usage(self.path)  # one statvfs per write checked
        return usage.free < self.reserve_bytes(usage.total)

    def check(self) -> None:
        """DiskFull (507) while the reserve is reached; nothing is written then."""
        if not self.is_low():
            if self._was_low:
                log.info("disk space above the reserve again: new records are accepted")
            self._was_low = False
            return
        if not self._was_low:
            log.error(
                "disk space below the reserve: new records are refused",
                extra={"free_mb": self.free_mb(), "reserve_bytes": self.reserve_bytes()},
            )
        self._was_low = True
        raise errors.DiskFull(
            f"the post's disk is nearly full (less than {size_text(self.reserve_bytes())} free);"
            " nothing was saved. Free some space, then try again"
        )
