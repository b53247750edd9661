"""A photo upload (`multipart/form-data`, field `file`) read as it streams in: the bytes go
straight to a temporary file beside the photos while their SHA-256 is computed, the type is
told from the first bytes (JPEG, PNG, WebP; not the name or the declared type) and the upload
is refused as soon as it passes 10 MB (413) or its first bytes are not an image (415), before
the rest is read. Small fields beside it (a page's `csrf`) are kept."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from schemas.photos import MAX_PHOTO_BYTES, SNIFF_BYTES, PhotoType, image_type

from . import errors
from .photo_files import PhotoFiles

FILE_FIELD = "file"
MAX_FIELD_BYTES = 1024  # a CSRF token, nothing larger


@dataclass
class Upload:
    """A received photo in its temporary file, not yet kept (`PhotoFiles.keep`)."""

    sha256: str
    size: int
    content_type: PhotoType
    temp: Path
    fields: dict[str, str]

    def discard(self) -> None:
        self.temp.unlink(missing_ok=True)


@dataclass
class _Reader:
    files: PhotoFiles
    max_bytes: int
    name: str = ""
    out: IO[bytes] | None = None
    temp: Path | None = None
    size: int = 0
    head: bytes = b""
    content_type: PhotoType | None = None
    digest: Any = field(default_factory=hashlib.sha256)
    fields: dict[str, bytearray] = field(default_factory=dict)
    headers: dict[bytes, bytes] = field(default_factory=dict)
    _header: bytes = b""
    _value: bytes = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self._header.lower()] = self._value
        self._header, self._value = b"", b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = params.get(b"name", b"").decode("utf-8", "replace")
        self.headers = {}
        if self.name == FILE_FIELD:
            if self.out is not None:
                raise errors.InvalidValue("send one file", loc=("body", FILE_FIELD))
            self.out, self.temp = self.files.temp()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.name != FILE_FIELD:
            value = self.fields.setdefault(self.name, bytearray())
            if len(value) + len(chunk) > MAX_FIELD_BYTES:
                raise errors.InvalidValue("too long", loc=("body", self.name))
            value += chunk
            return
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise errors.TooLarge(
                f"a photo is at most {self.max_bytes} bytes", loc=("body", FILE_FIELD)
            )
        if self.content_type is None:
            self.head += chunk[: SNIFF_BYTES - len(self.head)]
            if len(self.head) >= SNIFF_BYTES:
                self._sniff()
        self.digest.update(chunk)
        assert self.out is not None
        self.out.write(chunk)

    def _sniff(self) -> None:
        self.content_type = image_type(self.head)
        if self.content_type is None:
            raise errors.UnsupportedType(
                "a photo must be a JPEG, PNG or WebP image", loc=("body", FILE_FIELD)
            )

    def finish(self) -> Upload:
        if self.out is None or self.temp is None or self.size == 0:
            raise errors.InvalidValue("choose a photo", loc=("body", FILE_FIELD))
        if self.content_type is None:
            self._sniff()  # a file shorter than SNIFF_BYTES: not an image we take
        self.out.flush()
        os.fsync(self.out.fileno())
        self.out.close()
        assert self.content_type is not None
        return Upload(
            self.digest.hexdigest(),
            self.size,
            self.content_type,
            self.temp,
            {k: v.decode("utf-8", "replace") for k, v in self.fields.items()},
        )

    def abandon(self) -> None:
        if self.out is not None:
            self.out.close()
        if self.temp is not None:
            self.temp.unlink(missing_ok=True)


async def receive_photo(
    request: Request, files: PhotoFiles, max_bytes: int = MAX_PHOTO_BYTES
) -> Upload:
    """Read the request's photo into a temporary file (see the module); refuses with 413, 415
    or 422 (no `file`, not multipart) and leaves nothing behind when it does."""
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise errors.UnsupportedType(
            "send the photo as multipart/form-data, field file", loc=("body", FILE_FIELD)
        )
    reader = _Reader(files, max_bytes)
    callbacks: Any = {
        "on_header_field": reader.on_header_field,
        "on_header_value": reader.on_header_value,
        "on_header_end": reader.on_header_end,
        "on_headers_finished": reader.on_headers_finished,
        "on_part_data": reader.on_part_data,
    }
    parser = MultipartParser(boundary, callbacks)
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        return reader.finish()
    except errors.GuardpostError:
        reader.abandon()
        raise
    except Exception:
        reader.abandon()  # a broken multipart body: nothing kept
        raise errors.InvalidValue("not a readable form", loc=("body", FILE_FIELD)) from None
