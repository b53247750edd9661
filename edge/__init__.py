"""The lobby service: logbook, API, pages and sync for one guard post."""

from service import __version__

__all__ = ["__version__"]
