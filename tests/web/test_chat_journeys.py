"""Issue 11's chat journeys in the browser, with and without Langfuse, and the usage page.

The dataset is made through the API (the Datasets page has its own journeys); everything
after that is done in the browser: create an assistant, ask, follow the citation, the trace
link, the feedback, the answer inspector, stop a long answer mid-stream, read the usage.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest

from tests.support.langfuse_server import FakeLangfuse
from tests.support.openai_server import FakeOpenAI
from tests.web.conftest import (
    PASSWORD,
    PROJECT_ID,
    PUBLIC_KEY,
    SECRET_KEY,
    WebServer,
    assert_accessible,
    register,
    screenshot,
    unique_email,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

HANDBOOK = (
    "Employees receive 25 days of paid vacation per year. Vacation requests go to the "
    "team lead two weeks ahead.\n\n"
    "The office coffee machine is cleaned every Friday afternoon by the facilities team."
)
QUESTION = "How many days of paid vacation do employees receive?"
# The slow model's answer: long, and held after its first words until the test lets go.
LONG_ANSWER = " ".join(f"word{i}" for i in range(400))
SLOW_MODEL = "fake-chat@OpenAI-API-Compatible"
T = TypeVar("T")


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


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


@pytest.fixture(scope="module")
def slow_model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key="sk-slow-model", reply=LONG_ANSWER) as server:
        yield server


class Tenant:
    """A signed-up user's team, through the API (what the journeys do not click through)."""

    def __init__(self, server: WebServer, name: str) -> None:
        self.server = server
        self.email = unique_email(name)
        register(server, self.email)
        body = httpx.post(
            server.url + "/v1/user/login", json={"email": self.email, "password": PASSWORD}
        ).json()
        assert body["code"] == 0, body
        self.token: str = body["data"]["access_token"]

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method,
            self.server.url + path,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
            **kwargs,
        )
        body = response.json()
        assert body["code"] == 0, body
        return body["data"]

    def connect_langfuse(self, langfuse: FakeLangfuse) -> None:
        self.call(
            "PUT",
            "/api/v1/langfuse/api-key",
            json={"public_key": PUBLIC_KEY, "secret_key": SECRET_KEY, "host": langfuse.url},
        )

    def handbook(self) -> str:
        """A dataset with the handbook uploaded and parsed; its id."""
        dataset_id: str = self.call("POST", "/api/v1/datasets", json={"name": "Handbook"})["id"]
        files = {"file": ("handbook.txt", HANDBOOK.encode(), "text/plain")}
        (document,) = self.call("POST", f"/api/v1/datasets/{dataset_id}/documents", files=files)
        self.call(
            "POST", f"/api/v1/datasets/{dataset_id}/chunks", json={"document_ids": [document["id"]]}
        )

        def parsed() -> bool:
            docs = self.call(
                "GET", f"/api/v1/datasets/{dataset_id}/documents", params={"id": document["id"]}
            )["docs"]
            assert docs[0]["run"] != "FAIL", docs[0]
            return bool(docs[0]["run"] == "DONE")

        wait_for(parsed, "the handbook to be parsed")
        return dataset_id

    def add_slow_model(self, model: FakeOpenAI) -> None:
        self.call(
            "POST",
            "/v1/llm/add_llm",
            json={
                "llm_factory": "OpenAI-API-Compatible",
                "llm_name": "fake-chat",
                "model_type": "chat",
                "api_base": model.url,
                "api_key": model.api_key,
            },
        )

    def last_answer(self, chat_id: str) -> dict[str, Any]:
        (session,) = self.call("GET", f"/api/v1/chats/{chat_id}/sessions")
        message: dict[str, Any] = session["messages"][-1]
        assert message["role"] == "assistant", message
        return message

    def chat_id(self, name: str) -> str:
        chats = self.call("GET", "/api/v1/chats", params={"name": name})
        chat_id: str = chats[0]["id"]
        return chat_id


def open_chat(page: Any, tenant: Tenant) -> None:
    """The chat page, logged in as the tenant's user (the token where the app keeps it)."""
    page.context.add_init_script(f"localStorage.setItem('ragprism.token', {tenant.token!r})")
    page.goto(tenant.server.url + "/chat")
    expect(page.get_by_role("heading", name="Chat", exact=True)).to_be_visible()


def create_assistant(page: Any, name: str, model: str = "") -> None:
    page.get_by_role("button", name="New assistant").click()
    dialog = page.get_by_role("dialog", name="New assistant")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_role("checkbox", name="Handbook").check()
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


def test_chat_journey_with_langfuse(
    page: Any, web_server: WebServer, web_langfuse: FakeLangfuse, slow_model: FakeOpenAI
) -> None:
    tenant = Tenant(web_server, "chat-traced")
    tenant.connect_langfuse(web_langfuse)
    tenant.handbook()
    tenant.add_slow_model(slow_model)
    open_chat(page, tenant)
    create_assistant(page, "Handbook helper")

    # Ask: the answer comes in and cites the handbook.
    ask(page, QUESTION)
    answer = check_cited_answer(page)
    stored = tenant.last_answer(tenant.chat_id("Handbook helper"))
    trace_id = stored["trace_id"]
    assert trace_id

    # "View trace" opens the exported trace in Langfuse, in a new tab.
    trace = answer.get_by_role("link", name="View trace")
    expect(trace).to_have_attribute(
        "href", f"{web_langfuse.url}/project/{PROJECT_ID}/traces/{trace_id}"
    )
    expect(trace).to_have_attribute("target", "_blank")
    assert stored["trace_url"] == trace.get_attribute("href")
    spans = wait_for(lambda: web_langfuse.spans(trace_id=trace_id), "the answer's trace")
    assert {span["project_id"] for span in spans} == {PROJECT_ID}

    # "Good answer" reaches Langfuse as the user-feedback score 1, and stays after a reload.
    answer.get_by_role("button", name="Good answer").click()
    expect(answer.get_by_role("button", name="Good answer")).to_have_attribute(
        "aria-pressed", "true"
    )
    (score,) = wait_for(
        lambda: web_langfuse.scores(trace_id=trace_id, name="user-feedback"), "the feedback score"
    )
    assert score["value"] == 1
    page.reload()
    answer = answers(page).last
    expect(answer.get_by_role("button", name="Good answer")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(answer.get_by_role("button", name="Bad answer")).to_have_attribute(
        "aria-pressed", "false"
    )
    assert_accessible(page, "chat page with an answer")
    screenshot(page, "chat")

    # The inspector: the steps, the model, the cited chunk.
    check_inspector(page, answer, "traced chat", picture="chat-inspector")

    # A long answer from a slow model, stopped mid-stream: what came is kept as "disconnected".
    create_assistant(page, "Slow writer", model=SLOW_MODEL)
    slow_model.pause_stream_after(4)  # the role chunk and three words
    try:
        ask(page, QUESTION)
        # The answer so far, in the conversation's live region, still busy.
        streaming = page.get_by_role("region", name="Conversation").get_by_role("listitem").last
        expect(streaming).to_contain_text("word0 word1 word2")
        expect(streaming).to_have_attribute("aria-busy", "true")
        page.get_by_role("button", name="Stop").click()
        expect(page.get_by_role("button", name="Send")).to_be_visible()
    finally:
        slow_model.clear_faults()
    chat_id = tenant.chat_id("Slow writer")
    stopped = wait_for(
        lambda: (m := tenant.last_answer(chat_id)).get("status") == "disconnected" and m,
        "the stopped answer to be stored",
    )
    assert stopped["content"].startswith("word0 word1 word2")
    assert len(stopped["content"]) < len(LONG_ANSWER)
    page.reload()
    page.get_by_role("navigation", name="Assistants").get_by_role(
        "button", name="Slow writer", exact=True
    ).click()
    expect(answers(page).last).to_contain_text("Answer disconnected.")


def test_chat_journey_without_langfuse(page: Any, web_server: WebServer) -> None:
    tenant = Tenant(web_server, "chat-untraced")
    tenant.handbook()
    open_chat(page, tenant)
    create_assistant(page, "Handbook helper")
    ask(page, QUESTION)
    answer = check_cited_answer(page)
    stored = tenant.last_answer(tenant.chat_id("Handbook helper"))
    assert stored["trace_id"] is None
    assert stored["trace_url"] is None
    expect(answer.get_by_role("button", name="Good answer")).to_be_visible()
    expect(answer.get_by_role("link", name="View trace")).to_have_count(0)
    check_inspector(page, answer, "chat without Langfuse")


def test_usage_page_counts_the_days_answers(page: Any, web_server: WebServer) -> None:
    tenant = Tenant(web_server, "usage")
    tenant.handbook()
    open_chat(page, tenant)
    create_assistant(page, "Handbook helper")
    for _ in range(2):
        ask(page, QUESTION)
        expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(answers(page)).to_have_count(2)
    answers(page).first.get_by_role("button", name="Good answer").click()
    expect(answers(page).first.get_by_role("button", name="Good answer")).to_have_attribute(
        "aria-pressed", "true"
    )
    answers(page).last.get_by_role("button", name="Bad answer").click()
    dialog = page.get_by_role("dialog", name="What was wrong?")
    dialog.get_by_label("Comment (optional)").fill("Too short")
    dialog.get_by_role("button", name="Send").click()
    expect(answers(page).last.get_by_role("button", name="Bad answer")).to_have_attribute(
        "aria-pressed", "true"
    )

    page.get_by_role("link", name="Usage").click()
    expect(page.get_by_role("heading", name="Usage", exact=True)).to_be_visible()
    today = datetime.now(UTC).date().isoformat()
    expect(page.get_by_label("To", exact=True)).to_have_value(today)
    per_day = page.get_by_role("table", name="Usage per day (days with answers)")
    row = per_day.get_by_role("row", name=re.compile(today))
    expect(row).to_be_visible()
    cells = row.get_by_role("cell")
    expect(cells.nth(0)).to_have_text("2")  # requests
    expect(cells.nth(1)).to_have_text("0")  # errors
    expect(cells.nth(7)).to_have_text("50% (1 of 2)")  # negative feedback: 1 of 2 rated
    per_assistant = page.get_by_role("table", name="Usage per assistant and model")
    helper = per_assistant.get_by_role("row", name=re.compile("Handbook helper"))
    expect(helper.get_by_role("cell").nth(0)).to_have_text("builtin-extractive")
    expect(helper.get_by_role("cell").nth(1)).to_have_text("2")
    expect(page.get_by_role("figure", name=re.compile("Requests per day"))).to_be_visible()
    assert_accessible(page, "usage page")
    screenshot(page, "usage")

    # A range without answers.
    page.get_by_label("From", exact=True).fill("2020-01-01")
    page.get_by_label("To", exact=True).fill("2020-01-31")
    expect(per_day.get_by_role("row")).to_have_count(1)  # the header only
    expect(page.get_by_text("No answer in this range.").first).to_be_visible()
