"""Chat assistant CRUD: RAGFlow's defaults, validation, duplicates, tenant isolation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ragprism.runtime import Runtime
from ragprism.services.chat.chats import DEFAULT_OPENER, DEFAULT_SYSTEM_PROMPT
from tests.api.chat_support import ChatApi
from tests.api.rag_support import MISSING_ID
from tests.conftest import Accounts


@pytest.fixture
def api(client: TestClient, accounts: Accounts, state: Runtime) -> ChatApi:
    return ChatApi(client, accounts.user("owner@example.com"), state)


@pytest.fixture
def other(client: TestClient, accounts: Accounts, state: Runtime) -> ChatApi:
    return ChatApi(client, accounts.user("other@example.com"), state)


def test_create_with_ragflow_defaults(api: ChatApi) -> None:
    dataset = api.dataset("kb")
    chat = api.chat("helper", dataset_ids=[dataset["id"]])
    assert len(chat["id"]) == 32
    assert chat["dataset_ids"] == [dataset["id"]]
    assert chat["llm"] == {
        "model_name": "builtin-extractive@Builtin",
        "temperature": 0.1,
        "top_p": 0.3,
        "presence_penalty": 0.4,
        "frequency_penalty": 0.7,
    }
    prompt = chat["prompt"]
    assert prompt["similarity_threshold"] == 0.2
    assert prompt["keywords_similarity_weight"] == 0.7
    assert prompt["top_n"] == 6
    assert prompt["top_k"] == 1024
    assert prompt["variables"] == [{"key": "knowledge", "optional": False}]
    assert prompt["opener"] == DEFAULT_OPENER
    assert prompt["show_quote"] is True
    assert prompt["prompt"] == DEFAULT_SYSTEM_PROMPT
    assert "{knowledge}" in prompt["prompt"]
    assert prompt["empty_response"]
    assert {"create_time", "update_time", "create_date"} <= chat.keys()


def test_create_with_settings_and_update_merges(api: ChatApi) -> None:
    chat = api.chat(
        "tuned",
        llm={"temperature": 0.5, "max_tokens": 256},
        prompt={
            "keywords_similarity_weight": 0.4,
            "top_n": 3,
            "opener": "Hello",
            "show_quote": False,
        },
    )
    assert chat["llm"]["temperature"] == 0.5
    assert chat["llm"]["max_tokens"] == 256
    assert chat["llm"]["top_p"] == 0.3
    assert chat["prompt"]["keywords_similarity_weight"] == 0.4
    assert chat["prompt"]["top_n"] == 3
    assert chat["prompt"]["opener"] == "Hello"
    updated = api.ok(
        "PUT", f"/chats/{chat['id']}", json={"llm": {"top_p": 0.9}, "prompt": {"top_n": 4}}
    )
    assert updated["name"] == "tuned"
    assert updated["llm"]["temperature"] == 0.5
    assert updated["llm"]["top_p"] == 0.9
    assert updated["prompt"]["top_n"] == 4
    assert updated["prompt"]["opener"] == "Hello"
    renamed = api.ok("PUT", f"/chats/{chat['id']}", json={"name": "renamed"})
    assert renamed["name"] == "renamed"
    assert api.ok("GET", f"/chats/{chat['id']}")["name"] == "renamed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "x", "llm": {"temperature": "hot"}}, "llm.temperature"),
        ({"name": "x", "llm": {"top_p": 3}}, "llm.top_p"),
        ({"name": "x", "prompt": {"similarity_threshold": 2}}, "prompt.similarity_threshold"),
        ({"name": "x", "prompt": {"top_n": 0}}, "prompt.top_n"),
        ({"name": "x", "prompt": {"prompt": "no variable here"}}, "knowledge"),
        ({"name": "x", "dataset_ids": "abc"}, "dataset_ids"),
        ({"name": "x\x00y"}, "name"),
        ({"name": "x", "prompt": {"opener": "hi\x00"}}, "prompt.opener"),
    ],
)
def test_invalid_fields_are_101_naming_them(
    api: ChatApi, body: dict[str, object], field: str
) -> None:
    result = api.call("POST", "/chats", json=body)
    assert result["code"] == 101, result
    assert field in result["message"]


def test_duplicate_names_and_unknown_references_are_102(api: ChatApi, other: ChatApi) -> None:
    api.chat("same")
    duplicate = api.call("POST", "/chats", json={"name": "SAME"})
    assert duplicate["code"] == 102
    assert "Duplicated chat name" in duplicate["message"]
    second = api.chat("second")
    rename = api.call("PUT", f"/chats/{second['id']}", json={"name": "same"})
    assert rename["code"] == 102
    assert "Duplicated chat name" in rename["message"]
    foreign = other.dataset("theirs")
    for dataset_ids in ([MISSING_ID], [foreign["id"]]):
        result = api.call("POST", "/chats", json={"name": "kb", "dataset_ids": dataset_ids})
        assert result["code"] == 102
        assert dataset_ids[0] in result["message"]
    model = api.call("POST", "/chats", json={"name": "m", "llm": {"model_name": "nope@OpenAI"}})
    assert model["code"] == 102
    assert "model_name" in model["message"]


def test_datasets_must_share_an_embedding_model(api: ChatApi) -> None:
    first = api.dataset("a")
    second = api.dataset("b", embedding_model="builtin-hashing-256@Builtin")
    result = api.call(
        "POST", "/chats", json={"name": "x", "dataset_ids": [first["id"], second["id"]]}
    )
    assert result["code"] == 102
    assert "embedding" in result["message"]


def test_list_paging_ordering_and_filters(api: ChatApi) -> None:
    ids = [api.chat(f"chat-{i}")["id"] for i in range(3)]
    newest_first = [c["id"] for c in api.ok("GET", "/chats")]
    assert newest_first == ids[::-1]
    oldest_first = [c["id"] for c in api.ok("GET", "/chats", params={"desc": "false"})]
    assert oldest_first == ids
    page = api.ok("GET", "/chats", params={"page": 2, "page_size": 2, "desc": "false"})
    assert [c["id"] for c in page] == ids[2:]
    assert [c["id"] for c in api.ok("GET", "/chats", params={"name": "chat-1"})] == [ids[1]]
    assert [c["id"] for c in api.ok("GET", "/chats", params={"id": ids[0]})] == [ids[0]]
    missing = api.call("GET", "/chats", params={"id": MISSING_ID})
    assert missing["code"] == 102
    bad = api.call("GET", "/chats", params={"orderby": "name"})
    assert bad["code"] == 101
    assert "orderby" in bad["message"]


def test_delete(api: ChatApi) -> None:
    keep, gone = api.chat("keep")["id"], api.chat("gone")["id"]
    api.new_session(gone)
    assert api.call("DELETE", "/chats", json={"ids": [gone, MISSING_ID]})["code"] == 102
    assert len(api.ok("GET", "/chats")) == 2  # nothing deleted when one id is unknown
    api.ok("DELETE", "/chats", json={"ids": [gone]})
    assert [c["id"] for c in api.ok("GET", "/chats")] == [keep]
    assert api.call("GET", f"/chats/{gone}")["code"] == 102
    api.ok("DELETE", "/chats", json={"ids": []})  # no ids: nothing happens
    assert len(api.ok("GET", "/chats")) == 1
    api.ok("DELETE", "/chats", json={"delete_all": True})
    assert api.ok("GET", "/chats") == []


def test_tenant_isolation(api: ChatApi, other: ChatApi) -> None:
    chat = api.chat("mine")
    assert other.ok("GET", "/chats") == []
    for method, path, body in [
        ("GET", f"/chats/{chat['id']}", None),
        ("PUT", f"/chats/{chat['id']}", {"name": "stolen"}),
        ("DELETE", "/chats", {"ids": [chat["id"]]}),
        ("GET", "/chats?id=" + chat["id"], None),
    ]:
        result = other.call(method, path, json=body)
        assert result["code"] == 102, (method, path, result)
    assert api.ok("GET", f"/chats/{chat['id']}")["name"] == "mine"
    # The same name is free in another tenant.
    other.chat("mine")


def test_requires_login(client: TestClient) -> None:
    response = client.get("/api/v1/chats")
    assert response.status_code == 401
    assert response.json()["code"] == 401


def test_healthz_needs_no_login(client: TestClient) -> None:
    response = client.get("/api/v1/system/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["db"] == "ok"


def test_later_sdk_spelling_maps_to_the_same_settings(api: ChatApi) -> None:
    """ragflow-sdk after 0.24: icon, llm_id, llm_setting, prompt_config, top-level retrieval
    settings, PATCH updates merged key by key; responses carry both spellings."""
    dataset = api.dataset("kb")
    chat = api.chat(
        "later",
        icon="data:image/png;base64,AA==",
        dataset_ids=[dataset["id"]],
        llm_id="builtin-extractive@Builtin",
        llm_setting={"temperature": 0.5, "max_tokens": 256},
        prompt_config={"prologue": "Hello", "quote": False},
        vector_similarity_weight=0.6,
        top_n=3,
    )
    assert chat["icon"] == chat["avatar"] == "data:image/png;base64,AA=="
    assert chat["llm_id"] == chat["llm"]["model_name"] == "builtin-extractive@Builtin"
    assert chat["llm_setting"]["temperature"] == chat["llm"]["temperature"] == 0.5
    assert chat["llm_setting"]["top_p"] == 0.3
    assert chat["prompt_config"]["prologue"] == chat["prompt"]["opener"] == "Hello"
    assert chat["prompt_config"]["quote"] is False
    assert chat["prompt_config"]["system"] == DEFAULT_SYSTEM_PROMPT
    assert chat["vector_similarity_weight"] == 0.6
    assert chat["prompt"]["keywords_similarity_weight"] == 0.4
    assert chat["top_n"] == chat["prompt"]["top_n"] == 3
    path = f"/chats/{chat['id']}"
    updated = api.ok(
        "PATCH", path, json={"llm_setting": {"top_p": 0.9}, "prompt_config": {"quote": True}}
    )
    assert updated["llm_setting"]["temperature"] == 0.5
    assert updated["llm_setting"]["top_p"] == 0.9
    assert updated["prompt_config"]["prologue"] == "Hello"
    assert updated["prompt_config"]["quote"] is True
    assert api.ok("PATCH", path, json={"name": "renamed", "top_k": 64})["prompt"]["top_k"] == 64
    # The earlier spelling still reads and writes the same settings.
    assert api.ok("PUT", path, json={"prompt": {"top_n": 5}})["top_n"] == 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "icon": "a", "avatar": "b"}, "icon"),
        ({"name": "x", "llm_id": "m", "llm": {"model_name": "m"}}, "llm_id"),
        ({"name": "x", "top_n": 3, "prompt": {"top_n": 4}}, "top_n"),
        ({"name": "x", "llm_setting": {"top_p": 3}}, "llm_setting.top_p"),
        ({"name": "x", "prompt_config": {"system": "no variable"}}, "knowledge"),
        ({"name": "x", "vector_similarity_weight": 2}, "vector_similarity_weight"),
    ],
)
def test_later_spelling_invalid_or_doubled_fields_are_101(
    api: ChatApi, body: dict[str, object], field: str
) -> None:
    result = api.call("POST", "/chats", json=body)
    assert result["code"] == 101, result
    assert field in result["message"]


def test_list_in_the_later_shape_when_asked_with_its_parameters(api: ChatApi) -> None:
    """``keywords`` or ``owner_ids`` exist only in the later API, whose SDK reads
    ``{"chats": [...], "total": n}``; without them the list stays bare."""
    ids = [api.chat(name)["id"] for name in ("Front desk", "back office", "desk two")]
    assert isinstance(api.ok("GET", "/chats"), list)
    everything = api.ok("GET", "/chats", params={"keywords": ""})
    assert [c["id"] for c in everything["chats"]] == ids[::-1]
    assert everything["total"] == 3
    page = api.ok("GET", "/chats", params={"keywords": "DESK", "page_size": 1, "desc": "false"})
    assert [c["id"] for c in page["chats"]] == [ids[0]]
    assert page["total"] == 2
    by_name = api.ok("GET", "/chats", params={"keywords": "office", "name": "desk two"})
    assert [c["id"] for c in by_name["chats"]] == [ids[2]]  # name wins, as in RAGFlow
    assert api.ok("GET", "/chats", params={"id": MISSING_ID, "keywords": ""}) == {
        "chats": [],
        "total": 0,
    }
    tenant_id = everything["chats"][0]["tenant_id"]
    mine = api.ok("GET", "/chats", params={"owner_ids": [tenant_id]})
    assert mine["total"] == 3
    assert api.ok("GET", "/chats", params={"owner_ids": MISSING_ID}) == {"chats": [], "total": 0}


def test_later_sdk_delete_all_flag(api: ChatApi) -> None:
    keep = api.chat("keep")["id"]
    gone = api.chat("gone")["id"]
    api.ok("DELETE", "/chats", json={"ids": None, "delete_all": False})
    api.ok("DELETE", "/chats", json={"ids": [gone], "delete_all": False})
    assert [c["id"] for c in api.ok("GET", "/chats")] == [keep]
    api.ok("DELETE", "/chats", json={"ids": None, "delete_all": True})
    assert api.ok("GET", "/chats") == []
