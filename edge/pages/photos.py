"""Evidence photos on the tablet: the incident page's "add photo" form (the plain upload, and
the one `photo.js` sends after making the photo smaller) and a photo itself, for the page's
thumbnails. The upload is read as the API reads it (`service.uploads`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service import errors
from service.pages import CsrfRefused
from service.photo_files import photo_response
from service.uploads import receive_photo

from .base import Page
from .incidents import no_such_incident, render_incident

router = APIRouter(include_in_schema=False)


@router.post("/incidents/{incident_id}/photos", response_class=HTMLResponse)
async def attach_photo(incident_id: str, request: Request) -> Response:
    page = Page.of_user(request)
    try:
        page.book.photos.check_incident(incident_id)
    except errors.NotFound:
        return no_such_incident(page)
    try:
        upload = await receive_photo(request, page.book.photos.files)
    except errors.TooLarge:
        message = page._("This photo is larger than 10 MB. Take it again at a smaller size.")
        return render_incident(page, incident_id, 413, photo_error=message)
    except errors.GuardpostError as exc:
        message = page._("Choose a photo: a JPEG, PNG or WebP image.")
        return render_incident(page, incident_id, exc.status, photo_error=message)
    if not page.csrf_ok(upload.fields):
        upload.discard()
        raise CsrfRefused(page)
    await page.book.photos.attach(incident_id, upload, page.me)
    return RedirectResponse(f"/incidents/{incident_id}#photos", status_code=303)


@router.get("/photos/{photo_id}")
def photo(photo_id: str, request: Request) -> Response:
    page = Page.of_user(request)
    try:
        return photo_response(*page.book.photos.content(photo_id))
    except errors.NotFound:
        return page.render("message.html", 404, message=page._("There is no such photo."))
