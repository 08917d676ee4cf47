"""/docs and /redoc work offline, and the OpenAPI document can be tried out: it declares the
bearer scheme and X-Tenant-Id, and says what the main routes answer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragprism.api.app import create_app
from ragprism.api.openapi import RESPONSES
from ragprism.settings import Settings


@pytest.fixture
def docs_client(tmp_path: Path) -> TestClient:
    """The app, without its lifespan: these pages need neither database nor workers."""
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    return TestClient(create_app(settings))


def _references(html: str) -> list[str]:
    return re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_everything_from_this_server(docs_client: TestClient, page: str) -> None:
    response = docs_client.get(page)
    assert response.status_code == 200
    html = response.text
    assert "://" not in html, "no external host (CDN, fonts, favicon)"
    assert "fonts.googleapis" not in html
    references = _references(html)
    assert "/openapi.json" in references
    assets = [ref for ref in references if ref.startswith("/docs-assets/")]
    assert any(ref.endswith(".js") for ref in assets), references
    for asset in assets:
        served = docs_client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 1000, asset
        if asset.endswith(".js"):
            assert "javascript" in served.headers["content-type"]
            assert b"fonts.googleapis" not in served.content


def test_swagger_ui_turns_off_the_external_validator_badge(docs_client: TestClient) -> None:
    assert '"validatorUrl": null' in docs_client.get("/docs").text


def test_openapi_declares_bearer_auth_and_the_tenant_header(docs_client: TestClient) -> None:
    schema = docs_client.get("/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "API key" in scheme["description"]
    create = schema["paths"]["/api/v1/datasets"]["post"]
    assert create["security"] == [{"bearer": []}]
    assert {"name": "x-tenant-id", "in": "header"}.items() <= create["parameters"][0].items()
    # Routes open to everyone declare no security requirement.
    assert "security" not in schema["paths"]["/v1/user/login"]["post"]


def _data_schema(schema: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    responses = schema["paths"][path][method]["responses"]
    body = responses["200"]["content"]["application/json"]["schema"]
    data: dict[str, Any] = body["properties"]["data"]
    return data


def test_main_routes_say_what_they_answer(docs_client: TestClient) -> None:
    schema = docs_client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    for method, path in RESPONSES:
        data = _data_schema(schema, method, path)
        assert data != {}, (method, path)
        for ref in re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', str(data)):
            assert ref in components
    dataset = components["DatasetOut"]
    assert {"id", "name", "embedding_model", "chunk_count"} <= dataset["properties"].keys()
    answer = _data_schema(schema, "post", "/api/v1/chats/{chat_id}/completions")
    assert "AnswerOut" in str(answer)
    assert "trace_url" in components["AnswerOut"]["properties"]
    assert "LoginOut" in str(_data_schema(schema, "post", "/v1/user/login"))
    # Bad input is answered with a code 101 envelope, not HTTP 422: the document says so.
    assert not any(
        "422" in op.get("responses", {})
        for item in schema["paths"].values()
        for op in item.values()
    )
