"""Patrol rounds (CONTRACT section 9): a manager defines, changes and removes each site's
checkpoints and rounds, which reach every post of the site as a versioned `patrols` message;
whoever may see the site lists them, prints the checkpoints' QR codes and sees the day's runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
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


@router.put(
    "/sites/{site}/checkpoints/{checkpoint_id}",
    tags=["patrols"],
    responses={403: {}, 404: {}, 422: {}},
)
def put_checkpoint(
    site: str,
    checkpoint_id: str,
    body: m.CheckpointIn,
    request: Request,
    user: CurrentUser,
    store: StoreDep,
) -> m.Checkpoint:
    """Manager only: rename or move a checkpoint. Its code (and the printed card) stays; the
    posts get the new name with a new version."""
    return m.Checkpoint.model_validate(
        patrols.change_checkpoint(request, store, user, site, checkpoint_id, body)
    )


@router.delete(
    "/sites/{site}/checkpoints/{checkpoint_id}",
    status_code=204,
    tags=["patrols"],
    responses={403: {}, 404: {}, 409: {}},
)
def delete_checkpoint(
    site: str, checkpoint_id: str, request: Request, user: CurrentUser, store: StoreDep
) -> Response:
    """Manager only: remove a checkpoint. Once the new version reaches a post its code is 404
    there; history keeps its name. 409 while a round walks past it (change the round first)."""
    patrols.remove_checkpoint(request, store, user, site, checkpoint_id)
    return Response(status_code=204)


@router.put(
    "/sites/{site}/rounds/{round_id}", tags=["patrols"], responses={403: {}, 404: {}, 422: {}}
)
def put_round(
    site: str, round_id: str, body: m.RoundIn, request: Request, user: CurrentUser, store: StoreDep
) -> m.Round:
    """Manager only: replace a round (the same body and checks as `POST`). Runs from now on
    follow the new schedule; the hub shows past runs as they were scheduled."""
    return m.Round.model_validate(patrols.change_round(request, store, user, site, round_id, body))


@router.delete(
    "/sites/{site}/rounds/{round_id}",
    status_code=204,
    tags=["patrols"],
    responses={403: {}, 404: {}},
)
def delete_round(
    site: str, round_id: str, request: Request, user: CurrentUser, store: StoreDep
) -> Response:
    """Manager only: remove a round; the posts stop running it, its past runs stay."""
    patrols.remove_round(request, store, user, site, round_id)
    return Response(status_code=204)


@router.get("/sites/{site}/patrols", tags=["patrols"], responses={404: {}, 422: {}})
def get_site_rounds(
    site: str,
    user: CurrentUser,
    store: StoreDep,
    date: Annotated[m.Day | None, Query(description="the site's local date; default today")] = None,
) -> m.PatrolDay:
    """Each run of the site's rounds that starts on the site's local date, in time order,
    as on a post's `GET /patrols`: checkpoints with each one's first scan at any post of
    the site, `due_at` and the state (`done`, `open`, `late`, `missed`)."""
    return m.PatrolDay.model_validate({"rounds": patrols.day_runs(store, user, site, date)})
