"""Issue 11's chat journeys in the browser, with and without Langfuse, and the usage page.

The dataset is made through the API (the Datasets page has its own journeys); everything
after that is done in the browser: create an assistant, ask, follow the citation, the trace
link, the feedback, the answer inspector, stop a long answer mid-stream, read the usage.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

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
from tests.web.journeys import (
    HANDBOOK,
    QUESTION,
    answers,
    ask,
    check_cited_answer,
    check_inspector,
    check_trace_exported,
    create_assistant,
    expect,
    give_good_answer,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

# The slow model's answer: long, and held after its first words until the test lets go.
LONG_ANSWER = " ".join(f"word{i}" for i in range(400))
SLOW_MODEL = "fake-chat@OpenAI-API-Compatible"


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
    check_trace_exported(web_langfuse, trace_id)

    # "Good answer" reaches Langfuse as the user-feedback score 1, and stays after a reload.
    give_good_answer(answer, web_langfuse, trace_id)
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
