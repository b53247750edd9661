"""Evidence photos (CONTRACT section 9): the bytes of one, to a user who may see its site."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from service.photo_files import PHOTO_ANSWERS, photo_response

from ..photos import visible_photo
from .deps import CurrentUser

router = APIRouter()


@router.get(
    "/photos/{photo_id}",
    tags=["incidents"],
    responses=PHOTO_ANSWERS,
    response_class=Response,
)
def get_photo(photo_id: str, request: Request, user: CurrentUser) -> Response:
    """A photo attached to an incident at a post, once its bytes have arrived: 404 for a site
    the user may not see, for bytes not here yet and for a photo deleted past retention."""
    return photo_response(*visible_photo(request, user, photo_id))
