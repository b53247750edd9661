"""Patrol rounds at the hub (CONTRACT section 9), for the API and any page alike: a manager adds,
changes and removes a site's checkpoints and rounds (each change audited and sent to the
site's posts), whoever may see the site lists them, and the printable sheet of the
checkpoints' QR codes."""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

import segno
from fastapi import Request

from schemas import models as m
from service import errors

from . import rounds
from .actions import check_site_access, send_down
from .auth import User
from .reports import pdf
from .store import Store


def _known_site(store: Store, user: User, site: str, *, change: bool) -> None:
    check_site_access(user, site, change=change)
    if store.get_site(site) is None:
        raise errors.NotFound(f"no site {site}", loc=("path", "site"))


def add_checkpoint(
    request: Request, store: Store, user: User, site: str, body: m.CheckpointIn
) -> dict[str, Any]:
    """A new checkpoint of the site (manager), with a random code for its QR code."""
    _known_site(store, user, site, change=True)
    checkpoint = store.add_checkpoint(site, body.name, body.location or None, user.ref)
    store.audit(user.username, "add checkpoint", f"{site}: {checkpoint['id']} {body.name}")
    send_down(request)
    return checkpoint


def change_checkpoint(
    request: Request, store: Store, user: User, site: str, checkpoint_id: str, body: m.CheckpointIn
) -> dict[str, Any]:
    """Rename or move a checkpoint (manager); its code and printed card stay valid."""
    _known_site(store, user, site, change=True)
    checkpoint = store.update_checkpoint(site, checkpoint_id, body.name, body.location or None)
    if checkpoint is None:
        raise errors.NotFound(f"no checkpoint {checkpoint_id}", loc=("path", "id"))
    store.audit(user.username, "change checkpoint", f"{site}: {checkpoint_id} {body.name}")
    send_down(request)
    return checkpoint


def remove_checkpoint(
    request: Request, store: Store, user: User, site: str, checkpoint_id: str
) -> None:
    """Remove a checkpoint (manager): its code no longer scans at the posts. 409 while a
    round still walks past it: change or remove the round first."""
    _known_site(store, user, site, change=True)
    if checkpoint_id not in {c["id"] for c in store.checkpoints(site)}:
        raise errors.NotFound(f"no checkpoint {checkpoint_id}", loc=("path", "id"))
    using = [r["name"] for r in store.rounds(site) if checkpoint_id in r["checkpoints"]]
    if using:
        raise errors.Conflict(f"round {using[0]} walks past this checkpoint", loc=("path", "id"))
    store.remove_checkpoint(site, checkpoint_id)
    store.audit(user.username, "remove checkpoint", f"{site}: {checkpoint_id}")
    send_down(request)


def _check_round(store: Store, site: str, body: m.RoundIn) -> None:
    """422 naming the field for a checkpoint of no site's or another's (or a removed one),
    or a window longer than the interval."""
    known = {c["id"] for c in store.checkpoints(site)}
    unknown = [c for c in body.checkpoints if c not in known]
    if unknown:
        raise errors.InvalidValue(
            f"no checkpoint {unknown[0]} at {site}", loc=("body", "checkpoints")
        )
    if body.window_minutes > body.every_minutes:
        raise errors.InvalidValue(
            "window_minutes must not be more than every_minutes", loc=("body", "window_minutes")
        )


def change_round(
    request: Request, store: Store, user: User, site: str, round_id: str, body: m.RoundIn
) -> dict[str, Any]:
    """Replace a round (manager), as `add_round` checks it; past runs keep their schedule."""
    _known_site(store, user, site, change=True)
    _check_round(store, site, body)
    record = store.update_round(site, round_id, body.model_dump(by_alias=True))
    if record is None:
        raise errors.NotFound(f"no round {round_id}", loc=("path", "id"))
    store.audit(user.username, "change round", f"{site}: {round_id} {body.name}")
    send_down(request)
    return record


def remove_round(request: Request, store: Store, user: User, site: str, round_id: str) -> None:
    """Remove a round (manager): the posts stop running it; its past runs stay."""
    _known_site(store, user, site, change=True)
    if not store.remove_round(site, round_id):
        raise errors.NotFound(f"no round {round_id}", loc=("path", "id"))
    store.audit(user.username, "remove round", f"{site}: {round_id}")
    send_down(request)


def add_round(
    request: Request, store: Store, user: User, site: str, body: m.RoundIn
) -> dict[str, Any]:
    """A new round of the site's checkpoints (manager), checked by `_check_round`."""
    _known_site(store, user, site, change=True)
    _check_round(store, site, body)
    record = store.add_round(site, body.model_dump(by_alias=True), user.ref)
    store.audit(
        user.username,
        "add round",
        f"{site}: {record['id']} every {body.every_minutes} min, {len(body.checkpoints)} points",
    )
    send_down(request)
    return record


def list_checkpoints(store: Store, user: User, site: str) -> list[dict[str, Any]]:
    _known_site(store, user, site, change=False)
    return store.checkpoints(site)


def day_runs(store: Store, user: User, site: str, day: date | None) -> list[dict[str, Any]]:
    """The runs of the site's rounds on its local date (default today), with their state."""
    _known_site(store, user, site, change=False)
    return rounds.runs(store, site, day or rounds.site_today(store, site))


def list_rounds(store: Store, user: User, site: str) -> list[dict[str, Any]]:
    _known_site(store, user, site, change=False)
    return store.rounds(site)


def checkpoints_pdf(store: Store, user: User, site: str) -> bytes:
    """The printable sheet: one QR code per checkpoint (its `code`), with its name, location
    and the code in letters for a guard whose phone cannot scan."""
    checkpoints = list_checkpoints(store, user, site)
    name = (store.get_site(site) or {}).get("name", site)
    cards = "".join(
        "<section class=card>"
        + segno.make_qr(c["code"], error="m").svg_inline(scale=6, border=4)
        + f"<h2>{escape(c['name'])}</h2>"
        + (f"<p>{escape(c['location'])}</p>" if c["location"] else "")
        + f"<p class=code>{escape(c['code'])}</p></section>"
        for c in checkpoints
    )
    html = f"""<!doctype html><html><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 12mm; }}
body {{ font-family: "Noto Sans CJK TC", "WenQuanYi Micro Hei", sans-serif; }}
.card {{ display: inline-block; width: 85mm; margin: 0 4mm 8mm 0; text-align: center;
        break-inside: avoid; vertical-align: top; }}
.card svg {{ width: 50mm; height: 50mm; }}
h2 {{ font-size: 14pt; margin: 2mm 0; }}
.code {{ font-family: monospace; font-size: 9pt; }}
</style></head><body><h1>{escape(str(name))}</h1>{cards}</body></html>"""
    return pdf(html)
