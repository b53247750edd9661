"""`Store`: the one object the hub's services hold. Each family of tables has its own module
(batches, devices, reads, outbox, sites, rules, accounts, search, reports, photos); this
class only puts them together, so a caller writes `store.ingest(...)` or
`store.list_visits(...)` alike."""

from __future__ import annotations

from .accounts import Accounts
from .batches import Batches
from .commands import Commands
from .patrol_history import PatrolHistory
from .photos import Photos
from .reads import Reads
from .reports import Reports
from .rules import Rules
from .search import SearchAudit


class Store(Batches, Reads, Rules, Accounts, SearchAudit, Reports, Commands, PatrolHistory, Photos):
    """The hub's database. Reads on per-thread connections; ingest on one writer connection."""
