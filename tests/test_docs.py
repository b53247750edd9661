"""The docs stay true: every command, option and GUARDPOST_ variable is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.cli import cli as edge_cli
from edge.settings import EdgeSettings
from hub.cli import cli as hub_cli
from hub.settings import HubSettings

ROOT = Path(__file__).resolve().parent.parent
CONFIG = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("cli", [edge_cli, hub_cli], ids=["edge", "hub"])
def test_every_command_and_option_is_documented(cli: object) -> None:
    for name, command in cli.commands.items():  # type: ignore[attr-defined]
        assert f"`{name} " in CONFIG, name
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help":
                    assert opt in CONFIG, f"{name} {opt}"


def test_every_setting_has_its_variable_documented() -> None:
    for field in EdgeSettings.model_fields:
        assert f"`GUARDPOST_{field.upper()}`" in CONFIG, field
    for field in HubSettings.model_fields:
        assert f"`GUARDPOST_HUB_{field.upper()}`" in CONFIG, field


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```sh", 1)[1].split("```", 1)[0]
    assert [line.split()[0] for line in block.strip().splitlines()] == [
        "scripts/demo",
        "scripts/test",
    ]
    for doc in (
        "docs/logbook.md",
        "docs/api.md",
        "docs/configuration.md",
        "docs/performance.md",
        "docs/sync.md",
    ):
        assert doc in readme and (ROOT / doc).exists(), doc
