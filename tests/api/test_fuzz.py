"""Schemathesis fuzzes every route from the OpenAPI document: no input may cause a 5xx."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from ragprism.api.app import create_app
from ragprism.db.migrate import upgrade
from ragprism.runtime import Runtime
from ragprism.settings import Settings

_DATA = Path(tempfile.mkdtemp(prefix="ragprism-fuzz-"))
_URL = f"sqlite:///{_DATA / 'fuzz.db'}"
upgrade(_URL)
_SETTINGS = Settings(
    _env_file=None,  # type: ignore[call-arg]
    data_dir=_DATA,
    database_url=_URL,
    master_key=Fernet.generate_key().decode(),
    # Fuzzed hosts must never leave the machine: only this name passes, and nothing
    # listens behind it.
    langfuse_host_policy=["127.0.0.1"],
    langfuse_validate_timeout=0.5,
)
APP = create_app(state=Runtime.build(_SETTINGS))


def _api_key() -> str:
    with TestClient(APP) as client:
        client.post(
            "/v1/user/register",
            json={"email": "fuzz@example.com", "password": "fuzz-password", "nickname": "fuzz"},
        )
        login = client.post(
            "/v1/user/login", json={"email": "fuzz@example.com", "password": "fuzz-password"}
        ).json()
        headers = {"Authorization": f"Bearer {login['data']['access_token']}"}
        token: str = client.post("/v1/system/new_token", headers=headers).json()["data"]["token"]
        return token


# An API key, so that a fuzzed POST /v1/user/logout cannot log the fuzzer out.
API_KEY = _api_key()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_input_causes_a_server_error(case: schemathesis.Case) -> None:
    response = case.call(headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    body = response.json()
    assert isinstance(body.get("code"), int), body
