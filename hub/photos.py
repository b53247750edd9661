"""Who may see a photo at the hub: whoever may see its incident's site (another site's photo is
404, as its incident is); a read of one is audited, as every read of personal data."""

from __future__ import annotations

from starlette.requests import Request

from service import errors
from service.photo_files import PhotoFiles

from .actions import audit_read
from .auth import User
from .store import Store


def visible_photo(request: Request, user: User, photo_id: str) -> tuple[bytes, str]:
    """The photo's bytes and type; NotFound for another site's photo, an unknown one, one
    whose bytes have not arrived from the post yet, or one deleted past retention."""
    store: Store = request.app.state.store
    files: PhotoFiles = request.app.state.photo_files
    photo = store.get_photo(photo_id)
    if photo is None or not user.may_see(photo["site"]):
        raise errors.NotFound(f"no photo {photo_id}", loc=("path", "id"))
    if photo["purged_at"] is not None or not files.has(photo["sha256"]):
        raise errors.NotFound(f"photo {photo_id} is not here", loc=("path", "id"))
    content = files.read(photo["sha256"])
    audit_read(store, user, "photo", id=photo_id)
    return content, str(photo["content_type"])
