"""`guardpost-hub`: the hub's commands (ingest and API arrive with the sync issue)."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="guardpost")
def main() -> None:
    """Guardpost hub: every post's logbook in one place (not built yet)."""
