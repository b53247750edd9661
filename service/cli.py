"""What both command lines share: one line on stderr and exit 2 for every misuse (`run`), the
`--data` option, settings built from flags (flag beats env beats default) and the name rule."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from schemas.topics import NAME_RULE, is_safe_name

from . import errors

S = TypeVar("S", bound=BaseSettings)
F = TypeVar("F", bound=Callable[..., Any])


class CliError(click.ClickException):
    exit_code = 2


def command_group(help: str) -> click.Group:
    """A service's command group, with `--version` and `--help`."""
    group = click.Group("cli", help=help)
    return click.version_option(package_name="guardpost")(group)


@dataclass(frozen=True)
class DataDir:
    """The `--data DIR` option every command takes (`@DATA`), and the check that `init` made it."""

    envvar: str
    whose: str  # "the post's", "the hub's"
    program: str  # the command to run `init` with
    is_initialised: Callable[[Path], bool]

    def __call__(self, command: F) -> F:
        return click.option(
            "--data",
            type=click.Path(path_type=Path, file_okay=False),
            envvar=self.envvar,
            required=True,
            help=f"{self.whose} data directory (env {self.envvar})",
        )(command)

    def initialised(self, data: Path) -> Path:
        """`data`, or one line saying which `init` to run first."""
        if not self.is_initialised(data):
            raise CliError(
                f"{data} is not initialised; run {self.program} init --data {data} first"
            )
        return data


def build_settings(cls: type[S], **flags: Any) -> S:
    """The service's settings: a flag given beats the environment, which beats the default;
    a bad value is one line naming the setting."""
    try:
        return cls(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CliError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def check_name(option: str, value: str) -> None:
    """A site or device id must be safe in MQTT topics and file names (`schemas.topics`)."""
    if not is_safe_name(value):
        raise CliError(f"{option} must be {NAME_RULE}, e.g. harbour-view or lobby-1")


def run(group: click.Group) -> None:
    """Run a command group: every error, usage errors included, is one line and exit 2."""
    try:
        group.main(standalone_mode=False)
    except click.UsageError as exc:
        click.echo(f"Error: {exc.format_message()}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except errors.GuardpostError as exc:  # a damaged database, a clock behind the log, ...
        click.echo(f"Error: {exc.msg}", err=True)
        sys.exit(2)
    except sqlite3.DatabaseError as exc:
        click.echo(
            f"Error: the database cannot be read ({exc}); is DIR a Guardpost data directory?",
            err=True,
        )
        sys.exit(2)
    except PermissionError as exc:
        click.echo(f"Error: permission denied: {exc.filename}", err=True)
        sys.exit(2)
