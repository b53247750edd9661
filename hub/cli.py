"""`guardpost-hub`: set up the hub, its users and its broker's accounts, and serve it. Only calls
into the store and app; every misuse is one line on stderr and exit 2."""

from __future__ import annotations

import getpass
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from service import errors
from service.cli import CliError, DataDir, build_settings, check_name, command_group, run
from service.logs import mask_url

from .auth import ROLES, HubAuth
from .broker import HUB_USER, device_username, mosquitto_hash, new_password, write_broker_files
from .store import Store, init_store, is_initialised
from .store.engine import is_postgres, is_postgres_error

HUB_SECRET_FILE = "hub-mqtt.secret"
DEFAULT_BROKER_PORT = 1883

DATA = DataDir("GUARDPOST_HUB_DATA", "the hub's", "guardpost-hub", is_initialised)


DB = click.option(
    "--db",
    envvar="GUARDPOST_HUB_DB",
    default=None,
    help="postgresql://USER:PASS@HOST:PORT/DB: the hub's tables in PostgreSQL (env"
    " GUARDPOST_HUB_DB; absent: the database `init` was given, else SQLite in DATA)",
)


def _store(data: Path, db: str | None) -> Store:
    return Store(DATA.initialised(data), db_url=_db_url(db))


def _db_url(db: str | None) -> str | None:
    if db and not is_postgres(db):
        raise CliError("--db must be a postgresql://USER:PASS@HOST:PORT/DB URL")
    return db or None


def _name_ok(value: str) -> bool:
    return bool(value) and all(c.isalnum() or c in "-_" for c in value)


cli = command_group("Guardpost hub: every post's logbook in one place.")


def main() -> None:
    try:
        run(cli)
    except Exception as exc:
        if not is_postgres_error(exc):
            raise
        # PostgreSQL went away mid-command: one line, not a traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        click.echo(f"Error: the hub's database failed: {mask_url(first)}", err=True)
        sys.exit(2)


@cli.command()
@DATA
@DB
def init(data: Path, db: str | None) -> None:
    """Create the hub's database (in DATA, or the PostgreSQL database --db names) and its
    secrets in DATA."""
    created = init_store(data, _db_url(db))
    click.echo(f"{'initialised' if created else 'already initialised'} {data}")


@cli.command("add-user")
@DATA
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--sites", default="", help="S1,S2: the sites a supervisor or auditor sees")
@DB
def add_user(
    data: Path, username: str, password: str, role: str, sites: str, db: str | None
) -> None:
    """Add a user (or change their password, role and sites)."""
    site_list = [s.strip() for s in sites.split(",") if s.strip()]
    if len(password) < 8:
        raise CliError("--password must be at least 8 characters")
    if role != "manager" and not site_list:
        raise CliError(f"--sites is required for a {role}")
    if not _name_ok(username):
        raise CliError("--username may hold only letters, digits, '-' and '_'")
    store = _store(data, db)
    try:
        created = HubAuth(store).add_user(username, password, role, site_list)
    finally:
        store.close()
    scope = "all sites" if role == "manager" else ",".join(site_list)
    click.echo(f"{'added' if created else 'updated'} {role} {username} ({scope})")


def _hub_account(data: Path, store: Store) -> tuple[str, str]:
    """The hub's own MQTT account, created once and kept on later runs."""
    secret = data / HUB_SECRET_FILE
    if not secret.exists() or store.get_meta("hub_mqtt_hash") is None:
        password = new_password()
        secret.touch(mode=0o600)
        secret.chmod(0o600)
        secret.write_text(password, encoding="utf-8")
        store.set_meta("hub_mqtt_hash", mosquitto_hash(password))
    return HUB_USER, secret.read_text(encoding="utf-8").strip()


def _write_broker(data: Path, store: Store, port: int | None) -> Path:
    if port is not None:
        store.set_meta("broker_port", str(port))
    port = int(store.get_meta("broker_port") or DEFAULT_BROKER_PORT)
    _hub_account(data, store)
    conf = write_broker_files(
        data / "broker", port, str(store.get_meta("hub_mqtt_hash")), store.mqtt_accounts()
    )
    # mosquitto started as root drops to its own user unless told otherwise; keep the owner of
    # these 0600 files so it can read them
    with conf.open("a", encoding="utf-8") as f:
        f.write(f"user {getpass.getuser()}\n")
    return conf


@cli.command("broker-config")
@DATA
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="listener port (1883)")
@DB
def broker_config(data: Path, port: int | None, db: str | None) -> None:
    """Write DATA/broker/mosquitto.conf, passwd and acl; print the hub's own account."""
    store = _store(data, db)
    try:
        conf = _write_broker(data, store, port)
        username, password = _hub_account(data, store)
    finally:
        store.close()
    click.echo(f"wrote {conf}")
    click.echo(f"username={username}")
    click.echo(f"password={password}")


@cli.command("provision-device")
@DATA
@click.option("--site", required=True)
@click.option("--device", required=True)
@DB
def provision_device(data: Path, site: str, device: str, db: str | None) -> None:
    """Create (or rotate) one edge device's MQTT account and regenerate the broker files;
    also print the company's ID-number HMAC key for the post's `init --id-key`."""
    check_name("--site", site)
    check_name("--device", device)
    store = _store(data, db)
    try:
        password = new_password()
        username = device_username(site, device)
        store.provision_device(site, device, username, mosquitto_hash(password))
        conf = _write_broker(data, store, None)
        id_key = store.id_key.hex()
    finally:
        store.close()
    click.echo(f"wrote {conf}; reload the broker (kill -HUP its pid) to apply")
    click.echo(f"username={username}")
    click.echo(f"password={password}")
    # the company's ID-number HMAC key, for `guardpost-edge init --id-key`: the watch list
    click.echo(f"id_key={id_key}")


@cli.command("migrate-db")
@DATA
@click.option("--to", "to_url", required=True, help="postgresql://USER:PASS@HOST:PORT/DB (empty)")
def migrate_db(data: Path, to_url: str) -> None:
    """Copy the hub's SQLite tables in DATA into an empty PostgreSQL database, check each
    table's count, and make DATA use PostgreSQL from now on. Stop `serve` first."""
    from .store.copy import copy_to_postgres

    DATA.initialised(data)
    if not is_postgres(to_url):
        raise CliError("--to must be a postgresql://USER:PASS@HOST:PORT/DB URL")
    counts = copy_to_postgres(data, to_url)
    for table, count in counts.items():
        click.echo(f"{table}: {count}")
    click.echo(f"copied {sum(counts.values())} rows in {len(counts)} tables; {data} now uses it")


@cli.command()
@DATA
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--broker", default=None, help="mqtt://USER:PASS@HOST:PORT (the hub account)")
@click.option(
    "--shared-subscription/--no-shared-subscription",
    default=None,
    help="share the events subscription with other hub workers (MQTT 5)",
)
@DB
def serve(data: Path, **flags: Any) -> None:
    """Run the hub: MQTT ingest, API."""
    import uvicorn

    from service.gc_tuning import collect_less
    from service.logs import UVICORN_LOG_CONFIG, setup_logging

    from .app import create_app
    from .settings import HubSettings

    _store(data, flags["db"]).close()
    settings = build_settings(HubSettings, data=data, **flags)
    setup_logging()
    try:
        app = create_app(settings)
    except errors.GuardpostError as exc:
        raise CliError(exc.msg) from None
    click.echo(
        f"guardpost-hub serving on http://{settings.host}:{settings.port}"
        + (f" via {mask_url(settings.broker)}" if settings.broker else " (no broker)"),
        err=True,
    )
    # open live pages (server-sent events) hold a shutdown 5 s at most
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=UVICORN_LOG_CONFIG,
            timeout_graceful_shutdown=5,
        )
    )
    collect_less()  # a drain allocates in bulk (`service.gc_tuning`)
    stopped: list[str] = []
    watchdog = threading.Thread(
        target=_watch_workers, args=(app, server, stopped), name="watchdog", daemon=True
    )
    watchdog.start()
    server.run()
    if stopped:
        raise WorkerStopped(
            f"the hub's {', '.join(stopped)} worker stopped; exiting so that"
            " the service manager restarts the hub"
        )


class WorkerStopped(click.ClickException):
    """A worker thread of `serve` stopped: exit 1, and systemd (Restart=always) restarts."""

    exit_code = 1


def _watch_workers(app: Any, server: Any, stopped: list[str]) -> None:
    """Shut the server down when a worker thread (ingest, down, mqtt) has stopped; `serve`
    then exits non-zero instead of answering as if all were well."""
    while not server.should_exit:
        ingest = app.state.ingest
        dead = ingest.dead_threads() if ingest is not None else []
        if dead:
            stopped.extend(dead)
            server.should_exit = True
            return
        time.sleep(1.0)


if __name__ == "__main__":
    main()
