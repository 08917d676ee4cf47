"""A lost master key while the database holds encrypted secrets (issue 13): the server
refuses to start unless told to accept re-entering secrets, and then never claims that
tracing is healthy, nor answers 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ragprism.api.app import create_app
from ragprism.db import Database
from ragprism.errors import OperatingError
from ragprism.runtime import Runtime
from ragprism.security.keyring import KeyringError
from ragprism.services.observability.trace_destinations import DatabaseDestinations
from ragprism.settings import Settings
from tests.api.test_langfuse_config import fresh_keys, save
from tests.conftest import Accounts
from tests.support.langfuse_server import FakeLangfuse

MODEL = "remote-chat@OpenAI-API-Compatible"


def store_secrets(client: TestClient, headers: dict[str, str], fake: FakeLangfuse) -> None:
    assert save(client, headers, fresh_keys(fake))["code"] == 0
    model = {
        "llm_factory": "OpenAI-API-Compatible",
        "llm_name": "remote-chat",
        "model_type": "chat",
        "api_base": "http://127.0.0.1:9/v1",
        "api_key": "sk-remote-0123456789",
        "verify": False,
    }
    assert client.post("/v1/llm/add_llm", json=model, headers=headers).json()["code"] == 0


def test_a_lost_key_file_stops_the_server_and_is_not_replaced(
    client: TestClient,
    accounts: Accounts,
    fake_langfuse: FakeLangfuse,
    settings: Settings,
    database: Database,
    tmp_path: Path,
) -> None:
    store_secrets(client, accounts.user("keys@example.com"), fake_langfuse)
    key_file = tmp_path / "elsewhere" / "master.key"  # missing: a new key would be made
    lost = settings.model_copy(update={"master_key": "", "master_key_file": key_file})
    state = Runtime.build(lost, database)
    with pytest.raises(KeyringError) as refused:
        state.start()
    assert "2 of 2 stored secrets cannot be decrypted" in str(refused.value)
    assert "RAGPRISM_ACCEPT_LOST_SECRETS" in str(refused.value)
    assert not key_file.exists()  # no silent new key: restoring the old file is a copy
    state.close()


def test_accepting_lost_secrets_shows_them_as_such(
    client: TestClient,
    accounts: Accounts,
    fake_langfuse: FakeLangfuse,
    settings: Settings,
    database: Database,
    tmp_path: Path,
) -> None:
    headers = accounts.user("keys@example.com")
    store_secrets(client, headers, fake_langfuse)
    tenant_id = client.get("/v1/user/info", headers=headers).json()["data"]["tenant_id"]
    accepted = settings.model_copy(
        update={
            "master_key": "",
            "master_key_file": tmp_path / "new.key",
            "accept_lost_secrets": True,
        }
    )
    state = Runtime.build(accepted, database)
    with TestClient(create_app(state=state)) as other:
        config = other.get("/v1/langfuse/api_key", headers=headers).json()
        assert config["code"] == 0
        status = config["data"]["status"]
        assert status["validation"] == "undecryptable"
        assert "cannot be decrypted" in status["message"]
        # Keeping the stored (masked) secret is impossible: 101, not 500.
        body = {**fresh_keys(fake_langfuse), "secret_key": config["data"]["secret_key"]}
        kept = other.put("/v1/langfuse/api_key", json=body, headers=headers)
        assert kept.status_code == 200
        assert kept.json()["code"] == 101
        assert "enter the secret key again" in kept.json()["message"]
        # A model whose key is lost: a clear operating error, not a 500.
        with state.db.session() as session, pytest.raises(OperatingError, match="add the model"):
            state.models.chat(session, tenant_id, MODEL)
        # Health says so, on both routes, instead of claiming all is well.
        ours = other.get("/v1/system/healthz").json()["data"]
        assert ours["status"] == "degraded"
        assert ours["secrets"].startswith("nok: 2 of 2 stored secrets cannot be decrypted")
        ragflow = other.get("/api/v1/system/healthz")
        assert ragflow.status_code == 200
        assert ragflow.json()["status"] == "degraded"
        assert ragflow.json()["secrets"] == ours["secrets"]
        # The tracing engine lists the tenant, disabled (its spool kept), without an error
        # at every refresh of the configuration.
        destination = DatabaseDestinations(database, state.keyring).load()[tenant_id]
        assert destination.enabled is False
        # Entering the keys again repairs it.
        assert save(other, headers, fresh_keys(fake_langfuse))["code"] == 0
        config = other.get("/v1/langfuse/api_key", headers=headers).json()
        assert config["data"]["status"]["validation"] == "valid"


def test_a_healthy_server_says_its_secrets_are_readable(client: TestClient) -> None:
    assert client.get("/v1/system/healthz").json()["data"]["secrets"] == "ok"
    assert client.get("/api/v1/system/healthz").json()["status"] == "ok"
