"""Helpers for tests that assert on what the Langfuse test server received, and that
give a tenant models of the OpenAI-compatible test server."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi.testclient import TestClient

from ragprism.runtime import Runtime
from tests.api.rag_support import Rag
from tests.support.langfuse_server import FakeLangfuse

FACTORY = "OpenAI-API-Compatible"
TYPE = "langfuse.observation.type"
MODEL = "langfuse.observation.model.name"
INPUT = "langfuse.observation.input"
OUTPUT = "langfuse.observation.output"
USAGE = "langfuse.observation.usage_details"
COST = "langfuse.observation.cost_details"
LEVEL = "langfuse.observation.level"
STATUS = "langfuse.observation.status_message"


def traced(api: Rag, lf: FakeLangfuse) -> str:
    """Configure the tenant's Langfuse project on the test server; its project id."""
    public, secret = f"pk-lf-{uuid.uuid4()}", f"sk-lf-{uuid.uuid4()}"
    project_id = f"p-{uuid.uuid4().hex[:8]}"
    lf.add_project(public, secret, project_id=project_id)
    body = {"public_key": public, "secret_key": secret, "host": lf.url}
    assert api.call("PUT", "/langfuse/api-key", json=body)["code"] == 0
    return project_id


def trace_spans(
    state: Runtime, lf: FakeLangfuse, project_id: str, trace_id: str, n: int
) -> dict[str, dict[str, Any]]:
    """The ``n`` spans of one trace by name (the names in a trace must be unique)."""
    assert state.tracing.flush(5.0)
    lf.wait_for_spans(n, project_id=project_id)
    spans = lf.spans(project_id, trace_id=trace_id)
    by_name = {s["name"]: s for s in spans}
    assert len(by_name) == len(spans) == n, [s["name"] for s in spans]
    return by_name


def trace_of(state: Runtime, lf: FakeLangfuse, project_id: str, name: str) -> str:
    """The id of the only trace named ``name`` in the project (after a flush)."""
    assert state.tracing.flush(5.0)
    lf.wait_for_spans(1, project_id=project_id)
    ids = {s["trace_id"] for s in lf.spans(project_id, name=name)}
    assert len(ids) == 1, (name, ids)
    trace_id: str = ids.pop()
    return trace_id


def attr(span: dict[str, Any], key: str) -> Any:
    return span["attributes"].get(key)


def value(span: dict[str, Any], key: str) -> Any:
    """An attribute decoded: JSON text parsed, plain strings as they are."""
    raw = attr(span, key)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def add_model(
    client: TestClient,
    headers: dict[str, str],
    base_url: str,
    name: str,
    model_type: str,
    **extra: Any,
) -> dict[str, Any]:
    """Add a model of the OpenAI-compatible test server (not verified); ``data``."""
    body = {
        "llm_factory": FACTORY,
        "llm_name": name,
        "model_type": model_type,
        "api_base": base_url,
        "api_key": "sk-test",
        "verify": False,
        **extra,
    }
    answer = client.post("/v1/llm/add_llm", headers=headers, json=body).json()
    assert answer["code"] == 0, answer
    data: dict[str, Any] = answer["data"]
    return data


def set_defaults(client: TestClient, headers: dict[str, str], **ids: str) -> dict[str, Any]:
    """``POST /v1/user/set_tenant_info``; the whole answer (code and message)."""
    answer: dict[str, Any] = client.post(
        "/v1/user/set_tenant_info", headers=headers, json=ids
    ).json()
    return answer
