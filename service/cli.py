"""What both command lines share: one line on stderr and exit 2 for every misuse (`run`), the
`--data` option, settings built from flags (flag beats env beats default) and the name rule."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
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


def data_option(envvar: str, whose: str) -> Callable[[F], F]:
    """The `--data DIR` option every command takes (`whose`: "the post's", "the hub's")."""
    return click.option(
        "--data",
        type=click.Path(path_type=Path, file_okay=False),
        envvar=envvar,
        required=True,
        help=f"{whose} data directory (env {envvar})",
    )


def require_initialised(data: Path, is_initialised: Callable[[Path], bool], program: str) -> Path:
    """`data`, or one line saying which `init` to run first."""
    if not is_initialised(data):
        raise CliError(f"{data} is not initialised; run {program} init --data {data} first")
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
