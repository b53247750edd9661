"""`guardpost-edge restore --from-hub`: a replacement post for a dead one. Fetches the device's
events from the hub (`GET /api/v1/devices/{site}/{device}/events`, a manager's token), appends
them as they are (`book.restore`), and asks the hub to send the site's current settings,
directory, roster, watch list and rounds again. The post then continues at the next seq, so
the hub sees a continuation of the chain, not tampering."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode

from service import errors

from .logbook import Logbook

PAGE = 5000  # the hub's largest page
TIMEOUT_S = 60.0


class HubRefused(errors.GuardpostError):
    """The hub did not answer, or not with the device's events."""


def _call(url: str, token: str, method: str = "GET") -> dict[str, Any]:
    request = urllib.request.Request(
        url, method=method, headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:  # noqa: S310
            body: dict[str, Any] = json.loads(answer.read())
            return body
    except urllib.error.HTTPError as exc:
        why = {
            401: "refused the token",
            403: "refused the token: it must be a hub manager's",
            404: "has no such post",
        }.get(exc.code, f"answered {exc.code}")
        raise HubRefused(f"the hub {why}; nothing was restored") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise HubRefused(f"cannot reach the hub ({reason}); nothing was restored") from None


def fetch_events(hub_url: str, token: str, site: str, device: str) -> list[dict[str, Any]]:
    """Every event the hub holds of `site/device`, in seq order."""
    base = f"{hub_url.rstrip('/')}/api/v1/devices/{quote(site)}/{quote(device)}"
    events: list[dict[str, Any]] = []
    after: int | None = 0
    while after is not None:
        page = _call(f"{base}/events?{urlencode({'after': after, 'limit': PAGE})}", token)
        events.extend(page["events"])
        after = page["next_after"]
    return events


def restore_from_hub(book: Logbook, hub_url: str, token: str) -> int:
    """Restore a freshly initialised post from the hub; the number of events restored."""
    if count := book.restore.event_count():
        raise errors.AlreadyInitialised(
            f"{book.data} already has {count} events; restore only into a data directory"
            " freshly made by init"
        )
    events = fetch_events(hub_url, token, book.site, book.device)
    if not events:
        raise HubRefused(f"the hub holds no events of {book.site}/{book.device}; nothing to do")
    restored = book.restore.import_now(events)
    base = f"{hub_url.rstrip('/')}/api/v1/devices/{quote(book.site)}/{quote(book.device)}"
    _call(f"{base}/resend", token, method="POST")
    return restored
