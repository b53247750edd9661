"""Personal data: the ID number is only ever kept masked and as a keyed HMAC (CONTRACT 6); an
event's personal part (`pii`) has a random salt, and an incident's holds its free text and the
people it names."""

from __future__ import annotations

import secrets
from typing import Any

from schemas.models import IncidentPii, TextPii
from schemas.privacy import id_hmac, mask_id, normalise_id

__all__ = ["id_hmac", "incident_pii", "mask_id", "new_salt", "normalise_id", "text_pii"]


def new_salt() -> str:
    """The random `salt` of an event's `pii`, so its digest cannot be guessed from a name."""
    return secrets.token_hex(16)


def incident_pii(body: dict[str, Any], visitor_name: str | None = None) -> IncidentPii | None:
    """The personal part of an incident: its title, location and description as typed and the
    people it names (None when there is none), purged with retention like a visitor's."""
    fields = {
        "description": body.get("description") or None,
        "title": body.get("title") or None,
        "location": body.get("location") or None,
        "complainant_name": body.get("complainant_name") or None,
        "complainant_unit": body.get("complainant_unit") or None,
        "complainant_phone": body.get("complainant_phone") or None,
        "visitor_name": visitor_name or None,
    }
    if not any(fields.values()):
        return None
    return IncidentPii(salt=new_salt(), **fields)


def text_pii(text: str | None = None, reason: str | None = None) -> TextPii | None:
    """The personal part of an entry, a shift note or a reason given: a person's words, which
    can name someone (None when there are none)."""
    if not (text or reason):
        return None
    return TextPii(salt=new_salt(), text=text or None, reason=reason or None)
