"""Small RAGFlow routes ragprism now has — one chunk, the bulk availability switch, delete
one chat, delete one message — and the JSON refusals of routes and settings it lacks."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ragprism.runtime import Runtime
from tests.api.chat_support import ChatApi
from tests.api.rag_support import MISSING_ID
from tests.conftest import Accounts
from tests.rag.office_files import BUDGET, SLIDES, pptx_bytes, xlsx_bytes

VACATION = "How many days of paid vacation do employees get?"
ANIMALS = "Aardvarks dig burrows at night.\nOwls hunt mice at night.\nBees make honey in summer.\n"


@pytest.fixture
def api(client: TestClient, accounts: Accounts, state: Runtime) -> ChatApi:
    return ChatApi(client, accounts.user("gaps@example.com"), state)


@pytest.fixture
def other(client: TestClient, accounts: Accounts, state: Runtime) -> ChatApi:
    return ChatApi(client, accounts.user("stranger@example.com"), state)


def test_get_one_chunk_and_switch_availability(api: ChatApi, other: ChatApi) -> None:
    dataset_id = api.dataset("animals", parser_config={"chunk_token_num": 8})["id"]
    document_id = api.ingest("animals.txt", ANIMALS.encode(), dataset_id)[1]
    listed = api.chunks(dataset_id, document_id)["chunks"]
    assert len(listed) == 3
    path = f"/datasets/{dataset_id}/documents/{document_id}/chunks"
    one = api.ok("GET", f"{path}/{listed[0]['id']}")
    assert one == listed[0]
    for chunk_id in (MISSING_ID, listed[0]["id"]):
        missing = other.call("GET", f"{path}/{chunk_id}")
        assert missing["code"] == 102
    assert api.call("GET", f"{path}/{MISSING_ID}")["code"] == 102

    owls = [c["id"] for c in listed if "Owls" in c["content"]]
    body = {"question": "at night", "dataset_ids": [dataset_id], "similarity_threshold": 0}
    assert any("Owls" in c["content"] for c in api.retrieve(**body)["chunks"])
    assert api.ok("PATCH", path, json={"chunk_ids": owls, "available_int": 0}) is True
    assert api.ok("GET", f"{path}/{owls[0]}")["available"] is False
    assert not any("Owls" in c["content"] for c in api.retrieve(**body)["chunks"])
    assert api.ok("PATCH", path, json={"chunk_ids": owls, "available": True}) is True
    assert any("Owls" in c["content"] for c in api.retrieve(**body)["chunks"])

    for bad, field in [
        ({"chunk_ids": owls}, "available"),
        ({"chunk_ids": [], "available": True}, "chunk_ids"),
        ({"chunk_ids": owls, "available_int": 2}, "available_int"),
    ]:
        refused = api.call("PATCH", path, json=bad)
        assert refused["code"] == 101, refused
        assert field in refused["message"]
    unknown = api.call("PATCH", path, json={"chunk_ids": [*owls, MISSING_ID], "available": False})
    assert unknown["code"] == 102
    assert MISSING_ID in unknown["message"]
    assert api.ok("GET", f"{path}/{owls[0]}")["available"] is True  # all or nothing
    assert other.call("PATCH", path, json={"chunk_ids": owls, "available": False})["code"] == 102


def test_delete_one_chat(api: ChatApi, other: ChatApi) -> None:
    kept = api.chat("kept")["id"]
    gone = api.chat("gone")["id"]
    api.new_session(gone)
    assert other.call("DELETE", f"/chats/{gone}")["code"] == 102
    assert api.ok("DELETE", f"/chats/{gone}") is True
    assert [c["id"] for c in api.ok("GET", "/chats")] == [kept]
    assert api.call("DELETE", f"/chats/{gone}")["code"] == 102


def test_delete_one_message_with_its_partner(api: ChatApi, other: ChatApi) -> None:
    chat_id, _ = api.knowledge_chat()
    session_id = api.new_session(chat_id)["id"]
    first = api.ask(chat_id, VACATION, session_id=session_id)
    second = api.ask(chat_id, "Who cleans the coffee machine?", session_id=session_id)
    messages = api.session(chat_id, session_id)["messages"]
    assert [m["role"] for m in messages] == ["assistant", "user", "assistant", "user", "assistant"]
    path = f"/chats/{chat_id}/sessions/{session_id}/messages"
    assert other.call("DELETE", f"{path}/{first['id']}")["code"] == 102
    # An answer goes with its question.
    left = api.ok("DELETE", f"{path}/{first['id']}")
    assert [m["content"] for m in left["messages"][1:]] == [
        "Who cleans the coffee machine?",
        second["answer"],
    ]
    # A question goes with its answer.
    question_id = left["messages"][1]["id"]
    left = api.ok("DELETE", f"{path}/{question_id}")
    assert [m["role"] for m in left["messages"]] == ["assistant"]
    assert api.session(chat_id, session_id)["messages"] == left["messages"]
    assert api.call("DELETE", f"{path}/{first['id']}")["code"] == 102


@pytest.mark.parametrize(
    ("method", "path", "feature"),
    [
        ("GET", "/api/v1/agents", "agents"),
        ("POST", "/api/v1/agents/chat/completions", "agents"),
        ("POST", "/api/v1/agents_openai/x/chat/completions", "agents"),
        ("GET", f"/api/v1/datasets/{MISSING_ID}/knowledge_graph", "knowledge graphs"),
        ("POST", f"/api/v1/datasets/{MISSING_ID}/run_graphrag", "knowledge graphs"),
        ("POST", f"/api/v1/datasets/{MISSING_ID}/run_raptor", "RAPTOR"),
        ("GET", "/api/v1/memories", "memories"),
        ("POST", "/api/v1/file/upload", "file manager"),
        ("GET", "/api/v1/searches", "search apps"),
        ("POST", "/api/v1/chat/audio/speech", "text to speech"),
    ],
)
def test_routes_ragprism_lacks_say_so(api: ChatApi, method: str, path: str, feature: str) -> None:
    response = api.client.request(method, path, headers=api.headers)
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == 404
    assert body["data"] is None
    assert "Not supported" in body["message"]
    assert feature in body["message"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"prompt_config": {"tts": True}}, "tts"),
        ({"prompt_config": {"use_kg": True}}, "use_kg"),
        ({"prompt_config": {"tavily_api_key": "tvly-x"}}, "tavily_api_key"),
        ({"prompt_config": {"cross_languages": ["German"]}}, "cross_languages"),
        ({"prompt": {"tts": True}}, "tts"),
    ],
)
def test_chat_settings_needing_missing_features_are_refused(
    api: ChatApi, fields: dict[str, object], field: str
) -> None:
    refused = api.call("POST", "/chats", json={"name": "helper", **fields})
    assert refused["code"] == 101
    assert field in refused["message"]
    assert "not supported" in refused["message"]
    chat_id = api.chat("helper")["id"]
    assert api.call("PATCH", f"/chats/{chat_id}", json=fields)["code"] == 101
    # Asking for none of them is fine, and nothing of them is stored.
    off = {key: {k: False if v is True else None for k, v in value.items()}
           for key, value in fields.items()}  # fmt: skip
    updated = api.ok("PATCH", f"/chats/{chat_id}", json=off)
    assert field not in updated.get("prompt_config", {})
    assert field not in updated.get("prompt", {})


def test_xlsx_and_pptx_documents_are_parsed_and_retrieved(api: ChatApi) -> None:
    dataset_id = api.dataset("office")["id"]
    xlsx_id = api.ingest("budget.xlsx", xlsx_bytes(BUDGET), dataset_id)[1]
    pptx_id = api.ingest("review.pptx", pptx_bytes(SLIDES), dataset_id)[1]
    phone = api.retrieve(question="help desk phone", dataset_ids=[dataset_id])["chunks"][0]
    assert phone["document_id"] == xlsx_id
    assert "Phone: 555-0100" in phone["content"]
    target = api.retrieve(question="North region target", dataset_ids=[dataset_id])["chunks"][0]
    assert target["document_id"] == pptx_id
    assert "North | 120 units" in target["content"]
