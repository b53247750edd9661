"""`guardpost-edge`: set up a post, add guards and keys, import units, serve, verify, purge.
Only calls into the logbook and app; every misuse is one line on stderr and exit 2."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import click
from pydantic import BaseModel, ValidationError

from schemas.directory import UnitsCsvError, parse_units_csv
from schemas.models import TextRules
from service import errors
from service.cli import CliError, DataDir, build_settings, check_name, command_group, run
from service.passwords import check_secret, hash_secret

from .auth import SCOPES, Auth, is_valid_pin
from .logbook import init_data_dir, is_initialised, opened, verify_logbook

DATA = DataDir("GUARDPOST_DATA", "the post's", "guardpost-edge", is_initialised)


cli = command_group("Guardpost edge: the lobby post's logbook service.")


def main() -> None:
    run(cli)


@cli.command()
@DATA
@click.option("--site", required=True, help="site id, e.g. harbour-view")
@click.option("--device", required=True, help="device id within the site, e.g. lobby-1")
@click.option(
    "--id-key",
    default=None,
    envvar="GUARDPOST_ID_KEY",
    help="the company's ID-number HMAC key (64 hex digits, from the hub's "
    "provision-device), so the hub's watch list matches here; default: a key of "
    "this post's own",
)
def init(data: Path, site: str, device: str, id_key: str | None) -> None:
    """Create the post's database and secrets in DATA."""
    check_name("--site", site)
    check_name("--device", device)
    key = None
    if id_key is not None:
        try:
            key = bytes.fromhex(id_key.strip())
        except ValueError:
            key = b""
        if len(key) != 32:
            raise CliError("--id-key must be 64 hex digits")
    try:
        created = init_data_dir(data, site, device, id_key=key)
    except errors.GuardpostError as exc:
        raise CliError(exc.msg) from None
    click.echo(f"{'initialised' if created else 'already initialised'} {data} for {site}/{device}")


@cli.command("add-guard")
@DATA
@click.option("--badge", required=True)
@click.option("--name", required=True)
@click.option("--pin", required=True, help="4 to 8 digits")
@click.option("--role", type=click.Choice(["guard", "supervisor"]), default="guard")
def add_guard(data: Path, badge: str, name: str, pin: str, role: str) -> None:
    """Add a guard (or change their name, role or PIN: a new PIN or role ends their sessions)."""
    if not is_valid_pin(pin):
        raise CliError("--pin must be 4 to 8 digits")
    try:
        who = GuardIn.model_validate({"badge": badge, "name": name})
    except ValidationError as exc:
        raise CliError(_option_problem(exc)) from None
    with opened(DATA.initialised(data)) as book:
        before = book.accounts.get_guard(who.badge)
        changed = before is not None and (
            before["role"] != role or not check_secret(before["pin_hash"], pin)
        )
        created, ended = book.accounts.add_guard_now(
            who.badge, who.name, role, hash_secret(pin), end_sessions=changed
        )
    click.echo(
        f"{'added' if created else 'updated'} {role} {who.badge}"
        + (f"; {ended} open session{'s' if ended != 1 else ''} ended" if ended else "")
    )


class GuardIn(BaseModel):
    """What `add-guard` takes besides the PIN, checked as the API checks a login's badge."""

    badge: Annotated[str, TextRules(64)]
    name: Annotated[str, TextRules(200)]


def _option_problem(exc: ValidationError) -> str:
    """A model's first complaint as one line naming the option (never echoing the value)."""
    error = exc.errors()[0]
    option = "--" + str(error["loc"][0]) if error["loc"] else "a value"
    message = str(error["msg"])
    return f"{option}: {message[:1].lower()}{message[1:]}"


@cli.command("add-key")
@DATA
@click.option("--scope", type=click.Choice(SCOPES), required=True)
@click.option("--name", required=True, help="what uses the key, e.g. 'front door controller'")
def add_key(data: Path, scope: str, name: str) -> None:
    """Create an API key; printed once, as the last line, and stored only hashed."""
    with opened(DATA.initialised(data)) as book:
        key = Auth(book).create_key(scope, name)
    click.echo(f"created {scope} key {name!r}; keep it now, it is not shown again:")
    click.echo(key)


@cli.command("import-units")
@DATA
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def import_units(data: Path, file: Path) -> None:
    """Upsert units from a CSV with header unit,intercom,residents."""
    DATA.initialised(data)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CliError(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{file}: cannot read it as UTF-8 text ({exc.__class__.__name__})") from None
    try:
        rows = [row for _, row in parse_units_csv(text)]
    except UnitsCsvError as exc:
        raise CliError(f"{file}: {exc}") from None
    with opened(data) as book:
        added, updated = book.directory.import_now(rows)
    click.echo(f"{added} added, {updated} updated")


@cli.command()
@DATA
@click.option("--host", default=None, help="listen address (default 127.0.0.1)")
@click.option("--port", type=int, default=None, help="port (default 8080)")
@click.option("--broker", default=None, help="mqtt://USER:PASS@HOST:PORT; without it: offline")
@click.option("--intercom-webhook", default=None, help="URL the intercom gateway listens on")
@click.option("--intercom-secret", default=None, help="HMAC secret for the webhook")
@click.option("--confirm-timeout", type=float, default=None, help="seconds a resident has")
@click.option(
    "--public-url", default=None, help="how the gateway reaches this post (the webhook's callback)"
)
@click.option("--ssl-certfile", type=click.Path(path_type=Path), default=None, help="HTTPS: PEM")
@click.option("--ssl-keyfile", type=click.Path(path_type=Path), default=None, help="its key")
def serve(data: Path, **flags: Any) -> None:
    """Run the post's service (API and pages)."""
    import uvicorn

    from service.logs import UVICORN_LOG_CONFIG, mask_url, setup_logging

    from .app import create_app
    from .settings import EdgeSettings

    DATA.initialised(data)
    settings = build_settings(EdgeSettings, data=data, **flags)
    setup_logging()
    app = create_app(settings)
    click.echo(
        f"guardpost-edge serving {app.state.book.site}/{app.state.book.device} on "
        f"http{'s' if settings.ssl_certfile else ''}://{settings.host}:{settings.port}"
        + (f" via {mask_url(settings.broker)}" if settings.broker else " (offline, no broker)"),
        err=True,
    )
    # the post faces the lobby LAN directly (no proxy), and errors are logged, not each request;
    # open live pages (server-sent events) hold a shutdown 5 s at most
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=UVICORN_LOG_CONFIG,
        proxy_headers=False,
        access_log=False,
        timeout_graceful_shutdown=5,
        ssl_certfile=settings.ssl_certfile,
        ssl_keyfile=settings.ssl_keyfile,
    )


@cli.command()
@DATA
def verify(data: Path) -> None:
    """Check the logbook's hash chain: exit 0 if intact, 1 naming the first bad seq."""
    count, bad = verify_logbook(DATA.initialised(data))  # read-only: never writes to what it checks
    if bad is None:
        click.echo(f"ok {count} events")
        return
    click.echo(f"broken at seq {bad}: the chain is intact only up to seq {bad - 1}")
    sys.exit(1)


@cli.command()
@DATA
@click.option(
    "--older-than",
    type=click.IntRange(min=0),
    default=None,
    help="days to keep personal data (default: the hub's retention_days once delivered, else"
    " GUARDPOST_RETENTION_DAYS, 30)",
)
@click.option(
    "--trust-clock",
    is_flag=True,
    help="the post's clock was checked: judge age by it alone, not also by the log",
)
def purge(data: Path, older_than: int | None, trust_clock: bool) -> None:
    """Remove visitors' and incidents' personal data and photos past retention; the chain still
    verifies."""
    from .settings import EdgeSettings

    local_days = EdgeSettings(data=data).retention_days
    with opened(DATA.initialised(data), retention_days=local_days) as book:
        days = older_than if older_than is not None else book.settings.effective()["retention_days"]
        removed = book.retention.purge_now(days, trust_clock=trust_clock)
        photos = book.photos.purge_now(removed["cutoff"])
    incidents = f" and {removed['incidents']} incidents" if removed["incidents"] else ""
    click.echo(
        f"purged personal data of {removed['visits']} visits{incidents} "
        f"({removed['events']} events) older than {days} days"
    )
    if photos:
        click.echo(f"deleted {photos} photos older than {days} days")


@cli.command()
@DATA
@click.option(
    "--to",
    "to",
    type=click.Path(path_type=Path),
    required=True,
    help="the backup file, or a directory for a dated file in it",
)
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    default=None,
    help="with a directory: keep only the newest KEEP backups in it",
)
def backup(data: Path, to: Path, keep: int | None) -> None:
    """Copy the database while `serve` runs (SQLite online backup), checked before it is kept."""
    from .logbook.backup import back_up

    done = back_up(DATA.initialised(data), to, keep)
    gone = f"; removed {len(done.removed)} older" if done.removed else ""
    click.echo(f"backed up {done.events} events (last seq {done.last_seq}) to {done.path}{gone}")


@cli.command()
@DATA
@click.option("--from-hub", "hub_url", required=True, help="the hub's base URL, https://HOST:PORT")
@click.option("--token", required=True, help="a hub manager's token (POST /api/v1/auth/login)")
def restore(data: Path, hub_url: str, token: str) -> None:
    """Make a freshly initialised post the continuation of a dead one, from the hub's copy."""
    from .restore import restore_from_hub

    if not hub_url.startswith(("http://", "https://")):
        raise CliError("--from-hub must be an http:// or https:// URL")
    with opened(DATA.initialised(data)) as book:
        count = restore_from_hub(book, hub_url, token)
    click.echo(f"restored {count} events from the hub; the post continues at seq {count + 1}")


@cli.command()
@DATA
@click.option("--user", default="guardpost", help="the system user that runs the post")
@click.option("--host", default="0.0.0.0", help="listen address (default: the lobby LAN)")
@click.option("--port", type=click.IntRange(1024, 65535), default=8080, help="port")
@click.option("--keep", type=click.IntRange(min=1), default=14, help="daily backups to keep")
@click.option("--kiosk-user", default=None, help="also a Chromium kiosk unit, as this user")
@click.option("--kiosk-url", default=None, help="the kiosk's page (default: this post)")
@click.option("--dry-run", is_flag=True, help="print the units; write nothing")
@click.option(
    "--root", type=click.Path(path_type=Path), default=None, help="write under ROOT, not /"
)
def install(data: Path, root: Path | None, dry_run: bool, **options: Any) -> None:
    """Write and enable the systemd units of this post (serve, daily purge and backup)."""
    import os

    from . import install as units

    if not dry_run and root is None and os.geteuid() != 0:
        raise CliError("install writes /etc/systemd/system: run it as root, or with --dry-run")
    if any(c.isspace() for c in str(data.resolve())):
        raise CliError("--data: a path without spaces, please (it goes into the units' commands)")
    post = units.Post(
        data=DATA.initialised(data).resolve(),
        user=options["user"],
        host=options["host"],
        port=options["port"],
        keep=options["keep"],
        program=units.program_path(),
        kiosk_user=options["kiosk_user"],
        kiosk_url=options["kiosk_url"] or "",
    )
    if dry_run:
        for name, text in units.unit_files(post).items():
            click.echo(f"# /{units.UNIT_DIR / name}\n{text}")
        return
    for path in units.write_units(post, root or Path("/")):
        click.echo(f"wrote {path}")
    if root is not None:
        return
    if units.ensure_user(post.user, post.data):
        click.echo(f"created the system user {post.user}")
    wanted = [units.SERVE_UNIT, units.DAILY_TIMER, *([units.KIOSK_UNIT] * bool(post.kiosk_user))]
    if units.enable(wanted):
        click.echo(f"enabled and started {' '.join(wanted)}")
    else:
        click.echo(f"systemd is not running here; on the post: systemctl enable --now {wanted[0]}")


if __name__ == "__main__":
    main()
