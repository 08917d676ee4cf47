"""Settings → API keys, Models and Team in the browser, and the first page's JS budget."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.openai_server import FakeOpenAI
from tests.web.conftest import (
    WebServer,
    assert_accessible,
    register,
    screenshot,
    unique_email,
)
from tests.web.journeys import expect, login_token

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

# Issue 9's budget for the JavaScript of the first page, gzipped.
FIRST_PAGE_JS_BUDGET = 250_000


@pytest.fixture(scope="module")
def openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key="sk-provider-key") as server:
        yield server


def open_logged_in(context: Any, server: WebServer, email: str, path: str) -> Any:
    """A page already logged in as ``email`` (the token put where the app keeps it)."""
    token = login_token(server, email)
    context.add_init_script(f"localStorage.setItem('ragprism.token', {token!r})")
    page = context.new_page()
    page.goto(server.url + path)
    return page


def api(server: WebServer, token: str, method: str, path: str, **kwargs: Any) -> Any:
    body = httpx.request(
        method, server.url + path, headers={"Authorization": f"Bearer {token}"}, **kwargs
    ).json()
    assert body["code"] == 0, body
    return body["data"]


def test_api_keys_page(context: Any, web_server: WebServer) -> None:
    email = unique_email("keys")
    register(web_server, email)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web_server.url)
    page = open_logged_in(context, web_server, email, "/settings/api-keys")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    expect(page.get_by_text("No API keys yet.")).to_be_visible()

    page.get_by_role("button", name="Create API key").click()
    shown = page.get_by_label("Your new API key")
    expect(shown).to_have_value(re.compile(r"^ragflow-"))
    key = shown.input_value()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("() => navigator.clipboard.readText()") == key
    assert_accessible(page, "API keys with a new key")
    screenshot(page, "api-keys")

    # Shown once: after Done and after a reload, only the masked form.
    page.get_by_role("button", name="Done").click()
    keys = page.get_by_role("table", name="API keys of this team")
    expect(keys.get_by_role("row")).to_have_count(2)
    masked = keys.get_by_role("row").nth(1).get_by_role("cell").first.inner_text()
    assert masked.startswith("ragflow-")
    assert masked != key
    page.reload()
    expect(keys).to_contain_text(masked)
    assert key not in page.content()

    keys.get_by_role("button", name=f"Delete API key {masked}").click()
    confirm = page.get_by_role("alertdialog", name="Delete this API key?")
    confirm.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No API keys yet.")).to_be_visible()
    # The key no longer works.
    assert httpx.get(web_server.url + "/api/v1/datasets", headers={"Authorization": key}).json()[
        "code"
    ] in (109, 401)


def test_models_page(context: Any, web_server: WebServer, openai_server: FakeOpenAI) -> None:
    email = unique_email("models")
    register(web_server, email)
    page = open_logged_in(context, web_server, email, "/settings/models")
    expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible()
    models = page.get_by_role("table", name="Models by provider")
    expect(models).to_contain_text("builtin-extractive")

    form = page.get_by_role("region", name="Add an OpenAI-compatible provider")
    form.get_by_label("Base URL").fill(openai_server.url)
    form.get_by_label("API key", exact=True).fill("sk-wrong-key")
    form.get_by_label("Model names").fill("fake-chat")
    form.get_by_label("Input price").fill("0.15")
    form.get_by_label("Output price").fill("0.6")
    form.get_by_role("button", name="Add models").click()
    # The provider refused the key: the verification error, inline, and nothing added.
    expect(form.get_by_role("alert")).to_contain_text("Verification failed")
    expect(models).not_to_contain_text("fake-chat")
    # A field the server names gets the error next to it.
    form.get_by_label("Input price").fill("-1")
    form.get_by_role("button", name="Add models").click()
    expect(form.get_by_label("Input price")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Input price").fill("0.15")

    form.get_by_label("API key", exact=True).fill("sk-provider-key")
    form.get_by_role("button", name="Add models").click()
    expect(form.get_by_role("status")).to_contain_text("Added fake-chat.")
    expect(models).to_contain_text("fake-chat")
    expect(models).to_contain_text("0.15 / 0.6")

    defaults = page.get_by_role("region", name="Default models")
    defaults.get_by_label("Chat model").select_option("fake-chat@OpenAI-API-Compatible")
    expect(defaults.get_by_role("status")).to_contain_text("Defaults saved.")
    token = login_token(web_server, email)
    info = api(web_server, token, "GET", "/v1/user/tenant_info")
    assert info["llm_id"] == "fake-chat@OpenAI-API-Compatible"
    assert_accessible(page, "models page")
    screenshot(page, "models")


def test_team_page_changes_roles_and_removes(context: Any, web_server: WebServer) -> None:
    owner, member = unique_email("boss"), unique_email("crew")
    owner_id = register(web_server, owner, "Boss")
    member_id = register(web_server, member, "Crew")
    token = login_token(web_server, owner)
    api(web_server, token, "POST", f"/v1/tenant/{owner_id}/user", json={"email": member})
    page = open_logged_in(context, web_server, owner, "/settings/team")
    table = page.get_by_role("table", name="Members of this team")
    expect(table).to_contain_text(member)

    page.get_by_label(f"Role of {member}").select_option("admin")
    roles = {}
    for _ in range(50):
        rows = api(web_server, token, "GET", f"/v1/tenant/{owner_id}/user/list")
        roles = {row["user_id"]: row["role"] for row in rows}
        if roles[member_id] == "admin":
            break
        page.wait_for_timeout(100)
    assert roles[member_id] == "admin"
    assert_accessible(page, "team page")

    table.get_by_role("button", name=f"Remove {member}").click()
    page.get_by_role("alertdialog", name="Remove this member?").get_by_role(
        "button", name="Remove"
    ).click()
    expect(table).not_to_contain_text(member)
    rows = api(web_server, token, "GET", f"/v1/tenant/{owner_id}/user/list")
    assert [row["user_id"] for row in rows] == [owner_id]


def test_first_page_javascript_is_within_budget(context: Any, web_server: WebServer) -> None:
    """The JS a browser loads for the settings page, gzipped (a size, not a time)."""
    email = unique_email("budget")
    register(web_server, email)
    scripts: dict[str, bytes] = {}

    def keep(response: Any) -> None:
        if response.request.resource_type == "script":
            scripts[response.url] = response.body()

    token = login_token(web_server, email)
    context.add_init_script(f"localStorage.setItem('ragprism.token', {token!r})")
    page = context.new_page()
    page.on("response", keep)
    page.goto(web_server.url + "/settings/observability")
    expect(page.get_by_role("region", name="Langfuse")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert scripts, "no script loaded"
    assert all(url.startswith(web_server.url) for url in scripts), "a script from elsewhere"
    gzipped = sum(len(gzip.compress(body, 9)) for body in scripts.values())
    assert gzipped < FIRST_PAGE_JS_BUDGET, {url: len(body) for url, body in scripts.items()}
