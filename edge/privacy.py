"""Personal data: the ID number is only ever kept masked and as a keyed HMAC (CONTRACT 6)."""

from __future__ import annotations

import secrets

from schemas.privacy import id_hmac, mask_id, normalise_id

__all__ = ["id_hmac", "mask_id", "new_salt", "normalise_id"]


def new_salt() -> str:
    """The random `salt` of an event's `pii`, so its digest cannot be guessed from a name."""
    return secrets.token_hex(16)
