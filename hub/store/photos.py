"""Evidence photos at the hub (CONTRACT section 9): the `photos` table, the projection of the
posts' `photo.attached` and `photo.purged` events. The bytes are files named by their SHA-256
(`service.photo_files`); this module says which bytes a post may send (those of a photo it
attached, not purged), records that they arrived, and which files a purge leaves to delete."""

from __future__ import annotations

from typing import Any

from schemas.ids import now_text

from .base import StoreBase

PHOTO_COLUMNS = "id, site, device, incident_id, sha256, content_type, size, attached_at, purged_at"


class Photos(StoreBase):
    """The `photos` table."""

    def expected_photo(self, site: str, device: str, sha256: str) -> dict[str, Any] | None:
        """What the hub knows of the bytes a post sends: `size` and whether every photo of
        that hash is `purged`; None when the post attached no photo with that hash."""
        row = self._read.execute(
            "SELECT MAX(size) AS size, MIN(CASE WHEN purged_at IS NULL THEN 0 ELSE 1 END)"
            " AS purged FROM photos WHERE site = ? AND device = ? AND sha256 = ?",
            (site, device, sha256),
        ).fetchone()
        if row is None or row["size"] is None:
            return None
        return {"size": int(row["size"]), "purged": bool(row["purged"])}

    def mark_photo_stored(self, site: str, device: str, sha256: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE photos SET stored_at = ? WHERE site = ? AND device = ? AND sha256 = ?"
                " AND stored_at IS NULL AND purged_at IS NULL",
                (now_text(), site, device, sha256),
            )

    def get_photo(self, photo_id: str) -> dict[str, Any] | None:
        """A photo with its site and whether its bytes are here (`stored`)."""
        row = self._read.execute(
            f"SELECT {PHOTO_COLUMNS}, stored_at FROM photos WHERE id = ?", (photo_id,)
        ).fetchone()
        return None if row is None else dict(row)

    def incident_photos(self, incident_id: str) -> list[dict[str, Any]]:
        rows = self._read.execute(
            f"SELECT {PHOTO_COLUMNS}, stored_at FROM photos WHERE incident_id = ?"
            " ORDER BY attached_at, id",
            (incident_id,),
        )
        return [dict(r) for r in rows]

    def purged_photo_files(self, stored_before: str) -> list[str]:
        """Hashes whose file is kept though every photo of that hash was purged, and that
        arrived before `stored_before` (the hub's clock: a post's purge never deletes here a
        photo younger than the hub's minimum retention, whatever the post's clock says)."""
        rows = self._read.execute(
            "SELECT DISTINCT sha256 FROM photos WHERE purged_at IS NOT NULL"
            " AND stored_at IS NOT NULL AND stored_at < ? AND sha256 NOT IN"
            " (SELECT sha256 FROM photos WHERE purged_at IS NULL)",
            (stored_before,),
        )
        return [str(r[0]) for r in rows]

    def forget_photo_file(self, sha256: str) -> None:
        """The file of these purged photos was deleted."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE photos SET stored_at = NULL WHERE sha256 = ? AND purged_at IS NOT NULL",
                (sha256,),
            )
