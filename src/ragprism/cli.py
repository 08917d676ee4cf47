"""The ``ragprism`` command line: serve, worker, user create, db upgrade, keys rotate; ingest
and ask talk to a running server."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from ragprism import __version__
from ragprism.client.commands import ask, ingest
from ragprism.db import Database
from ragprism.db.migrate import upgrade as migrate_upgrade
from ragprism.errors import RagprismError
from ragprism.security.file_modes import protect_data_dir, restrict_new_files
from ragprism.security.keyring import KeyringError
from ragprism.services.accounts import accounts, key_rotation
from ragprism.services.accounts.key_rotation import check_secrets_readable
from ragprism.settings import Settings
from ragprism.settings import get_settings as read_settings

app = typer.Typer(help="ragprism: multi-tenant RAG server with per-tenant Langfuse tracing.")
user_app = typer.Typer(help="Manage users.")
db_app = typer.Typer(help="Manage the database schema.")
keys_app = typer.Typer(help="Manage the master key that encrypts stored secrets.")
app.add_typer(user_app, name="user")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.command()(ingest)
app.command()(ask)


console = Console(stderr=True)


def get_settings() -> Settings:
    """The settings; a value that does not parse ends the command with one line naming the
    variable, and exit status 2 (a usage error, like a bad option)."""
    try:
        return read_settings()
    except ValidationError as exc:
        for error in exc.errors():
            variable = "RAGPRISM_" + str(error["loc"][0]).upper() if error["loc"] else "RAGPRISM_*"
            value = error.get("input")
            shown = f"={value}" if isinstance(value, str | int | float) else ""
            # One plain line per bad variable: no rich markup or wrapping to get in the way.
            typer.echo(f"error: {variable}{shown}: {error['msg']}", err=True)
        raise typer.Exit(2) from None


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"ragprism {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """ragprism: multi-tenant RAG server with per-tenant Langfuse tracing."""
    # Every command: files it creates (database, spool, key) are readable by its user only.
    restrict_new_files()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (RAGPRISM_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (RAGPRISM_PORT).")] = None,
    migrate: Annotated[bool, typer.Option(help="Apply migrations before starting.")] = True,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes sharing the port (each its own tracing).")
    ] = 1,
    parse_workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Parsing threads per server process (RAGPRISM_PARSE_WORKERS); 0 when "
            "`ragprism worker` processes parse.",
        ),
    ] = None,
) -> None:
    """Start the HTTP server (with --workers N, N processes on one port)."""
    import uvicorn

    from ragprism.api.app import create_app

    if parse_workers is not None:
        # The setting travels in the environment: --workers processes read their own.
        os.environ["RAGPRISM_PARSE_WORKERS"] = str(parse_workers)
        read_settings.cache_clear()
    settings = get_settings()
    _configure_logging()
    protect_data_dir(settings.data_dir)
    if migrate:
        migrate_upgrade(settings.resolved_database_url)
    _refuse_lost_secrets(settings)
    options: dict[str, Any] = {
        "host": host or settings.host,
        "port": port or settings.port,
        "log_level": "info",
        "timeout_graceful_shutdown": 10,
    }
    if workers > 1:
        # Each process calls the factory: its own runtime, tracing engine and parse workers.
        # A new process imports the whole server before it answers the supervisor's health
        # check; on a busy machine that takes longer than uvicorn's default of 5 s.
        uvicorn.run(
            "ragprism.api.app:create_app",
            factory=True,
            workers=workers,
            timeout_worker_healthcheck=60,
            **options,
        )
    else:
        uvicorn.run(create_app(settings), **options)


@app.command()
def worker(
    threads: Annotated[
        int | None,
        typer.Option(min=1, help="Parsing threads (default RAGPRISM_PARSE_WORKERS, at least 1)."),
    ] = None,
) -> None:
    """Parse queued documents, with no HTTP server, until SIGTERM or Ctrl-C."""
    from ragprism.runtime import Runtime

    settings = get_settings()
    settings.parse_workers = threads or max(1, settings.parse_workers)
    _configure_logging()
    protect_data_dir(settings.data_dir)
    _refuse_lost_secrets(settings)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    runtime = Runtime.build(settings)
    runtime.start()
    logging.getLogger(__name__).info(
        "parse worker started: %d thread(s), polling every %gs",
        settings.parse_workers,
        settings.parse_poll_seconds,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        runtime.close()
        logging.getLogger(__name__).info("parse worker stopped")


def _refuse_lost_secrets(settings: Settings) -> None:
    """Stop, naming the problem, when stored secrets cannot be decrypted with the master key
    (unless RAGPRISM_ACCEPT_LOST_SECRETS says the operator will enter them again)."""
    if settings.accept_lost_secrets:
        return
    from ragprism.runtime import make_keyring

    database = Database(settings.resolved_database_url)
    try:
        check_secrets_readable(database, make_keyring(settings))
    except KeyringError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        database.dispose()


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="E-mail address, the login name.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="Password.")],
    nickname: Annotated[str, typer.Option(help="Display name.")] = "",
    superuser: Annotated[bool, typer.Option(help="Mark as a server administrator.")] = False,
) -> None:
    """Create a user and its tenant (works with registration disabled)."""
    database = Database(get_settings().resolved_database_url)
    try:
        with database.session() as session:
            user = accounts.create_user(session, email, password, nickname, superuser=superuser)
    except RagprismError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    typer.echo(user.id)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest) and say which were applied."""
    before, after = migrate_upgrade(get_settings().resolved_database_url, revision)
    if before == after:
        typer.echo(f"database is up to date at revision {after or 'base'}: nothing to apply")
    else:
        typer.echo(f"database upgraded from revision {before or 'base'} to {after}")


@keys_app.command("rotate")
def keys_rotate(
    new_key: Annotated[
        str | None,
        typer.Option(
            help="With RAGPRISM_MASTER_KEY: the key already put first in that variable. "
            "With a key file: omit, a key is generated."
        ),
    ] = None,
) -> None:
    """Re-encrypt every stored secret under a new master key; reads keep working throughout."""
    settings = get_settings()
    database = Database(settings.resolved_database_url)
    try:
        report = key_rotation.rotate(settings, database, new_key)
    except (KeyringError, RagprismError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    console.print(
        f"re-encrypted {report.rotated} secret(s); {report.current} already current; "
        f"key file: {report.key_file or 'not used (RAGPRISM_MASTER_KEY)'}"
    )


@keys_app.command("prune")
def keys_prune() -> None:
    """Drop retired keys from the key file once no stored secret needs them."""
    settings = get_settings()
    database = Database(settings.resolved_database_url)
    try:
        dropped = key_rotation.prune(settings, database)
    except (KeyringError, RagprismError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    console.print(f"dropped {dropped} retired key(s)")


if __name__ == "__main__":
    app()
