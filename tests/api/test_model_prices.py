"""Model prices (``input_price``/``output_price``, USD per 1M tokens, on ``add_llm``) and the
``cost_details`` they put on every traced call of the model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragprism.runtime import Runtime
from tests.api.chat_support import HANDBOOK, ChatApi
from tests.api.rag_support import fail_fast_models
from tests.api.trace_support import (
    COST,
    USAGE,
    add_model,
    attr,
    trace_of,
    trace_spans,
    traced,
    value,
)
from tests.conftest import Accounts
from tests.support.langfuse_server import FakeLangfuse
from tests.support.openai_server import FakeOpenAI

CHAT = "fake-chat@OpenAI-API-Compatible"
EMBEDDING = "fake-embedding@OpenAI-API-Compatible"
RERANK = "fake-rerank@OpenAI-API-Compatible"
QUESTION = "How many days of paid vacation do employees get?"
REPLY = "Vacation is 25 days per year [ID:0]."


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key="sk-test", reply=REPLY) as server:
        yield server


@pytest.fixture
def api(
    client: TestClient, accounts: Accounts, state: Runtime, monkeypatch: pytest.MonkeyPatch
) -> ChatApi:
    fail_fast_models(state, monkeypatch)
    return ChatApi(client, accounts.user("owner@example.com"), state)


def my_models(api: ChatApi) -> dict[str, dict[str, Any]]:
    """``my_llms`` flattened: ``name@factory`` → entry."""
    body = api.client.get("/v1/llm/my_llms", headers=api.headers).json()
    assert body["code"] == 0, body
    return {
        f"{item['name']}@{factory}": item
        for factory, entry in body["data"].items()
        for item in entry["llm"]
    }


def expected_cost(usage: dict[str, int], input_price: float, output_price: float) -> Any:
    """The cost of recorded ``usage`` at these prices (USD per 1M tokens)."""
    input_cost = usage["input"] * input_price / 1e6
    output_cost = usage["output"] * output_price / 1e6
    total = input_cost + output_cost
    return pytest.approx({"input": input_cost, "output": output_cost, "total": total})


def test_prices_are_stored_returned_and_replaced(api: ChatApi, openai_server: FakeOpenAI) -> None:
    added = add_model(
        api.client, api.headers, openai_server.url, "fake-chat", "chat",
        input_price=0.15, output_price=0.6,
    )  # fmt: skip
    assert added == {"llm_id": CHAT, "model_type": "chat"}
    add_model(api.client, api.headers, openai_server.url, "fake-embedding", "embedding")
    models = my_models(api)
    assert (models[CHAT]["input_price"], models[CHAT]["output_price"]) == (0.15, 0.6)
    assert (models[EMBEDDING]["input_price"], models[EMBEDDING]["output_price"]) == (None, None)
    builtin = models["builtin-extractive@Builtin"]
    assert (builtin["input_price"], builtin["output_price"]) == (0.0, 0.0)  # free: runs locally
    # Adding the model again replaces its settings, prices included.
    add_model(api.client, api.headers, openai_server.url, "fake-chat", "chat", input_price=3)
    models = my_models(api)
    assert (models[CHAT]["input_price"], models[CHAT]["output_price"]) == (3.0, None)


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ('"input_price": -0.01', "input_price", "must be a finite number from 0"),
        ('"output_price": NaN', "output_price", "must be a finite number from 0"),
        ('"output_price": Infinity', "output_price", "must be a finite number from 0"),
        ('"input_price": 1e400', "input_price", "must be a finite number from 0"),
        ('"input_price": 1000001', "input_price", "must be a finite number from 0"),
        ('"input_price": "0.5"', "input_price", "valid number"),
        ('"output_price": true', "output_price", "valid number"),
        ('"input_price": [1]', "input_price", "valid number"),
    ],
)
def test_bad_prices_are_refused_naming_the_field(
    api: ChatApi, openai_server: FakeOpenAI, raw: str, field: str, message: str
) -> None:
    body = (
        '{"llm_factory": "OpenAI-API-Compatible", "llm_name": "fake-chat", "model_type": "chat",'
        f' "api_base": "{openai_server.url}", "verify": false, {raw}}}'
    )
    headers = {**api.headers, "Content-Type": "application/json"}
    answer = api.client.post("/v1/llm/add_llm", headers=headers, content=body).json()
    assert answer["code"] == 101, answer
    assert answer["message"].startswith(f"{field}: ")
    assert message in answer["message"]
    assert CHAT not in my_models(api)  # nothing stored


def test_zero_prices_are_a_price(api: ChatApi, openai_server: FakeOpenAI) -> None:
    add_model(
        api.client, api.headers, openai_server.url, "fake-chat", "chat",
        input_price=0, output_price=0.0,
    )  # fmt: skip
    assert my_models(api)[CHAT]["input_price"] == 0.0


def test_every_observation_of_a_priced_model_carries_its_cost(
    api: ChatApi, state: Runtime, fake_langfuse: FakeLangfuse, openai_server: FakeOpenAI
) -> None:
    url = openai_server.url
    add_model(api.client, api.headers, url, "fake-chat", "chat", input_price=2.5, output_price=10)
    add_model(api.client, api.headers, url, "fake-embedding", "embedding", input_price=0.02)
    add_model(api.client, api.headers, url, "fake-rerank", "rerank", input_price=0.05)
    project_id = traced(api, fake_langfuse)
    dataset_id = api.dataset("handbook", embedding_model=EMBEDDING)["id"]
    api.ingest("handbook.txt", HANDBOOK.encode(), dataset_id)
    chat = api.chat(
        "helpdesk",
        dataset_ids=[dataset_id],
        llm={"model_name": CHAT},
        prompt={"rerank_model": RERANK},
    )
    answer = api.ask(chat["id"], QUESTION)

    ingest = trace_spans(
        state,
        fake_langfuse,
        project_id,
        trace_of(state, fake_langfuse, project_id, "ragflow-ingest"),
        5,
    )
    embed = ingest["embed"]
    usage = value(embed, USAGE)
    assert usage["input"] == len(HANDBOOK.split())  # the test server counts words
    assert value(embed, COST) == expected_cost(usage, 0.02, 0.0)

    spans = trace_spans(state, fake_langfuse, project_id, answer["trace_id"], 6)
    query = value(spans["embed-query"], USAGE)
    assert query == {"input": len(QUESTION.split()), "output": 0, "total": len(QUESTION.split())}
    assert value(spans["embed-query"], COST) == expected_cost(query, 0.02, 0.0)
    rerank = value(spans["rerank"], USAGE)
    assert rerank["input"] > 0
    assert value(spans["rerank"], COST) == expected_cost(rerank, 0.05, 0.0)
    generation = value(spans["chat"], USAGE)
    assert generation["input"] > 0
    assert generation["output"] == len(REPLY.split())  # words, as the test server counts
    assert value(spans["chat"], COST) == expected_cost(generation, 2.5, 10)
    for name in ("ragflow-chat", "retrieval", "search"):  # no model, no cost
        assert attr(spans[name], COST) is None


def test_no_price_no_cost_and_a_new_price_applies_at_once(
    api: ChatApi, state: Runtime, fake_langfuse: FakeLangfuse, openai_server: FakeOpenAI
) -> None:
    add_model(api.client, api.headers, openai_server.url, "fake-chat", "chat")
    project_id = traced(api, fake_langfuse)
    chat = api.chat("plain", dataset_ids=[], llm={"model_name": CHAT})
    first = api.ask(chat["id"], QUESTION)
    spans = trace_spans(state, fake_langfuse, project_id, first["trace_id"], 2)
    assert value(spans["chat"], USAGE)["total"] > 0
    assert attr(spans["chat"], COST) is None

    add_model(api.client, api.headers, openai_server.url, "fake-chat", "chat", output_price=1.0)
    second = api.ask(chat["id"], QUESTION)
    spans = trace_spans(state, fake_langfuse, project_id, second["trace_id"], 2)
    usage = value(spans["chat"], USAGE)
    assert value(spans["chat"], COST) == expected_cost(usage, 0.0, 1.0)


def test_built_in_models_are_free(
    api: ChatApi, state: Runtime, fake_langfuse: FakeLangfuse
) -> None:
    chat_id, _ = api.knowledge_chat()  # built-in chat and embedding models
    project_id = traced(api, fake_langfuse)
    answer = api.ask(chat_id, QUESTION)
    spans = trace_spans(state, fake_langfuse, project_id, answer["trace_id"], 5)
    zero = {"input": 0.0, "output": 0.0, "total": 0.0}
    assert value(spans["embed-query"], COST) == zero
    assert value(spans["chat"], COST) == zero
    assert value(spans["chat"], "langfuse.observation.metadata.usage_estimated") is True


def test_prices_are_the_tenants_own(
    api: ChatApi, accounts: Accounts, state: Runtime, openai_server: FakeOpenAI
) -> None:
    add_model(api.client, api.headers, openai_server.url, "fake-chat", "chat", input_price=5)
    other = ChatApi(api.client, accounts.user("other@example.com"), state)
    assert CHAT not in my_models(other)
    add_model(other.client, other.headers, openai_server.url, "fake-chat", "chat", input_price=7)
    assert my_models(api)[CHAT]["input_price"] == 5.0
    assert my_models(other)[CHAT]["input_price"] == 7.0
