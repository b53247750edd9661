"""The edge's logbook: all of the edge's SQL. `writer.py` appends every event (the only place
that does); one module per record family owns its tables, commands and reads."""

from .actors import SYSTEM, Actor
from .book import Logbook, opened
from .database import init_data_dir, is_initialised, verify_logbook
from .family import DoorPolicy
from .retention import purge_cutoff

__all__ = [
    "SYSTEM",
    "Actor",
    "DoorPolicy",
    "Logbook",
    "init_data_dir",
    "is_initialised",
    "opened",
    "purge_cutoff",
    "verify_logbook",
]
