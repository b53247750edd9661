"""A photo attached to an incident at a post, for the incident page's thumbnails: to a user who
may see its site, as in the API (`hub.photos.visible_photo`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service import errors
from service.photo_files import photo_response

from ..photos import visible_photo
from .base import HubPage

router = APIRouter(include_in_schema=False)


@router.get("/photos/{photo_id}")
def photo(photo_id: str, request: Request) -> Response:
    page = HubPage.of_user(request)
    try:
        return photo_response(*visible_photo(request, page.me, photo_id))
    except errors.NotFound:
        return page.not_found()
