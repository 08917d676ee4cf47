"""The ``ragprism`` command line: db upgrade, user create, keys rotate/prune."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from sqlalchemy import inspect, select
from typer.testing import CliRunner, Result

from ragprism import __version__
from ragprism.cli import app
from ragprism.db import Database
from ragprism.db.migrate import alembic_config
from ragprism.models import TenantLangfuse
from ragprism.security.keyring import Keyring, read_key_file
from ragprism.security.tokens import mask_secret
from ragprism.services.accounts import accounts
from ragprism.settings import Settings, get_settings

SECRET = "sk-lf-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
PASSWORD = "correct horse 1"


@dataclass
class Cli:
    data_dir: Path
    url: str
    monkeypatch: pytest.MonkeyPatch

    @property
    def key_file(self) -> Path:
        return self.data_dir / "master.key"

    def __call__(self, *args: str) -> Result:
        # get_settings() is read once per process; each invocation is a new "process".
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(app, list(args))
        finally:
            get_settings.cache_clear()

    def database(self) -> Database:
        return Database(self.url)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """The CLI configured by environment for a SQLite file in a fresh data directory."""
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for name in Settings.model_fields:
        monkeypatch.delenv(f"RAGPRISM_{name.upper()}", raising=False)
    data_dir = tmp_path / "data"
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("RAGPRISM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("RAGPRISM_DATABASE_URL", url)
    yield Cli(data_dir, url, monkeypatch)
    get_settings.cache_clear()


def head_revision() -> str:
    """The newest migration's revision."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def one_line(output: str) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(output.split())


def store_secret(cli: Cli, keyring: Keyring) -> str:
    """A user with a Langfuse configuration whose secret is encrypted by ``keyring``."""
    database = cli.database()
    try:
        with database.session() as session:
            user = accounts.create_user(session, "ops@example.com", PASSWORD)
            session.add(
                TenantLangfuse(
                    tenant_id=user.id,
                    public_key="pk-lf-1234",
                    secret_key_enc=keyring.encrypt(SECRET),
                    secret_key_masked=mask_secret(SECRET),
                    host="https://cloud.langfuse.com",
                    project_id="project-1",
                    project_name="Project",
                )
            )
        return user.id
    finally:
        database.dispose()


def stored_ciphertext(cli: Cli, tenant_id: str) -> str:
    database = cli.database()
    try:
        with database.session() as session:
            value = session.scalar(
                select(TenantLangfuse.secret_key_enc).where(TenantLangfuse.tenant_id == tenant_id)
            )
    finally:
        database.dispose()
    assert value is not None
    return value


def test_db_upgrade_creates_the_tables(cli: Cli) -> None:
    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"upgraded from revision base to {head_revision()}" in one_line(result.output)
    database = cli.database()
    try:
        tables = set(inspect(database.engine).get_table_names())
    finally:
        database.dispose()
    assert {
        "user",
        "tenant",
        "user_tenant",
        "login_token",
        "api_token",
        "tenant_langfuse",
    } <= tables
    again = cli("db", "upgrade")  # idempotent, and says so
    assert again.exit_code == 0, again.output
    assert f"up to date at revision {head_revision()}: nothing to apply" in one_line(again.output)


def test_db_upgrade_names_both_revisions(cli: Cli) -> None:
    assert cli("db", "upgrade", "0002").exit_code == 0
    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"upgraded from revision 0002 to {head_revision()}" in one_line(result.output)


def test_a_bad_setting_is_one_line_naming_the_variable_and_exit_2(cli: Cli) -> None:
    cli.monkeypatch.setenv("RAGPRISM_PORT", "abc")
    result = cli("db", "upgrade")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: RAGPRISM_PORT=abc: ")
    assert "Traceback" not in result.output


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"ragprism {__version__}"


def test_user_create_then_login_and_duplicate(cli: Cli) -> None:
    assert cli("db", "upgrade").exit_code == 0
    result = cli("user", "create", "--email", "Root@Example.com", "--password", PASSWORD)
    assert result.exit_code == 0, result.output
    user_id = result.stdout.strip()
    assert len(user_id) == 32

    database = cli.database()
    try:
        with database.session() as session:
            user, token = accounts.login(session, "root@example.com", PASSWORD, 60)
            assert user.id == user_id
            assert user.password_hash.startswith("$argon2id$")
            principal = accounts.authenticate(session, token)
            assert (principal.tenant_id, principal.role) == (user_id, "owner")
    finally:
        database.dispose()

    duplicate = cli("user", "create", "--email", "root@example.com", "--password", PASSWORD)
    assert duplicate.exit_code == 1
    assert "root@example.com has already registered" in one_line(duplicate.output)
    assert "Traceback" not in duplicate.output

    weak = cli("user", "create", "--email", "new@example.com", "--password", "short")
    assert weak.exit_code == 1
    assert "password: must be" in one_line(weak.output)


def test_keys_rotate_and_prune_with_a_key_file(cli: Cli) -> None:
    assert cli("db", "upgrade").exit_code == 0
    tenant_id = store_secret(cli, Keyring(key_file=cli.key_file))
    [old_key] = read_key_file(cli.key_file)
    before = stored_ciphertext(cli, tenant_id)

    result = cli("keys", "rotate")
    assert result.exit_code == 0, result.output
    assert "re-encrypted 1 secret(s)" in one_line(result.output)
    keys = read_key_file(cli.key_file)
    assert len(keys) == 2
    assert keys[1] == old_key
    assert stat.S_IMODE(cli.key_file.stat().st_mode) == 0o600
    after = stored_ciphertext(cli, tenant_id)
    assert after != before
    assert Fernet(keys[0]).decrypt(after.encode()).decode() == SECRET  # under the new key
    assert Keyring(key_file=cli.key_file).decrypt(after) == SECRET

    result = cli("keys", "prune")
    assert result.exit_code == 0, result.output
    assert "dropped 1 retired key(s)" in one_line(result.output)
    assert read_key_file(cli.key_file) == keys[:1]
    assert stat.S_IMODE(cli.key_file.stat().st_mode) == 0o600
    assert Keyring(key_file=cli.key_file).decrypt(stored_ciphertext(cli, tenant_id)) == SECRET


def test_keys_prune_refuses_while_a_secret_needs_an_old_key(cli: Cli) -> None:
    assert cli("db", "upgrade").exit_code == 0
    old = Fernet.generate_key().decode()
    tenant_id = store_secret(cli, Keyring(old))
    new = Fernet.generate_key().decode()
    cli.key_file.parent.mkdir(parents=True, exist_ok=True)
    cli.key_file.write_text(f"{new}\n{old}\n")

    result = cli("keys", "prune")
    assert result.exit_code == 1
    assert "still use a retired key" in one_line(result.output)
    assert read_key_file(cli.key_file) == [new, old]
    assert Keyring(key_file=cli.key_file).decrypt(stored_ciphertext(cli, tenant_id)) == SECRET


def test_keys_rotate_with_env_key_needs_the_new_key_named(cli: Cli) -> None:
    assert cli("db", "upgrade").exit_code == 0
    old = Fernet.generate_key().decode()
    tenant_id = store_secret(cli, Keyring(old))
    before = stored_ciphertext(cli, tenant_id)
    new = Fernet.generate_key().decode()
    cli.monkeypatch.setenv("RAGPRISM_MASTER_KEY", f"{new},{old}")

    for extra in ([], ["--new-key", old], ["--new-key", Fernet.generate_key().decode()]):
        result = cli("keys", "rotate", *extra)
        assert result.exit_code == 1, extra
        assert "RAGPRISM_MASTER_KEY is set" in one_line(result.output)
        assert new not in result.output
        assert stored_ciphertext(cli, tenant_id) == before

    result = cli("keys", "rotate", "--new-key", new)
    assert result.exit_code == 0, result.output
    assert "re-encrypted 1 secret(s)" in one_line(result.output)
    after = stored_ciphertext(cli, tenant_id)
    assert after != before
    assert Fernet(new).decrypt(after.encode()).decode() == SECRET
    assert not cli.key_file.exists()  # the env key is the only key

    again = cli("keys", "rotate", "--new-key", new)
    assert again.exit_code == 0, again.output
    assert "1 already current" in one_line(again.output)
    assert stored_ciphertext(cli, tenant_id) == after
