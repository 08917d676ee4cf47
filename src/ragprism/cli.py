"""The ``ragprism`` command line: serve, user create, db upgrade, keys rotate; ingest and ask
talk to a running server."""

from __future__ import annotations

import logging
from typing import Annotated

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
) -> None:
    """Start the HTTP server."""
    import uvicorn

    from ragprism.api.app import create_app

    settings = get_settings()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    protect_data_dir(settings.data_dir)
    if migrate:
        migrate_upgrade(settings.resolved_database_url)
    application = create_app(settings)
    if not settings.accept_lost_secrets:
        try:
            runtime = application.state.ragprism
            check_secrets_readable(runtime.db, runtime.keyring)
        except KeyringError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
    uvicorn.run(
        application,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        timeout_graceful_shutdown=10,
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
