"""The engine inside the app: config API → tracing, status, /metrics (over HTTP)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ragprism.api.app import create_app
from ragprism.db import Database
from ragprism.runtime import Runtime
from ragprism.settings import Settings
from ragprism.tracing import NoopTrace
from tests.conftest import Accounts
from tests.support.langfuse_server import FakeLangfuse

PATH = "/api/v1/langfuse/api-key"


@pytest.fixture
def app_state(settings: Settings, database: Database) -> Iterator[Runtime]:
    """An app state whose spans wait in memory (long flush interval) until flushed."""
    tuned = settings.model_copy(update={"trace_flush_interval": 30.0})
    state = Runtime.build(tuned, database)
    yield state
    if state.langfuse.revalidator is not None:
        state.langfuse.revalidator.shutdown()


@pytest.fixture
def app_client(app_state: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(state=app_state)) as test_client:
        yield test_client


def configure(client: TestClient, headers: dict[str, str], server: FakeLangfuse) -> str:
    public, secret = f"pk-lf-{uuid.uuid4()}", f"sk-lf-{uuid.uuid4()}"
    project_id = f"p-{uuid.uuid4().hex[:8]}"
    server.add_project(public, secret, project_id=project_id)
    body = {"public_key": public, "secret_key": secret, "host": server.url}
    saved = client.post(PATH, json=body, headers=headers).json()
    assert saved["code"] == 0, saved
    return project_id


def test_config_api_drives_tracing_status_and_metrics(
    app_client: TestClient, app_state: Runtime, fake_langfuse: FakeLangfuse
) -> None:
    accounts = Accounts(app_client)
    owner = accounts.user("owner@example.com")
    tenant_id = app_client.get("/v1/user/info", headers=owner).json()["data"]["id"]
    tracer = app_state.tracing.tracer
    with tracer.trace("chat", tenant_id=tenant_id) as before:
        pass
    assert isinstance(before, NoopTrace)

    project_id = configure(app_client, owner, fake_langfuse)
    # No waiting for a refresh: the write itself told the engine.
    with (
        tracer.trace("chat", tenant_id=tenant_id, input="hi") as trace,
        trace.observation("retrieval", kind="retriever"),
    ):
        pass
    assert trace.url is not None
    assert trace.url.startswith(f"{fake_langfuse.url}/project/{project_id}/traces/")
    assert app_state.tracing.flush(5.0)
    fake_langfuse.wait_for_spans(2, project_id=project_id)

    status = app_client.get(PATH, headers=owner).json()["data"]["status"]["exporter"]
    assert status["exported"] == 2
    assert status["healthy"] is True
    assert status["pending"] == 0

    metrics = app_client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert f'ragprism_trace_exported_total{{tenant_id="{tenant_id}"}} 2.0' in metrics.text
    assert f'ragprism_trace_queued_total{{tenant_id="{tenant_id}"}} 2.0' in metrics.text
    assert f'ragprism_trace_destination_healthy{{tenant_id="{tenant_id}"}} 1.0' in metrics.text


def test_delete_stops_tracing_at_once_and_counts_dropped(
    app_client: TestClient, app_state: Runtime, fake_langfuse: FakeLangfuse
) -> None:
    accounts = Accounts(app_client)
    owner = accounts.user("owner@example.com")
    tenant_id = app_client.get("/v1/user/info", headers=owner).json()["data"]["id"]
    configure(app_client, owner, fake_langfuse)
    for _ in range(3):
        with app_state.tracing.tracer.trace("chat", tenant_id=tenant_id):
            pass
    assert app_state.tracing.health(tenant_id)["pending"] == 3  # flush interval is 30 s

    assert app_client.delete(PATH, headers=owner).json()["data"] is True
    assert app_state.tracing.health(tenant_id)["dropped_by_reason"] == {"config removed": 3}
    with app_state.tracing.tracer.trace("chat", tenant_id=tenant_id) as trace:
        pass
    assert isinstance(trace, NoopTrace)
    metrics = app_client.get("/metrics").text
    assert (
        f'ragprism_trace_dropped_total{{reason="config removed",tenant_id="{tenant_id}"}} 3.0'
        in metrics
    )
    assert app_state.tracing.flush(2.0)
    assert fake_langfuse.request_count("otel") == 0


def test_metrics_token_is_required_when_set(settings: Settings, database: Database) -> None:
    state = Runtime.build(settings.model_copy(update={"metrics_token": "scrape-secret"}), database)
    with TestClient(create_app(state=state)) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-secret"}):
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.json()["code"] == 401
            assert "Bearer" in refused.json()["message"]
        scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain")
    if state.langfuse.revalidator is not None:
        state.langfuse.revalidator.shutdown()
