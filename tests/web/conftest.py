"""Browser journeys: Debian's Chromium, driven by Playwright, against ``ragprism serve``.

One live server (a subprocess on a loopback port, SQLite in a temporary directory, the
built app of ``web/dist``) and one Langfuse-compatible test server serve every test of
this folder; each test signs up its own users. ``RAGPRISM_TEST_SCREENSHOTS=<dir>`` (``make
screenshots``) saves the pages the journeys pass through as PNGs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import skip_or_fail
from tests.support.langfuse_server import FakeLangfuse

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "web" / "dist"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = os.environ.get("RAGPRISM_TEST_SCREENSHOTS", "")
PASSWORD = "a long password"
# The Langfuse project the journeys connect to, and its keys.
PROJECT_ID = "cm-proj-support-bot"
PROJECT_NAME = "Support bot"
PUBLIC_KEY = "pk-lf-1b2c3d4e-web"
SECRET_KEY = "sk-lf-9f8e7d6c5b4a-secret-web"

if sys.platform != "linux":  # pragma: no cover - the suite runs on Linux
    pytest.skip("browser tests run on Linux with Debian's Chromium", allow_module_level=True)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class WebServer:
    url: str


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """``ragprism serve`` with the built app, shared by the browser tests."""
    if not (DIST / "index.html").is_file():
        skip_or_fail("web/dist is not built (make install, or npm --prefix web run build)")
    tmp = tmp_path_factory.mktemp("web-server")
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAGPRISM_")}
    env.update(
        RAGPRISM_DATA_DIR=str(tmp / "data"),
        RAGPRISM_WEB_DIST_DIR=str(DIST),
        RAGPRISM_LANGFUSE_DEFAULT_HOST="",
        # The test Langfuse listens on loopback.
        RAGPRISM_LANGFUSE_HOST_POLICY="any",
        RAGPRISM_LANGFUSE_VALIDATE_TIMEOUT="3",
        # One parsing thread: the chat journeys parse the document they ask about.
        RAGPRISM_PARSE_WORKERS="1",
    )
    log_path = tmp / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("ragprism")), "serve", "--port", str(port)],
            env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            # Imports alone take over a minute when the 2 cores are shared by several suites.
            deadline = time.monotonic() + 200
            while True:
                try:
                    if httpx.get(url + "/v1/system/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not start:\n{log_path.read_text()}")
                time.sleep(0.2)
            yield WebServer(url)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.fixture(scope="session")
def web_langfuse() -> Iterator[FakeLangfuse]:
    """The Langfuse-compatible test server with the journeys' project."""
    with FakeLangfuse(
        PUBLIC_KEY, SECRET_KEY, project_id=PROJECT_ID, project_name=PROJECT_NAME
    ) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        skip_or_fail("/usr/bin/chromium is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - a dev dependency
        skip_or_fail("the playwright package is not installed (make install)")
    from playwright.sync_api import expect

    # The suite shares two cores with everything else in CI: assertions wait as long as
    # actions do (15 s) rather than Playwright's 5 s, which a loaded machine has missed.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile (no cookies, empty local storage) per test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(context: Any) -> Any:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert errors == [], f"uncaught errors in the page: {errors}"


def unique_email(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@example.com"


def register(server: WebServer, email: str, nickname: str = "") -> str:
    """Sign a user up through the API; returns the user id (= their tenant id)."""
    body = httpx.post(
        server.url + "/v1/user/register",
        json={"email": email, "password": PASSWORD, "nickname": nickname or email.split("@")[0]},
    ).json()
    assert body["code"] == 0, body
    user_id: str = body["data"]["id"]
    return user_id


def screenshot(page: Any, name: str) -> None:
    """Save the page as ``<name>.png`` when screenshots were asked for."""
    if not SCREENSHOTS:
        return
    target = Path(SCREENSHOTS)
    if not target.is_absolute():
        target = ROOT / target
    target.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(target / f"{name}.png"), full_page=True)


def assert_accessible(page: Any, what: str) -> None:
    """axe-core on the page as it is: no serious or critical violation."""
    if not AXE.is_file():
        skip_or_fail("web/node_modules/axe-core is missing (make install)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated over the DevTools protocol: the page's CSP forbids inline scripts.
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => (await window.axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert serious == [], f"{what}: {serious}"
