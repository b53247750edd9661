"""The hub's store: all of the hub's SQL, one module per group of tables.

Keep SQL in this package and nowhere else: the same SQL runs on SQLite and PostgreSQL, and
`engine` (with `postgres`) holds what differs between them. `schema` (numbered
`migrations/*.sql`, a new hub's directory), `copy` (`migrate-db`), `base` (reads,
transactions), `batches` (ingest), `projection`, `devices`, `reads`, `outbox` (down messages,
watch list), `sites` (site records and their settings), `guards` (the guards and each site's
roster), `rules` (escalation), `accounts`, `search` (and audit), `reports`, `photos`
(evidence photos; their bytes are files); `facade` puts them together.
"""

from .batches import is_database_failure
from .engine import DB_FILE
from .facade import Store
from .schema import connect, create_schema, init_store, is_initialised

__all__ = [
    "DB_FILE",
    "Store",
    "connect",
    "create_schema",
    "init_store",
    "is_database_failure",
    "is_initialised",
]
