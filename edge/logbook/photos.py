"""Evidence photos on incidents: attaching one (its file kept by hash, then its `photo.attached`
event), reading them, which one the blob sender sends next, and deleting them past retention
(`photo.purged`). The bytes live in `DIR/photos/<sha256>` (`service.photo_files`), never in the
database; `photos` is the events' projection."""

from __future__ import annotations

import sqlite3
from typing import Any

from schemas.ids import new_id, now_text
from schemas.photos import PhotoAttachedData, PhotoPurgedData
from service import errors
from service.photo_files import PhotoFiles
from service.uploads import Upload

from .actors import SYSTEM, Actor
from .family import Family, LogbookParts

PHOTO_COLUMNS = "id, sha256, content_type, size, attached_at, purged_at"


def photo_out(row: sqlite3.Row) -> dict[str, Any]:
    """A photo as the API and pages show it (`purged_at`: its file was deleted)."""
    return {name: row[name] for name in PHOTO_COLUMNS.split(", ")}


class Photos(Family):
    """`book.photos`: each incident's photos, their files and their way to the hub."""

    def __init__(self, book: LogbookParts, files: PhotoFiles) -> None:
        super().__init__(book)
        self.files = files

    def check_incident(self, incident_id: str) -> None:
        """NotFound (404) for an incident the post does not have."""
        row = self.book.reader.execute("SELECT 1 FROM incidents WHERE id = ?", (incident_id,))
        if row.fetchone() is None:
            raise errors.NotFound(f"no incident {incident_id}", loc=("path", "id"))

    async def attach(self, incident_id: str, upload: Upload, by: Actor) -> dict[str, Any]:
        """Keep the upload's file under its hash, then append `photo.attached`. A crash
        between the two leaves a file no event names: the next upload of the same bytes
        reuses it, and `sweep_now` removes it at the next start."""
        photo_id = new_id()
        try:
            self.check_incident(incident_id)
            self.files.keep(upload.temp, upload.sha256)
        except BaseException:
            upload.discard()
            raise

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            row = conn.execute("SELECT 1 FROM incidents WHERE id = ?", (incident_id,))
            if row.fetchone() is None:
                raise errors.NotFound(f"no incident {incident_id}", loc=("path", "id"))
            self.writer.append(
                conn,
                "photo.attached",
                photo_id,
                PhotoAttachedData(
                    incident_id=incident_id,
                    sha256=upload.sha256,
                    content_type=upload.content_type,
                    size=upload.size,
                    by=by.ref,
                ),
            )
            return {
                "id": photo_id,
                "sha256": upload.sha256,
                "content_type": upload.content_type,
                "size": upload.size,
            }

        try:
            return await self.writer.run(work)
        except BaseException:
            if not self._is_named(upload.sha256):
                self.files.delete(upload.sha256)  # nothing half-written stays behind
            raise

    def _is_named(self, sha256: str) -> bool:
        row = self.book.reader.execute(
            "SELECT 1 FROM photos WHERE sha256 = ? AND purged_at IS NULL", (sha256,)
        )
        return row.fetchone() is not None

    def get(self, photo_id: str) -> dict[str, Any]:
        row = self.book.reader.execute(
            f"SELECT {PHOTO_COLUMNS} FROM photos WHERE id = ?", (photo_id,)
        ).fetchone()
        if row is None:
            raise errors.NotFound(f"no photo {photo_id}", loc=("path", "id"))
        return photo_out(row)

    def content(self, photo_id: str) -> tuple[bytes, str]:
        """A photo's bytes and type; NotFound when it is unknown or was purged."""
        photo = self.get(photo_id)
        if photo["purged_at"] is not None or not self.files.has(photo["sha256"]):
            raise errors.NotFound(f"photo {photo_id} was deleted", loc=("path", "id"))
        return self.files.read(photo["sha256"]), str(photo["content_type"])

    def of_incident(self, incident_id: str) -> list[dict[str, Any]]:
        rows = self.book.reader.execute(
            f"SELECT {PHOTO_COLUMNS} FROM photos WHERE incident_id = ? ORDER BY attached_at, id",
            (incident_id,),
        )
        return [photo_out(r) for r in rows]

    # ---- to the hub -------------------------------------------------------------------------

    def to_send(self, limit: int = 200) -> list[dict[str, Any]]:
        """The oldest photos whose bytes the hub does not hold yet and whose `photo.attached`
        event it has acked (so it knows the hash to check), oldest first."""
        rows = self.book.reader.execute(
            "SELECT p.sha256, p.size FROM photos p JOIN events e ON e.record_id = p.id"
            " AND e.type = 'photo.attached' WHERE p.sent_at IS NULL AND p.purged_at IS NULL"
            " AND e.seq <= (SELECT acked_seq FROM sync_state) ORDER BY e.seq LIMIT ?",
            (limit,),
        )
        return [{"sha256": r["sha256"], "size": r["size"]} for r in rows]

    def unsent(self) -> int:
        row = self.book.reader.execute(
            "SELECT COUNT(*) FROM photos WHERE sent_at IS NULL AND purged_at IS NULL"
        )
        return int(row.fetchone()[0])

    def mark_sent_now(self, sha256: str) -> None:
        """The hub holds these bytes: no photo with this hash is sent again."""
        self.writer.write(
            lambda conn: conn.execute(
                "UPDATE photos SET sent_at = ? WHERE sha256 = ? AND sent_at IS NULL",
                (now_text(), sha256),
            )
        )

    # ---- retention --------------------------------------------------------------------------

    def purge_now(self, cutoff: str, by: Actor = SYSTEM) -> int:
        """Delete the files of photos attached before `cutoff` (the retention purge's), after
        a `photo.purged` event naming them; returns how many."""

        def work(conn: sqlite3.Connection) -> tuple[int, list[str]]:
            rows = conn.execute(
                "SELECT id, sha256 FROM photos WHERE attached_at < ? AND purged_at IS NULL"
                " ORDER BY attached_at, id",
                (cutoff,),
            ).fetchall()
            if rows:
                ids = [r["id"] for r in rows]
                data = PhotoPurgedData(older_than=cutoff, photos=ids, by=by.ref)
                self.writer.append(conn, "photo.purged", new_id(), data)
            return len(rows), sorted({r["sha256"] for r in rows})

        count, hashes = self.writer.write(work)
        for sha256 in hashes:  # after the commit: a crash before leaves a file `sweep` removes
            if not self._is_named(sha256):
                self.files.delete(sha256)
        return count

    def sweep_now(self) -> int:
        """Remove the files a crash left (see `PhotoFiles.sweep`); at start, before uploads."""
        rows = self.book.reader.execute("SELECT sha256 FROM photos WHERE purged_at IS NULL")
        return self.files.sweep(r[0] for r in rows)
