"""Sessions with a chat assistant: CRUD, opener, user_id, feedback, tenant isolation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ragprism.runtime import Runtime
from tests.api.chat_support import ChatApi
from tests.api.rag_support import MISSING_ID
from tests.conftest import Accounts


@pytest.fixture
def api(client: TestClient, accounts: Accounts, state: Runtime) -> ChatApi:
    return ChatApi(client, accounts.user("owner@example.com"), state)


@pytest.fixture
def other(client: TestClient, accounts: Accounts, state: Runtime) -> ChatApi:
    return ChatApi(client, accounts.user("other@example.com"), state)


def test_create_starts_with_the_opener(api: ChatApi) -> None:
    chat = api.chat("c", prompt={"opener": "Welcome!"})
    created = api.new_session(chat["id"], name="first", user_id="client-user-7")
    assert len(created["id"]) == 32
    assert created["chat_id"] == chat["id"]
    assert created["name"] == "first"
    assert created["user_id"] == "client-user-7"
    (opener,) = created["messages"]
    assert opener["role"] == "assistant"
    assert opener["content"] == "Welcome!"
    assert {"create_time", "update_time"} <= created.keys()
    default = api.new_session(chat["id"])
    assert default["name"] == "New session"
    assert default["user_id"] == ""


def test_validation(api: ChatApi) -> None:
    chat = api.chat("c")
    blank = api.call("POST", f"/chats/{chat['id']}/sessions", json={"name": "  "})
    assert blank["code"] == 101
    assert "name" in blank["message"]
    wrong_type = api.call("POST", f"/chats/{chat['id']}/sessions", json={"name": ["x"]})
    assert wrong_type["code"] == 101
    assert "name" in wrong_type["message"]
    assert api.call("POST", f"/chats/{MISSING_ID}/sessions", json={})["code"] == 102


def test_list_filters_paging_and_update(api: ChatApi) -> None:
    chat_id = api.chat("c")["id"]
    ids = [api.new_session(chat_id, name=f"s{i}", user_id=f"u{i % 2}")["id"] for i in range(3)]
    assert [s["id"] for s in api.sessions(chat_id)] == ids[::-1]
    assert [s["id"] for s in api.sessions(chat_id, desc="false", page=2, page_size=2)] == ids[2:]
    assert [s["id"] for s in api.sessions(chat_id, user_id="u0", desc="false")] == [ids[0], ids[2]]
    assert [s["id"] for s in api.sessions(chat_id, name="s1")] == [ids[1]]
    assert api.sessions(chat_id, page_size=0) == []
    updated = api.ok("PUT", f"/chats/{chat_id}/sessions/{ids[0]}", json={"name": "renamed"})
    assert updated["name"] == "renamed"
    assert api.session(chat_id, ids[0])["name"] == "renamed"
    blank = api.call("PUT", f"/chats/{chat_id}/sessions/{ids[0]}", json={"name": ""})
    assert blank["code"] == 101
    missing = api.call("PUT", f"/chats/{chat_id}/sessions/{MISSING_ID}", json={"name": "x"})
    assert missing["code"] == 102
    assert api.call("GET", f"/chats/{chat_id}/sessions", params={"id": MISSING_ID})["code"] == 102


def test_delete(api: ChatApi) -> None:
    chat_id = api.chat("c")["id"]
    keep, gone = (api.new_session(chat_id)["id"] for _ in range(2))
    result = api.call("DELETE", f"/chats/{chat_id}/sessions", json={"ids": [gone, MISSING_ID]})
    assert result["code"] == 102
    assert MISSING_ID in result["message"]
    api.ok("DELETE", f"/chats/{chat_id}/sessions", json={"ids": [gone]})
    assert [s["id"] for s in api.sessions(chat_id)] == [keep]
    api.ok("DELETE", f"/chats/{chat_id}/sessions", json={"delete_all": True})
    assert api.sessions(chat_id) == []


def test_feedback_is_stored_on_the_answer(api: ChatApi) -> None:
    chat_id, _ = api.knowledge_chat()
    answer = api.ask(chat_id, "How many vacation days do employees get?")
    session_id, message_id = answer["session_id"], answer["id"]
    path = f"/chats/{chat_id}/sessions/{session_id}/messages/{message_id}/feedback"
    data = api.ok("PUT", path, json={"thumbup": False, "feedback": "Too short"})
    stored = next(m for m in data["messages"] if m["id"] == message_id)
    assert stored["thumbup"] is False
    assert stored["feedback"] == "Too short"
    api.ok("PUT", path, json={"thumbup": True})
    stored = next(m for m in api.session(chat_id, session_id)["messages"] if m["id"] == message_id)
    assert stored["thumbup"] is True
    assert stored["feedback"] == ""
    assert "trace_id" in stored
    user_message = next(
        m for m in api.session(chat_id, session_id)["messages"] if m["role"] == "user"
    )
    user_path = f"/chats/{chat_id}/sessions/{session_id}/messages/{user_message['id']}/feedback"
    assert api.call("PUT", user_path, json={"thumbup": True})["code"] == 101
    missing = f"/chats/{chat_id}/sessions/{session_id}/messages/{MISSING_ID}/feedback"
    assert api.call("PUT", missing, json={"thumbup": True})["code"] == 102
    assert api.call("PUT", path, json={"feedback": "no verdict"})["code"] == 101


def test_record_feedback_returns_the_trace_link(api: ChatApi, state: Runtime) -> None:
    from ragprism.services.accounts.accounts import authenticate, extract_token
    from ragprism.services.chat import sessions as service

    chat_id, _ = api.knowledge_chat()
    answer = api.ask(chat_id, "Who cleans the coffee machine?")
    with state.db.session() as session:
        principal = authenticate(session, extract_token(api.headers["Authorization"]), None)
        record = service.record_feedback(
            session, principal, chat_id, answer["session_id"], answer["id"], thumbup=True
        )
    assert record.message_id == answer["id"]
    assert record.thumbup is True
    assert record.trace_id is None  # filled in once completions are traced


def test_tenant_isolation(api: ChatApi, other: ChatApi) -> None:
    chat_id = api.chat("c")["id"]
    session_id = api.new_session(chat_id)["id"]
    base = f"/chats/{chat_id}/sessions"
    for method, path, body in [
        ("POST", base, {"name": "x"}),
        ("GET", base, None),
        ("PUT", f"{base}/{session_id}", {"name": "stolen"}),
        ("DELETE", base, {"ids": [session_id]}),
        ("PUT", f"{base}/{session_id}/messages/{MISSING_ID}/feedback", {"thumbup": True}),
    ]:
        result = other.call(method, path, json=body)
        assert result["code"] == 102, (method, path, result)
    # Another tenant's session under one's own assistant is absent too.
    own_chat = other.chat("mine")["id"]
    result = other.call("PUT", f"/chats/{own_chat}/sessions/{session_id}", json={"name": "x"})
    assert result["code"] == 102
    assert api.session(chat_id, session_id)["name"] == "New session"


def test_later_sdks_patch_and_delete_all(api: ChatApi) -> None:
    """ragflow-sdk after 0.24 renames with PATCH and always sends ``delete_all``."""
    chat_id = api.chat("c")["id"]
    session_id = api.new_session(chat_id)["id"]
    path = f"/chats/{chat_id}/sessions"
    assert api.ok("PATCH", f"{path}/{session_id}", json={"name": "later"})["name"] == "later"
    api.ok("DELETE", path, json={"ids": None, "delete_all": False})
    assert [s["id"] for s in api.sessions(chat_id)] == [session_id]
    api.ok("DELETE", path, json={"ids": None, "delete_all": True})
    assert api.sessions(chat_id) == []
