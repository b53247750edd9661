"""One visit's page at the hub: what the post recorded of the visitor, and its logbook lines
(registered, the resident's answer, checked out, a check-out undone). A visit of a site the
user may not see is 404, and every read is in the audit log (it shows personal data)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service import errors
from service.pages_text import line_text

from ..actions import audit_read, visible_visit
from .base import HubPage

router = APIRouter(include_in_schema=False)


@router.get("/visits/{visit_id}", response_class=HTMLResponse)
def visit_page(visit_id: str, request: Request) -> Response:
    page = HubPage.of_user(request)
    try:
        visit = visible_visit(page.store, page.me, visit_id)
    except errors.NotFound:
        return page.not_found()
    labels = page.labels()
    lines = [
        {**line, "summary": line_text(page._, labels, line)}
        for line in page.store.visit_lines(visit)
    ]
    answer = page.render("visit.html", visit=visit, lines=lines)
    audit_read(page.store, page.me, "visit page", id=visit_id)
    return answer
