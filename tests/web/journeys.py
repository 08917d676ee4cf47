"""Steps shared by the browser journeys of this folder: sign up, the chat page's
assistant, question, cited answer and inspector, and polling for what arrives in the
background."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest

from tests.support.langfuse_server import FakeLangfuse
from tests.web.conftest import PASSWORD, PROJECT_ID, WebServer, assert_accessible, screenshot

# The handbook the chat journeys ask about, and the question whose answer it states.
HANDBOOK = (
    "Employees receive 25 days of paid vacation per year. Vacation requests go to the "
    "team lead two weeks ahead.\n\n"
    "The office coffee machine is cleaned every Friday afternoon by the facilities team."
)
QUESTION = "How many days of paid vacation do employees receive?"
T = TypeVar("T")


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def login_token(server: WebServer, email: str) -> str:
    """A login token for ``email`` (registered with the suite's password)."""
    body = httpx.post(
        server.url + "/v1/user/login", json={"email": email, "password": PASSWORD}
    ).json()
    assert body["code"] == 0, body
    token: str = body["data"]["access_token"]
    return token


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    """Poll ``check`` until it returns something (the exporter and the parser run in the
    background); fails naming ``what``. A deadline, not a measurement."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.2)


def sign_up(page: Any, server: WebServer, email: str, name: str) -> None:
    """The sign-up form; a new user lands on Settings → Observability."""
    page.goto(server.url + "/signup")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Observability")).to_be_visible()


def create_assistant(page: Any, name: str, model: str = "", dataset: str = "Handbook") -> None:
    """On the chat page: a new assistant over ``dataset``, selected, with a new session."""
    page.get_by_role("button", name="New assistant").click()
    dialog = page.get_by_role("dialog", name="New assistant")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_role("checkbox", name=dataset).check()
    if model:
        dialog.get_by_label("Chat model").fill(model)
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_be_hidden()
    assistants = page.get_by_role("navigation", name="Assistants")
    assistants.get_by_role("button", name=name, exact=True).click()
    expect(assistants.get_by_role("button", name=name, exact=True)).to_have_attribute(
        "aria-current", "true"
    )
    page.get_by_role("button", name="New session").click()
    expect(page.get_by_role("navigation", name="Sessions").get_by_role("listitem")).to_have_count(1)


def ask(page: Any, question: str) -> None:
    page.get_by_label("Question").fill(question)
    page.get_by_role("button", name="Send").click()


def answers(page: Any) -> Any:
    """The stored answers of the conversation (the ones with their actions)."""
    conversation = page.get_by_role("region", name="Conversation")
    return conversation.get_by_role("listitem").filter(
        has=page.get_by_role("button", name="Inspect")
    )


def check_cited_answer(page: Any) -> Any:
    """The answer to QUESTION is there, cites the handbook, and the marker opens the chunk."""
    answer = answers(page).last
    expect(answer).to_contain_text("25 days of paid vacation")
    citation = answer.get_by_role("button", name=re.compile(r"^Citation \d+: handbook\.txt$"))
    expect(citation.first).to_be_visible()
    citation.first.click()
    cited = page.get_by_role("dialog", name="Cited chunk")
    expect(cited).to_contain_text("Document: handbook.txt")
    expect(cited).to_contain_text("Employees receive 25 days of paid vacation per year.")
    page.keyboard.press("Escape")
    expect(cited).to_be_hidden()
    return answer


def check_inspector(page: Any, answer: Any, name: str, picture: str = "") -> None:
    """The inspector shows the request's steps, the model, and the cited chunk with its text."""
    answer.get_by_role("button", name="Inspect").click()
    drawer = page.get_by_role("dialog", name="Answer inspector")
    expect(drawer.get_by_role("heading", name="Steps")).to_be_visible()
    for step in ("retrieval", "embed-query", "search", "chat"):
        expect(drawer.get_by_text(step, exact=True).first).to_be_visible()
    models = drawer.get_by_role("table")
    expect(models).to_contain_text("builtin-extractive")
    cited = drawer.get_by_role("listitem", name=re.compile(r"^Chunk \d+ \(cited\)$"))
    expect(cited.first).to_contain_text("handbook.txt")
    expect(cited.first).to_contain_text("Employees receive 25 days of paid vacation per year.")
    expect(drawer.get_by_role("heading", name="Prompt")).to_be_visible()
    assert_accessible(page, f"{name}: the answer inspector")
    if picture:
        screenshot(page, picture)
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()


def check_trace_exported(langfuse: FakeLangfuse, trace_id: str) -> None:
    """The answer's trace reached the test server, in the journeys' project."""
    spans = wait_for(lambda: langfuse.spans(trace_id=trace_id), "the answer's trace")
    assert {span["project_id"] for span in spans} == {PROJECT_ID}


def give_good_answer(answer: Any, langfuse: FakeLangfuse, trace_id: str) -> None:
    """ "Good answer" is pressed and reaches Langfuse as the user-feedback score 1."""
    answer.get_by_role("button", name="Good answer").click()
    expect(answer.get_by_role("button", name="Good answer")).to_have_attribute(
        "aria-pressed", "true"
    )
    (score,) = wait_for(
        lambda: langfuse.scores(trace_id=trace_id, name="user-feedback"), "the feedback score"
    )
    assert score["value"] == 1
