"""The post's photo API (CONTRACT section 9): a guard attaches an evidence photo to an incident,
and reads one back. The upload is read as it streams in (`service.uploads`): its own cap of
10 MB (`PHOTO_PATHS`, every other body stays at 128 KiB), the type told by its first bytes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from schemas import models as m
from schemas.photos import MAX_PHOTO_BYTES
from service.http import COMMON_ERRORS
from service.photo_files import PHOTO_ANSWERS, photo_response
from service.uploads import receive_photo

from .api import CurrentGuard, LogbookDep

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS)

# the paths whose body may be a photo, with room for the form around it (multipart headers,
# a page's CSRF token); the file itself is held to MAX_PHOTO_BYTES as it streams in
PHOTO_PATHS = {
    r"/api/v1/incidents/[^/]+/photos": MAX_PHOTO_BYTES + 64 * 1024,
    r"/incidents/[^/]+/photos": MAX_PHOTO_BYTES + 64 * 1024,
}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.post(
    "/incidents/{incident_id}/photos",
    status_code=201,
    tags=["incidents"],
    responses={404: {}, 413: {}, 415: {}, 422: {}},
    openapi_extra=UPLOAD_BODY,
)
async def attach_photo(
    incident_id: str, request: Request, guard: CurrentGuard, book: LogbookDep
) -> m.PhotoOut:
    """Attach an evidence photo (`multipart/form-data`, field `file`): JPEG, PNG or WebP, told
    by its bytes (not its name or declared type), at most 10 MB. 413 for a larger one (refused
    as it streams in), 415 for another type, 404 for an unknown incident; nothing is kept of a
    refused upload. The photo is stored by its SHA-256 beside the logbook, recorded by a
    `photo.attached` event and sent to the hub; it is personal data, deleted past retention."""
    book.photos.check_incident(incident_id)  # before the body is read
    upload = await receive_photo(request, book.photos.files)
    return m.PhotoOut.model_validate(await book.photos.attach(incident_id, upload, guard))


@router.get(
    "/photos/{photo_id}",
    tags=["incidents"],
    responses=PHOTO_ANSWERS,
    response_class=Response,
)
def get_photo(photo_id: str, guard: CurrentGuard, book: LogbookDep) -> Response:
    """The photo's bytes with its type; 404 for an unknown photo or one deleted past
    retention."""
    content, content_type = book.photos.content(photo_id)
    return photo_response(content, content_type)
