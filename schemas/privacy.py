"""The keyed HMAC of an ID number, shared by the edge (registration, repeat visitors) and the
hub (watch list): both sides must turn the same number into the same digest (CONTRACT 6)."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata


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


# A run of letters and digits as an ID or phone number is typed: `A1234567`, `A123456(7)`, and
# digits split by one `-`, `/`, `.` or space (`110101-19900307-1234`, `9123 4567`); words and
# dates around it stay as they are (`lift 2024`, `daily-tower-2-2026-05-01`), and so do
# record ids (UUIDs), matched first.
_DATE_TEXT = r"[0-9]{4}-[0-9]{2}(?:-[0-9]{2})?"
_DATE = re.compile(_DATE_TEXT)
_ID_LIKE = re.compile(
    r"(?P<uuid>\b[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\b)"
    r"|[0-9A-Z](?:[0-9A-Z]|\([0-9A-Z]\)|(?<=[0-9])[-/. ](?=[0-9])(?!"
    + _DATE_TEXT
    + r"(?![0-9])))*",
    re.IGNORECASE,
)


def mask_id_numbers(text: str) -> str:
    """`text` with every part that looks like an ID number (6 or more letters and digits, 4 or
    more of them digits: ID, passport and phone numbers) masked as `mask_id` does; for text
    people typed that is kept, e.g. a search in the hub's audit log. Full-width digits count."""

    def masked(match: re.Match[str]) -> str:
        found = match.group()
        alnum = [c for c in found if c.isalnum()]
        if (
            match.group("uuid")
            or len(alnum) < 6
            or sum(c.isdigit() for c in alnum) < 4
            or _DATE.fullmatch(found)
        ):
            return found
        return mask_id(found)

    return _ID_LIKE.sub(masked, unicodedata.normalize("NFKC", text))


def id_hmac(key: bytes, id_number: str) -> str:
    """Keyed HMAC-SHA256 of the normalised number, for repeat-visitor and watch-list matching."""
    return hmac.new(key, normalise_id(id_number).encode(), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """A short public name of an HMAC key, so two parties can tell whether they share it."""
    return hashlib.sha256(b"guardpost id key " + key).hexdigest()[:16]


def normalise_name(name: str) -> str:
    """A name as the watch list compares it: case, spaces and punctuation ignored."""
    return "".join(c for c in name.casefold() if c.isalnum())
