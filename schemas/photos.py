"""Evidence photos on incidents (CONTRACT section 9): what a photo is (its type told by its first
bytes, never by its name), the data of the `photo.attached` and `photo.purged` events, the
answer of an upload, and the framing of the photo's bytes on `{site}/{device}/blobs`.

A photo is stored by its SHA-256 outside the database, at the post and at the hub. Its bytes
travel to the hub in chunks of at most `CHUNK_BYTES`, each one MQTT message: a JSON header line
(`BlobChunk`), a newline, then the raw bytes of the chunk (no base64: a third less to send and
nothing to decode). The hub answers on `{site}/{device}/blobs/ack` with `BlobAck`.
"""

from __future__ import annotations

import json
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .records import Record

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # CONTRACT 9: at most 10 MB a photo
MAX_BLOB_MESSAGE_BYTES = 256 * 1024  # CONTRACT 9: at most 256 KiB a message
CHUNK_BYTES = 240 * 1024  # the raw bytes of one message: the header line fits in what is left
MAX_HEADER_BYTES = 1024
SHA256 = re.compile(r"^[0-9a-f]{64}$")

# the first bytes of each accepted type (a photo's name and declared type are not believed)
PhotoType = Literal["image/jpeg", "image/png", "image/webp"]
SNIFF_BYTES = 12  # enough of the start of a file to tell its type


def image_type(head: bytes) -> PhotoType | None:
    """The photo's type from its first bytes (`SNIFF_BYTES` of them): JPEG, PNG or WebP."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def is_sha256(text: str) -> bool:
    return SHA256.fullmatch(text) is not None


class PhotoAttachedData(Record):
    """A photo was attached to an incident (record_id is the photo's id); its bytes are
    stored by `sha256` beside the logbook and sent to the hub on the `blobs` topic."""

    incident_id: str
    sha256: str = Field(pattern=SHA256.pattern, description="lowercase hex SHA-256 of the bytes")
    content_type: PhotoType
    size: int = Field(ge=1, le=MAX_PHOTO_BYTES, description="bytes")
    by: str


class PhotoPurgedData(Record):
    """A purge: the files of these photos were deleted past retention (record_id is the
    purge's id); the hub deletes its copies when this event arrives."""

    older_than: str = Field(description="photos attached before this time were deleted")
    photos: list[str] = Field(description="the ids of the photos whose files were deleted")
    by: str


class PhotoOut(Record):
    """`POST /incidents/{id}/photos`: the stored photo."""

    id: str
    sha256: str
    content_type: PhotoType
    size: int


class BlobChunk(BaseModel):
    """The header line of one `blobs` message: which photo and which part of it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    sha256: str = Field(pattern=SHA256.pattern)
    size: int = Field(ge=1, le=MAX_PHOTO_BYTES, description="the whole photo's bytes")
    index: int = Field(ge=0, description="this chunk's place, from 0")
    count: int = Field(ge=1, le=MAX_PHOTO_BYTES // CHUNK_BYTES + 1)


class BlobAck(BaseModel):
    """`{site}/{device}/blobs/ack`: `stored` (the hub holds the bytes: stop sending),
    `refused` (the bytes did not hash to `sha256`: send them again) or `unknown` (no
    `photo.attached` event with that hash yet: send again later)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    sha256: str = Field(pattern=SHA256.pattern)
    state: Literal["stored", "refused", "unknown"]


class UnreadableChunk(ValueError):
    """A `blobs` message that is not a header line and bytes of the size it says."""


def chunk_message(header: BlobChunk, body: bytes) -> bytes:
    """One `blobs` message: the header's JSON, a newline, the raw bytes."""
    return header.model_dump_json().encode() + b"\n" + body


def chunk_count(size: int) -> int:
    return max(1, -(-size // CHUNK_BYTES))


def read_chunk(raw: bytes) -> tuple[BlobChunk, bytes]:
    """A `blobs` message's header and bytes, checked: the size limit, the header's fields,
    and that the bytes are as long as the chunk's place in the photo says."""
    if len(raw) > MAX_BLOB_MESSAGE_BYTES:
        raise UnreadableChunk(f"message of {len(raw)} bytes, over the limit")
    line, newline, body = raw.partition(b"\n")
    if not newline or len(line) > MAX_HEADER_BYTES:
        raise UnreadableChunk("no header line")
    try:
        header = BlobChunk.model_validate(json.loads(line), strict=True)
    except (ValueError, ValidationError):
        raise UnreadableChunk("an unreadable header") from None
    if header.count != chunk_count(header.size) or header.index >= header.count:
        raise UnreadableChunk("a chunk outside its photo")
    want = min(CHUNK_BYTES, header.size - header.index * CHUNK_BYTES)
    if len(body) != want:
        raise UnreadableChunk("a chunk of the wrong length")
    return header, body
