"""Photos stored by their SHA-256 outside the database, at the post and at the hub alike:
`DIR/photos/<sha256>`. A file is written whole or not at all: into a temporary file in the same
directory, fsynced, then renamed to its hash (and the directory fsynced), so a crash leaves at
most a temporary file (removed by `sweep`) or a complete file no event names yet (reused by the
next upload of the same bytes, or removed by `sweep`)."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from starlette.responses import Response

from schemas.photos import is_sha256

log = logging.getLogger(__name__)
TEMP_PREFIX = ".incoming-"
STALE_TEMP_S = 3600.0  # a temporary file this old belongs to no upload still running


class PhotoFiles:
    """The photo files of one data directory."""

    def __init__(self, data: Path) -> None:
        self.root = data / "photos"

    def path(self, sha256: str) -> Path:
        if not is_sha256(sha256):  # a name from a message: never a path of its choosing
            raise ValueError("not a SHA-256")
        return self.root / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def temp(self) -> tuple[IO[bytes], Path]:
        """A new temporary file beside the photos (same file system: the rename is atomic)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=self.root)
        return os.fdopen(fd, "wb"), Path(name)

    def keep(self, temp: Path, sha256: str) -> Path:
        """Rename a written and fsynced temporary file to its hash, durably."""
        target = self.path(sha256)
        os.replace(temp, target)  # the same bytes again replace the same bytes
        self._sync_dir()
        return target

    def write(self, data: bytes, sha256: str) -> Path:
        """Store `data` (already checked to hash to `sha256`) whole or not at all."""
        out, temp = self.temp()
        try:
            with out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            return self.keep(temp, sha256)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def delete(self, sha256: str) -> bool:
        """Remove a photo's file; True if there was one."""
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        self._sync_dir()
        return True

    def sweep(self, named: Iterable[str], stale_s: float = STALE_TEMP_S) -> int:
        """Remove what a crash may leave: temporary files older than `stale_s`, and files whose
        hash no photo names (`named`: the hashes of photos not purged). Returns how many."""
        if not self.root.is_dir():
            return 0
        keep, now, removed = set(named), time.time(), 0
        for path in self.root.iterdir():
            is_temp = path.name.startswith(TEMP_PREFIX)
            if is_temp and now - path.stat().st_mtime < stale_s:
                continue
            if is_temp or (is_sha256(path.name) and path.name not in keep):
                path.unlink(missing_ok=True)
                removed += 1
        if removed:
            log.info("photo files swept", extra={"removed": removed})
        return removed

    def _sync_dir(self) -> None:
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)  # the rename itself survives a power cut
        finally:
            os.close(fd)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# what `GET /photos/{id}` answers, at post and hub, for their OpenAPI documents
PHOTO_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}},
    404: {"description": "no such photo, not here yet, or deleted past retention"},
}


def photo_response(content: bytes, content_type: str) -> Response:
    """A photo as an answer: its own type, never sniffed, never cached for another user."""
    return Response(
        content,
        media_type=content_type,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"},
    )
