"""Shared fixtures: databases on all three backends, the app, clients and test servers."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ragprism.api.app import create_app
from ragprism.db import Base, Database
from ragprism.db.migrate import upgrade
from ragprism.runtime import Runtime
from ragprism.security import passwords
from ragprism.settings import Settings
from tests.support.langfuse_server import FakeLangfuse

POSTGRES_ADMIN_URL = os.environ.get(
    "RAGPRISM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MYSQL_ADMIN_URL = os.environ.get(
    "RAGPRISM_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
)
REQUIRE_ALL = os.environ.get("RAGPRISM_TEST_REQUIRE_ALL_DBS") == "1"
MASTER_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2id with minimal cost parameters: the same code path, ~100x faster to test."""
    original = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = original


def skip_or_fail(message: str) -> None:
    """Skip a test whose prerequisite is missing; fail it instead in CI, where
    ``RAGPRISM_TEST_REQUIRE_ALL_DBS=1`` says everything is installed and must run."""
    if REQUIRE_ALL:
        pytest.fail(message + "; RAGPRISM_TEST_REQUIRE_ALL_DBS=1 forbids skipping")
    pytest.skip(message)


def _unavailable(what: str, exc: Exception) -> None:
    skip_or_fail(f"{what} is not reachable ({type(exc).__name__}: {exc})")


def _scratch_database(admin_url: str, what: str) -> Iterator[str]:
    """A new, migrated database on the server of ``admin_url``, dropped afterwards."""
    name = f"ragprism_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # the server is absent or refuses us
        _unavailable(what, exc)
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("template") / "ragprism.db"
    upgrade(f"sqlite:///{path}")
    database = Database(f"sqlite:///{path}")
    with database.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    yield from _scratch_database(POSTGRES_ADMIN_URL, "PostgreSQL at " + POSTGRES_ADMIN_URL)


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    yield from _scratch_database(MYSQL_ADMIN_URL, "MariaDB/MySQL at " + MYSQL_ADMIN_URL)


def _empty_all_tables(database: Database) -> None:
    with database.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ]
)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database on each backend in turn."""
    if request.param == "sqlite":
        target = tmp_path / "ragprism.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        url = f"sqlite:///{target}"
    else:
        url = request.getfixturevalue(f"{request.param}_url")
    database = Database(url)
    if request.param != "sqlite":
        _empty_all_tables(database)
    yield database
    database.dispose()


@pytest.fixture
def settings(tmp_path: Path, database: Database) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        database_url=database.url,
        master_key=MASTER_KEY,
        langfuse_validate_timeout=1.0,
        langfuse_default_host="",
        # The test servers listen on loopback, which the default policy refuses.
        langfuse_host_policy=["any"],
    )


@pytest.fixture
def state(settings: Settings, database: Database) -> Iterator[Runtime]:
    app_state = Runtime.build(settings, database)
    yield app_state
    if app_state.langfuse.revalidator is not None:
        app_state.langfuse.revalidator.shutdown()


@pytest.fixture
def client(state: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(state=state)) as test_client:
        yield test_client


class Accounts:
    """Registers users and logs them in through the HTTP API."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def register(self, email: str, password: str = "correct horse 1") -> str:
        body = self.client.post(
            "/v1/user/register", json={"email": email, "password": password, "nickname": email[:8]}
        ).json()
        assert body["code"] == 0, body
        user_id: str = body["data"]["id"]
        return user_id

    def login(self, email: str, password: str = "correct horse 1") -> dict[str, str]:
        body = self.client.post(
            "/v1/user/login", json={"email": email, "password": password}
        ).json()
        assert body["code"] == 0, body
        return {"Authorization": f"Bearer {body['data']['access_token']}"}

    def user(self, email: str) -> dict[str, str]:
        """Register ``email`` and return the headers of a logged-in session."""
        self.register(email)
        return self.login(email)


@pytest.fixture
def accounts(client: TestClient) -> Accounts:
    return Accounts(client)


@pytest.fixture(scope="session")
def langfuse_server() -> Iterator[FakeLangfuse]:
    """One Langfuse-compatible server on loopback for the whole run."""
    with FakeLangfuse() as server:
        yield server


@pytest.fixture
def fake_langfuse(langfuse_server: FakeLangfuse) -> Iterator[FakeLangfuse]:
    """The Langfuse test server, with no faults and no recorded data."""
    langfuse_server.clear_faults()
    langfuse_server.clear()
    yield langfuse_server
    langfuse_server.clear_faults()


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[str]:
    """A private PostgreSQL 16 with pgvector (the ``pgserver`` wheel); yields its admin URL.

    Debian's PostgreSQL 15 on 127.0.0.1 has no pgvector package, so vector-index tests
    run here. The server is stopped at the end of the session. Its data directory is not
    under pytest's temporary directory, which concurrent pytest runs may rotate away.
    """
    import tempfile
    import warnings

    from ragprism.db.engine import normalise_url

    pgdata = Path(tempfile.mkdtemp(prefix="ragprism-pgserver-"))
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset, at import time.
            warnings.simplefilter("ignore")
            import pgserver

            server = pgserver.get_server(pgdata, cleanup_mode="stop")
    except Exception as exc:  # wheel missing or the server would not start
        shutil.rmtree(pgdata, ignore_errors=True)
        _unavailable("pgserver (PostgreSQL with pgvector)", exc)
    try:
        yield normalise_url(server.get_uri())  # psycopg 3, over the server's unix socket
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)


@pytest.fixture(scope="session")
def pgvector_url(pgvector_server: str) -> Iterator[str]:
    """A migrated scratch database on the pgvector server."""
    yield from _scratch_database(pgvector_server, "pgserver (PostgreSQL with pgvector)")
