"""The guard's patrol page (`/patrol`, CONTRACT section 9), on the tablet and on the phone the
guard carries: the round going on now and what is left of it, what is late or missed today,
and a form to enter a checkpoint's code (the code its QR code holds), which the camera fills in
and sends when it reads the QR code (`service/static/camera.js`, docs/patrol.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from schemas import models as m
from schemas.ids import now_text
from service import errors

from .base import Page

router = APIRouter(include_in_schema=False)


def patrol_context(page: Page) -> dict[str, Any]:
    """Today's runs, split into the ones going on now, the late or missed ones, and the next."""
    runs, now = page.book.patrols.day(page.book.today()), now_text()
    return {
        "current": [r for r in runs if r["starts_at"] <= now < r["due_at"]],
        "behind": [r for r in runs if r["state"] in ("late", "missed")][-10:],
        "upcoming": [r for r in runs if r["starts_at"] > now][:1],
        "has_rounds": bool(runs),
    }


@router.get("/patrol", response_class=HTMLResponse)
def patrol_page(request: Request, scanned: str | None = None) -> Response:
    page = Page.of_user(request)
    scan = page.book.patrols.get_scan(scanned) if scanned else None
    return page.render("patrol.html", **patrol_context(page), scan=scan, values={}, errors={})


@router.post("/patrol", response_class=HTMLResponse)
async def scan_code(request: Request) -> Response:
    page = Page.of_user(request)
    form = await page.checked_form()
    scan, field_errors = page.validate(m.ScanIn, {"code": form.get("code", "")})
    if scan is not None:
        try:
            done = await page.book.patrols.scan(scan.code, None, page.me)
        except errors.NotFound:
            field_errors["code"] = page._("No checkpoint has this code.")
        else:
            return RedirectResponse(f"/patrol?scanned={done['id']}", status_code=303)
    return page.render("patrol.html", 422, **patrol_context(page), values=form, errors=field_errors)
