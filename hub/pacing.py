"""How much of a post's batch one turn stores while hundreds of posts wait: no resends at a
hub that is alive and working (issue 19).

The ingest worker serves the waiting posts one batch each in turn, and a post resends what no
ack answered within 10 s (later, thrice as long as its last ack took). When hundreds of posts
connect at once, each with a window of full batches, one round of a full batch each can take
longer than that: 200 posts x 500 events at PostgreSQL's 4,000 events/s is 25 s, and every post
not served in the first 10 s resends. So while a round of full batches would take longer than
`ROUND_S` at the rate this worker stores, a post's turn stores only its share of its batch: at
first what lets every waiting post be served within `ROUND_S`, then twice as much each turn, and
the rest of the batch waits at the head of the post's queue. Each part stored is acked (an ack
is cumulative), so the post sees progress within seconds, and each round is at most twice as
long as the one before, within the post's thrice-as-long wait. Once a post's share reaches a
full batch its batches are stored whole again; a post that comes online again starts over.
A hub that keeps up (a round under `ROUND_S`) never splits a batch.
"""

from __future__ import annotations

from schemas.messages import UnreadableMessage
from schemas.prepared import Prepared

from .preparing import Arrived

ROUND_S = 4.0  # a round of every waiting post's turn, at most, before a post's first ack
LEAST = 50  # events: a share is never smaller (the per-part work of a transaction)
WHOLE = 500  # a share this large is a whole batch (`edge.sync` asks for 500 events)
Device = tuple[str, str]
Taken = tuple[str, str, Arrived, Prepared | UnreadableMessage]


class Pacer:
    """The worker's storing rate, and each post's share of a turn while it ramps up."""

    def __init__(self) -> None:
        self.rate: float | None = None  # events/s of the ingest worker while it has work
        self._shares: dict[Device, int] = {}  # the next turn's, of posts ramping up
        self._whole: set[Device] = set()  # posts ramped up: stored whole until back online

    def measured(self, events: int, seconds: float) -> None:
        """A group stored `events` in `seconds`."""
        if events > 0 and seconds > 0:
            now = events / seconds
            self.rate = now if self.rate is None else 0.8 * self.rate + 0.2 * now

    def forget(self, device: Device) -> None:
        """The post came online: it starts over, its window full of batches again."""
        self._shares.pop(device, None)
        self._whole.discard(device)

    def share(self, device: Device, posts: int, events: int) -> int | None:
        """How many events of a post's batches (`events` in the first) to store in this
        turn, `posts` posts waiting; None: all (a round is short enough, or it ramped up)."""
        if device in self._whole:
            return None
        share = self._shares.get(device)
        if share is None:
            if self.rate is None or posts * events <= self.rate * ROUND_S:
                return None
            share = max(LEAST, int(self.rate * ROUND_S / posts))
        if share * 2 >= WHOLE:
            self._shares.pop(device, None)
            self._whole.add(device)
        else:
            self._shares[device] = share * 2
        return share

    def portion(self, taken: list[Taken], posts: int) -> tuple[list[Taken], list[Taken]]:
        """`taken` (a group, each batch prepared) as what to store now and what waits for a
        later turn: the rest of a batch cut to its post's share, and that post's batches
        after it in the group."""
        now: list[Taken] = []
        later: list[Taken] = []
        left: dict[Device, int | None] = {}  # of each post's share of this turn
        cut: set[Device] = set()
        for site, device, arrived, payload in taken:
            key = (site, device)
            if key in cut:
                later.append((site, device, arrived, payload))
                continue
            if not isinstance(payload, Prepared):  # rejected whole by the store
                now.append((site, device, arrived, payload))
                continue
            count = len(payload.batch["events"])
            if key not in left:
                left[key] = self.share(key, posts, count)
            share = left[key]
            if share is None or count <= share:
                now.append((site, device, arrived, payload))
                left[key] = None if share is None else share - count
                continue
            cut.add(key)
            if share <= 0:
                later.append((site, device, arrived, payload))
                continue
            head, tail = payload.split(share)
            now.append((site, device, arrived, head))
            # the rest, counted in a group's bytes as the whole batch was
            later.append((site, device, Arrived(arrived.raw), tail))
        return now, later


def keep(batches: list[Taken]) -> list[tuple[str, str, Arrived]]:
    """Batches read already, to be put back in their posts' queues: kept as read."""
    kept = []
    for site, device, arrived, payload in batches:
        arrived.prepared = payload
        kept.append((site, device, arrived))
    return kept


__all__ = ["Pacer", "keep"]
