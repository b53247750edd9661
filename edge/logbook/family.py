"""What every record family of the logbook shares: the logbook it belongs to and its writer."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .book import Logbook


class Family:
    """One group of records (visits, incidents, ...): owns their SQL, commands and reads."""

    def __init__(self, book: Logbook) -> None:
        self.book = book
        self.writer = book.writer
