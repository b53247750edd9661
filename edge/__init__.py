"""The lobby service: logbook, API, pages and sync for one guard post."""

__version__ = "0.1.0"
