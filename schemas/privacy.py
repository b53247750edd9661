"""The keyed HMAC of an ID number, shared by the edge (registration, repeat visitors) and the
hub (watch list): both sides must turn the same number into the same digest (CONTRACT 6)."""

from __future__ import annotations

import hashlib
import hmac


def normalise_id(id_number: str) -> str:
    """Upper case letters and digits only: `a123456(7)` and `A 123456 7` are the same person."""
    return "".join(c for c in id_number.upper() if c.isalnum())


def mask_id(id_number: str) -> str:
    """Keep the first character and the last 4 letters/digits, star the rest, keep punctuation.

    `A1234567(8)` -> `A****567(8)`; `110101199003071234` -> `1*************1234`.
    """
    text = "".join(id_number.upper().split())
    alnum_positions = [i for i, c in enumerate(text) if c.isalnum()]
    shown = set(alnum_positions[:1]) | set(alnum_positions[-4:] if len(alnum_positions) > 5 else [])
    return "".join(c if (i in shown or not c.isalnum()) else "*" for i, c in enumerate(text))


def id_hmac(key: bytes, id_number: str) -> str:
    """Keyed HMAC-SHA256 of the normalised number, for repeat-visitor and watch-list matching."""
    return hmac.new(key, normalise_id(id_number).encode(), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """A short public name of an HMAC key, so two parties can tell whether they share it."""
    return hashlib.sha256(b"guardpost id key " + key).hexdigest()[:16]


def normalise_name(name: str) -> str:
    """A name as the watch list compares it: case, spaces and punctuation ignored."""
    return "".join(c for c in name.casefold() if c.isalnum())
