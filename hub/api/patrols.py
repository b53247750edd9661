"""Patrol rounds (CONTRACT section 9): a manager defines each site's checkpoints and rounds,
which reach every post of the site as a versioned `patrols` message; whoever may see the site
lists them and prints the checkpoints' QR codes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from schemas import models as m

from .. import patrols
from .deps import CurrentUser, StoreDep

router = APIRouter()


@router.post(
    "/sites/{site}/checkpoints",
    status_code=201,
    tags=["patrols"],
    responses={403: {}, 404: {}, 422: {}},
)
def post_checkpoint(
    site: str, body: m.CheckpointIn, request: Request, user: CurrentUser, store: StoreDep
) -> m.CheckpointCreated:
    """Manager only: a new checkpoint of the site. `code` is random and URL-safe: the string
    its printed QR code holds, which a guard scans at the post."""
    return m.CheckpointCreated.model_validate(
        patrols.add_checkpoint(request, store, user, site, body)
    )


@router.get("/sites/{site}/checkpoints", tags=["patrols"], responses={404: {}})
def get_checkpoints(site: str, user: CurrentUser, store: StoreDep) -> m.CheckpointList:
    """The site's checkpoints with their codes (anyone who may see the site)."""
    return m.CheckpointList.model_validate(
        {"checkpoints": patrols.list_checkpoints(store, user, site)}
    )


@router.get(
    "/sites/{site}/checkpoints.pdf",
    tags=["patrols"],
    responses={200: {"content": {"application/pdf": {}}}, 404: {}},
    response_class=Response,
)
async def get_checkpoints_pdf(site: str, user: CurrentUser, store: StoreDep) -> Response:
    """A printable A4 sheet: one QR code per checkpoint with its name (and its code in
    letters), to stick up where the guard must pass."""
    body = await run_in_threadpool(patrols.checkpoints_pdf, store, user, site)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="checkpoints-{site}.pdf"'},
    )


@router.post(
    "/sites/{site}/rounds", status_code=201, tags=["patrols"], responses={403: {}, 404: {}, 422: {}}
)
def post_round(
    site: str, body: m.RoundIn, request: Request, user: CurrentUser, store: StoreDep
) -> m.Round:
    """Manager only: a round of the site's checkpoints, in the order walked, run every
    `every_minutes` from `from` to `to` (HH:MM, the site's local time; `to` before `from`
    runs past midnight), each run's window `window_minutes` long (at most `every_minutes`).
    A run whose window closes with a checkpoint unscanned opens an incident at the post."""
    return m.Round.model_validate(patrols.add_round(request, store, user, site, body))


@router.get("/sites/{site}/rounds", tags=["patrols"], responses={404: {}})
def get_rounds(site: str, user: CurrentUser, store: StoreDep) -> m.RoundList:
    """The site's rounds (anyone who may see the site)."""
    return m.RoundList.model_validate({"rounds": patrols.list_rounds(store, user, site)})
