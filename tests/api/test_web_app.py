"""The web app is served at ``/`` on the API's origin, without shadowing the API."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ragprism.api.app import create_app
from ragprism.db import Database
from ragprism.runtime import Runtime
from ragprism.settings import Settings
from tests.conftest import MASTER_KEY

INDEX = "<!doctype html><title>ragprism</title><div id=root></div>"


def _client(tmp_path: Path, sqlite_template: Path, dist: Path) -> Iterator[TestClient]:
    target = tmp_path / "ragprism.db"
    shutil.copyfile(sqlite_template, target)
    database = Database(f"sqlite:///{target}")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        database_url=database.url,
        master_key=MASTER_KEY,
        web_dist_dir=dist,
    )
    state = Runtime.build(settings, database)
    try:
        with TestClient(create_app(state=state)) as client:
            yield client
    finally:
        if state.langfuse.revalidator is not None:
            state.langfuse.revalidator.shutdown()
        database.dispose()


@pytest.fixture
def built(tmp_path: Path, sqlite_template: Path) -> Iterator[TestClient]:
    """A server with a built app: index.html and one hashed asset."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-abc123.js").write_text("console.log('app')")
    (tmp_path / "secret.txt").write_text("outside the build")
    yield from _client(tmp_path, sqlite_template, dist)


@pytest.fixture
def unbuilt(tmp_path: Path, sqlite_template: Path) -> Iterator[TestClient]:
    yield from _client(tmp_path, sqlite_template, tmp_path / "no-such-dist")


@pytest.mark.parametrize("path", ["/", "/login", "/settings/observability", "/settings/team"])
def test_client_routes_get_the_app(built: TestClient, path: str) -> None:
    response = built.get(path)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    # Everything the page loads comes from this origin.
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_assets_are_served_with_long_caching(built: TestClient) -> None:
    response = built.get("/assets/index-abc123.js")
    assert response.status_code == 200
    assert response.text == "console.log('app')"
    assert "immutable" in response.headers["cache-control"]


def test_a_missing_asset_is_a_404_not_the_page(built: TestClient) -> None:
    assert built.get("/assets/gone-123.js").status_code == 404


def test_files_outside_the_build_are_not_served(built: TestClient) -> None:
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
        response = built.get(path)
        assert "outside the build" not in response.text, path


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/system/healthz", '"db":"ok"'),
        ("/openapi.json", '"openapi"'),
        ("/docs", "swagger"),
        ("/redoc", "redoc"),
        ("/metrics", "ragprism_"),
    ],
)
def test_the_api_is_not_shadowed(built: TestClient, path: str, expected: str) -> None:
    response = built.get(path)
    assert response.status_code == 200
    assert expected in response.text
    assert response.text != INDEX


@pytest.mark.parametrize("path", ["/v1/no/such/route", "/api/v1/nothing", "/api/", "/v1"])
def test_unknown_api_paths_keep_the_api_404(built: TestClient, path: str) -> None:
    response = built.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == 404


def test_a_wrong_method_on_an_api_route_keeps_its_405(built: TestClient) -> None:
    response = built.get("/v1/user/register")
    assert response.status_code == 405
    assert response.json()["code"] == 101


def test_the_app_route_is_not_in_the_openapi_document(built: TestClient) -> None:
    paths = built.get("/openapi.json").json()["paths"]
    assert "/{path}" not in paths


@pytest.mark.parametrize("path", ["/", "/settings/observability"])
def test_without_a_build_the_page_says_how_to_build_it(unbuilt: TestClient, path: str) -> None:
    response = unbuilt.get(path)
    assert response.status_code == 200
    assert "make install" in response.text
    assert "npm --prefix web ci && npm --prefix web run build" in response.text
    # The API still works.
    assert unbuilt.get("/v1/system/healthz").json()["code"] == 0
