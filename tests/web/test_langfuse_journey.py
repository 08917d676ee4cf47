"""The Settings → Observability journey of issue 9, with the mouse and with the keyboard."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from tests.support.langfuse_server import FakeLangfuse
from tests.web.conftest import (
    PASSWORD,
    PROJECT_ID,
    PROJECT_NAME,
    PUBLIC_KEY,
    SECRET_KEY,
    WebServer,
    assert_accessible,
    register,
    screenshot,
    unique_email,
)
from tests.web.journeys import expect, sign_up

# Generous: the first test also waits for the server, and Chromium shares two busy cores.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

WRONG_SECRET = "sk-lf-wrong-secret-0000"


def described_by(locator: Any) -> str:
    """The text of the elements that describe an input (what a screen reader reads)."""
    text: str = locator.evaluate(
        "el => (el.getAttribute('aria-describedby') || '').split(' ').filter(Boolean)"
        ".map(id => document.getElementById(id)?.textContent || '').join(' ')"
    )
    return text


def stored_config(server: WebServer, page: Any) -> Any:
    """The tenant's Langfuse configuration as the API gives it, with the page's login."""
    token = page.evaluate("() => localStorage.getItem('ragprism.token')")
    body = httpx.get(
        server.url + "/api/v1/langfuse/api-key", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert body["code"] == 0, body
    return body["data"]


def log_in(page: Any, server: WebServer, email: str, path: str = "/") -> None:
    page.goto(server.url + path)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_langfuse_card_journey(
    page: Any, context: Any, browser: Any, web_server: WebServer, web_langfuse: FakeLangfuse
) -> None:
    owner_email = unique_email("owner")
    page.goto(web_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    assert_accessible(page, "login page")
    screenshot(page, "login")
    page.get_by_role("link", name="Create an account").click()
    assert_accessible(page, "sign-up page")
    sign_up(page, web_server, owner_email, "Olivia")

    # Not configured: two sentences and "Configure".
    card = page.get_by_role("region", name="Langfuse")
    expect(card).to_contain_text("Langfuse is not connected for this team yet.")
    expect(card.get_by_role("link", name=re.compile("View"))).to_have_count(0)
    assert_accessible(page, "observability, not configured")
    screenshot(page, "observability-not-configured")

    # Wrong keys: the error under the keys, nothing stored, the dialog keeps what was typed.
    card.get_by_role("button", name="Configure").click()
    dialog = page.get_by_role("dialog", name="Connect Langfuse")
    public_key = dialog.get_by_label("Public key", exact=True)
    secret_key = dialog.get_by_label("Secret key", exact=True)
    host = dialog.get_by_label("Host", exact=True)
    expect(public_key).to_have_attribute("type", "password")
    expect(secret_key).to_have_attribute("type", "password")
    expect(host).to_have_attribute("placeholder", "https://cloud.langfuse.com")
    public_key.fill(PUBLIC_KEY)
    secret_key.fill(WRONG_SECRET)
    host.fill(web_langfuse.url)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_have_text("Invalid Langfuse keys")
    for key in (public_key, secret_key):
        expect(key).to_have_attribute("aria-invalid", "true")
        assert "Invalid Langfuse keys" in described_by(key)
    assert "Invalid Langfuse keys" not in described_by(host)
    expect(secret_key).to_have_value(WRONG_SECRET)
    expect(public_key).to_have_value(PUBLIC_KEY)
    assert stored_config(web_server, page) is None
    assert_accessible(page, "configure dialog with an error")
    screenshot(page, "observability-configure-error")

    # The right keys: saved, the card shows the project.
    responses: list[Any] = []
    page.on("response", lambda response: responses.append(response))
    secret_key.fill(SECRET_KEY)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(card).to_contain_text(PROJECT_NAME)
    expect(card).to_contain_text(web_langfuse.url)
    expect(card).to_contain_text(PUBLIC_KEY)
    view = card.get_by_role("link", name=re.compile("View"))
    expect(view).to_have_attribute("href", f"{web_langfuse.url}/project/{PROJECT_ID}")
    expect(view).to_have_attribute("target", "_blank")
    stored = stored_config(web_server, page)
    assert stored["project_name"] == PROJECT_NAME
    mask = stored["secret_key"]
    assert mask != SECRET_KEY
    page.wait_for_load_state("networkidle")
    # Bodies are read before the reload discards them.
    bodies = [r.text() for r in responses if r.url.startswith(web_server.url) and r.ok]
    responses.clear()

    # A reload shows the mask, never the secret: not in the HTML, storage or any response.
    page.reload()
    expect(card).to_contain_text(PROJECT_NAME)
    expect(card).to_contain_text(mask)
    expect(card).to_contain_text("Keys valid")
    for name in ("Exported", "Retried", "Spooled", "Dropped", "Last error"):
        expect(card.get_by_text(name, exact=True)).to_be_visible()
    assert SECRET_KEY not in page.content()
    storage = page.evaluate("() => JSON.stringify(Object.entries(localStorage))")
    assert SECRET_KEY not in storage
    page.wait_for_load_state("networkidle")
    bodies += [r.text() for r in responses if r.url.startswith(web_server.url) and r.ok]
    assert len(bodies) > 5, "the page made (almost) no request after saving"
    assert not [body for body in bodies if SECRET_KEY in body]
    assert_accessible(page, "observability, configured")
    screenshot(page, "observability-configured")

    # Editing: the secret is not pre-filled; the mask and "leave blank" are shown.
    card.get_by_role("button", name="Edit").click()
    dialog = page.get_by_role("dialog", name="Edit the Langfuse connection")
    expect(dialog.get_by_label("Secret key", exact=True)).to_have_value("")
    expect(dialog).to_contain_text("leave blank to keep the current secret")
    expect(dialog).to_contain_text(mask)
    dialog.get_by_text("Advanced").click()
    for label in ("Tracing enabled", "Sample rate", "Capture", "Environment"):
        expect(dialog.get_by_label(label, exact=True)).to_be_visible()
    dialog.get_by_label("Sample rate", exact=True).fill("0.5")
    screenshot(page, "observability-edit")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(card).to_contain_text("sample rate 0.5")
    assert stored_config(web_server, page)["sample_rate"] == 0.5

    # A member (invited on the Team page) sees the card read-only.
    member_email = unique_email("member")
    register(web_server, member_email, "Max")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Team").click()
    page.get_by_label("E-mail address").fill(member_email)
    page.get_by_role("button", name="Invite").click()
    members = page.get_by_role("table", name="Members of this team")
    expect(members).to_contain_text(member_email)
    assert_accessible(page, "team page")
    screenshot(page, "team")

    member_context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        member = member_context.new_page()
        log_in(member, web_server, member_email)
        expect(member.get_by_role("heading", name="Observability")).to_be_visible()
        switcher = member.get_by_label("Team", exact=True)
        options = switcher.locator("option")
        expect(options).to_have_count(2)
        owner_tenant = stored_config(web_server, page)["tenant_id"]
        switcher.select_option(owner_tenant)
        member_card = member.get_by_role("region", name="Langfuse")
        expect(member_card).to_contain_text(PROJECT_NAME)
        expect(member_card.get_by_role("link", name=re.compile("View"))).to_have_attribute(
            "href", f"{web_langfuse.url}/project/{PROJECT_ID}"
        )
        expect(member_card.get_by_role("button", name="Edit")).to_have_count(0)
        expect(member_card.get_by_role("button", name="Configure")).to_have_count(0)
        expect(member_card.get_by_role("button", name="Delete")).to_have_count(0)
        expect(member_card).to_contain_text("Only the team's owner or an admin")
        assert_accessible(member, "observability, read-only")
        screenshot(member, "observability-member")
    finally:
        member_context.close()

    # Delete asks first; Cancel keeps the connection, Delete removes it.
    settings_nav = page.get_by_role("navigation", name="Settings")
    settings_nav.get_by_role("link", name="Observability").click()
    card.get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("alertdialog", name="Delete the Langfuse connection?")
    expect(confirm).to_be_visible()
    assert_accessible(page, "delete confirmation")
    screenshot(page, "observability-delete")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    assert stored_config(web_server, page) is not None
    card.get_by_role("button", name="Delete").click()
    confirm.get_by_role("button", name="Delete").click()
    expect(confirm).to_be_hidden()
    expect(card.get_by_role("button", name="Configure")).to_be_visible()
    expect(card).to_contain_text("Langfuse is not connected for this team yet.")
    assert stored_config(web_server, page) is None


def _focused(page: Any) -> str:
    """The accessible name (label, aria-label or text) and role of the focused element."""
    text: str = page.evaluate(
        """() => {
          const el = document.activeElement;
          if (!el) return '';
          const label = el.labels && el.labels[0] ? el.labels[0].textContent : '';
          return [el.tagName, el.getAttribute('aria-label') || label || el.textContent || '']
            .join(':').trim();
        }"""
    )
    return text


def tab_to(page: Any, wanted: str, *, limit: int = 40) -> None:
    """Press Tab until the focused element's name is ``wanted``; check focus is visible."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = _focused(page)
        seen.append(focused)
        if focused.split(":", 1)[1] == wanted:
            outline = page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement);"
                " return [s.outlineStyle, s.outlineWidth]; }"
            )
            assert outline[0] != "none", (wanted, outline)
            assert outline[1] != "0px", (wanted, outline)
            return
    raise AssertionError(f"Tab never reached {wanted!r}; focus went through {seen}")


def test_langfuse_card_journey_with_the_keyboard_only(
    page: Any, web_server: WebServer, web_langfuse: FakeLangfuse
) -> None:
    email = unique_email("keyboard")
    page.goto(web_server.url + "/signup")
    # A person starts typing once the form is there: the page's code loads after the shell.
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    tab_to(page, "Name")
    page.keyboard.type("Kim")
    tab_to(page, "Email")
    page.keyboard.type(email)
    tab_to(page, "Password")
    page.keyboard.type(PASSWORD)
    tab_to(page, "Sign up")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Observability")).to_be_visible()
    card = page.get_by_role("region", name="Langfuse")
    expect(card.get_by_role("button", name="Configure")).to_be_visible()

    tab_to(page, "Configure")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Connect Langfuse")
    expect(dialog).to_be_visible()
    # The dialog takes the focus: the first field.
    expect(dialog.get_by_label("Public key", exact=True)).to_be_focused()
    page.keyboard.type(PUBLIC_KEY)
    tab_to(page, "Secret key")
    page.keyboard.type(WRONG_SECRET)
    tab_to(page, "Host")
    page.keyboard.type(web_langfuse.url)
    page.keyboard.press("Enter")  # submits the form
    expect(dialog.get_by_role("alert")).to_have_text("Invalid Langfuse keys")
    assert stored_config(web_server, page) is None

    # Back to the secret (Shift+Tab), show it, fix it.
    secret = dialog.get_by_label("Secret key", exact=True)
    secret.focus()
    page.keyboard.press("Tab")
    assert _focused(page).split(":", 1)[1] == "Show secret key"
    page.keyboard.press("Space")
    expect(secret).to_have_attribute("type", "text")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type(SECRET_KEY)
    tab_to(page, "Save")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(card).to_contain_text(PROJECT_NAME)
    # Focus returns to the button that opened the dialog.
    assert _focused(page).split(":", 1)[1] in ("Configure", "Edit")

    page.reload()
    expect(card).to_contain_text(PROJECT_NAME)
    assert SECRET_KEY not in page.content()
    tab_to(page, "View in Langfuse (opens in a new tab)")
    href = page.evaluate("() => document.activeElement.getAttribute('href')")
    assert href == f"{web_langfuse.url}/project/{PROJECT_ID}"

    tab_to(page, "Delete")
    page.keyboard.press("Enter")
    confirm = page.get_by_role("alertdialog", name="Delete the Langfuse connection?")
    expect(confirm).to_be_visible()
    # Escape cancels; then confirm with Tab to "Delete" and Enter.
    page.keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    assert stored_config(web_server, page) is not None
    tab_to(page, "Delete")
    page.keyboard.press("Enter")
    expect(confirm).to_be_visible()
    tab_to(page, "Delete")
    page.keyboard.press("Enter")
    expect(confirm).to_be_hidden()
    expect(card).to_contain_text("Langfuse is not connected for this team yet.")
    assert stored_config(web_server, page) is None


def test_expired_session_returns_to_the_page_after_login(page: Any, web_server: WebServer) -> None:
    email = unique_email("expiry")
    register(web_server, email)
    log_in(page, web_server, email, "/settings/observability")
    expect(page.get_by_role("heading", name="Observability")).to_be_visible()
    # The server forgets the login (as after its lifetime): the next request gets 401.
    token = page.evaluate("() => localStorage.getItem('ragprism.token')")
    out = httpx.post(web_server.url + "/v1/user/logout", headers={"Authorization": token})
    assert out.json()["code"] == 0
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your session has expired")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fsettings%2Fapi-keys"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/settings/api-keys$"))
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()


def test_log_out_returns_to_the_login_page(page: Any, web_server: WebServer) -> None:
    email = unique_email("logout")
    register(web_server, email)
    log_in(page, web_server, email)
    expect(page.get_by_role("heading", name="Observability")).to_be_visible()
    token = page.evaluate("() => localStorage.getItem('ragprism.token')")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert page.evaluate("() => localStorage.getItem('ragprism.token')") is None
    # The token was revoked on the server too.
    info = httpx.get(web_server.url + "/v1/user/info", headers={"Authorization": token})
    assert info.status_code == 401
    assert json.loads(info.text)["code"] == 401
