"""Datasets CRUD over HTTP (RAGFlow's shapes and defaults), on every database."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ragprism.runtime import Runtime
from tests.api.rag_support import MISSING_ID, Rag
from tests.conftest import Accounts


@pytest.fixture
def rag(client: TestClient, accounts: Accounts, state: Runtime) -> Rag:
    return Rag(client, accounts.user("ann@example.com"), state)


def test_create_with_ragflow_defaults(rag: Rag) -> None:
    dataset = rag.dataset("Manuals")
    assert len(dataset["id"]) == 32
    assert dataset["name"] == "Manuals"
    assert dataset["chunk_method"] == "naive"
    assert dataset["permission"] == "me"
    assert dataset["embedding_model"] == "builtin-hashing@Builtin"  # the tenant's embd_id
    assert dataset["parser_config"]["chunk_token_num"] == 512
    assert dataset["parser_config"]["delimiter"] == "\n"
    assert dataset["parser_config"]["raptor"] == {"use_raptor": False}
    assert dataset["similarity_threshold"] == 0.2
    assert dataset["vector_similarity_weight"] == 0.3
    assert dataset["document_count"] == dataset["chunk_count"] == dataset["token_num"] == 0
    assert dataset["status"] == "1"
    assert {"create_time", "create_date", "update_time", "update_date"} <= dataset.keys()


def test_create_with_fields(rag: Rag) -> None:
    dataset = rag.dataset(
        "  Spaced  ",
        description="d",
        permission="team",
        embedding_model="builtin-hashing-256@Builtin",
        parser_config={"chunk_token_num": 128, "overlapped_percent": 20},
    )
    assert dataset["name"] == "Spaced"
    assert dataset["permission"] == "team"
    assert dataset["embedding_model"] == "builtin-hashing-256@Builtin"
    assert dataset["parser_config"]["chunk_token_num"] == 128
    assert dataset["parser_config"]["overlapped_percent"] == 20
    assert dataset["parser_config"]["delimiter"] == "\n"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 129}, "name"),
        ({"name": "emoji 😀"}, "name"),
        ({"name": 5}, "name"),
        ({"name": "a", "permission": "world"}, "permission"),
        ({"name": "a", "chunk_method": "magic"}, "chunk_method"),
        ({"name": "a", "embedding_model": "no-factory"}, "embedding_model"),
        ({"name": "a", "embedding_model": "gpt@OpenAI"}, "embedding_model"),
        ({"name": "a", "parser_config": {"chunk_token_num": 0}}, "chunk_token_num"),
        ({"name": "a", "parser_config": {"chunk_token_num": "9"}}, "chunk_token_num"),
        ({"name": "a", "parser_config": {"overlapped_percent": 95}}, "overlapped_percent"),
        ({"name": "a", "parser_config": {"delimiter": ""}}, "delimiter"),
        # api/errors.py reports any dict_type error as "body must be a JSON object".
        ({"name": "a", "parser_config": "x"}, "JSON object"),
        ({"name": "a", "unknown": 1}, "unknown"),
    ],
)
def test_create_refuses_bad_fields(rag: Rag, body: dict[str, object], field: str) -> None:
    result = rag.call("POST", "/datasets", json=body)
    assert result["code"] == 101, result
    assert field in result["message"]


def test_names_are_unique_per_tenant_ignoring_case(
    rag: Rag, client: TestClient, accounts: Accounts, state: Runtime
) -> None:
    rag.dataset("Docs")
    duplicate = rag.call("POST", "/datasets", json={"name": "docs"})
    assert duplicate["code"] == 102
    assert "already exists" in duplicate["message"]
    other = Rag(client, accounts.user("bob@example.com"), state)
    assert other.dataset("Docs")["name"] == "Docs"  # another tenant may use it


def test_list_paging_ordering_and_filters(rag: Rag) -> None:
    ids = [rag.dataset(f"set {i}")["id"] for i in range(5)]
    body = rag.call("GET", "/datasets")
    assert body["code"] == 0
    assert body["total_datasets"] == 5
    times = [d["create_time"] for d in body["data"]]
    assert times == sorted(times, reverse=True)  # newest first by default
    assert sorted(d["id"] for d in body["data"]) == sorted(ids)
    everything = rag.ok("GET", "/datasets", params={"desc": "false"})
    assert [d["create_time"] for d in everything] == sorted(times)
    page = rag.ok("GET", "/datasets", params={"desc": "false", "page": 2, "page_size": 2})
    assert [d["id"] for d in page] == [d["id"] for d in everything[2:4]]
    assert [d["id"] for d in rag.ok("GET", "/datasets", params={"name": "SET 3"})] == [ids[3]]
    assert [d["id"] for d in rag.ok("GET", "/datasets", params={"id": ids[1]})] == [ids[1]]
    assert rag.call("GET", "/datasets", params={"id": MISSING_ID})["code"] == 102
    assert rag.call("GET", "/datasets", params={"orderby": "name"})["code"] == 101
    assert rag.call("GET", "/datasets", params={"page": 0})["code"] == 101
    assert rag.call("GET", "/datasets", params={"page_size": "many"})["code"] == 101


def test_update(rag: Rag) -> None:
    dataset = rag.dataset("old")
    rag.dataset("taken")
    path = f"/datasets/{dataset['id']}"
    updated = rag.ok(
        "PUT",
        path,
        json={
            "name": "new",
            "description": "about",
            "pagerank": 10,
            "parser_config": {"chunk_token_num": 64},
        },
    )
    assert updated["name"] == "new"
    assert updated["description"] == "about"
    assert updated["pagerank"] == 10
    assert updated["parser_config"]["chunk_token_num"] == 64
    assert updated["parser_config"]["delimiter"] == "\n"
    assert rag.call("PUT", path, json={"name": "TAKEN"})["code"] == 102
    assert rag.call("PUT", path, json={"pagerank": 101})["code"] == 101
    assert rag.call("PUT", path, json={"name": None})["code"] == 101
    assert rag.call("PUT", f"/datasets/{MISSING_ID}", json={"name": "x"})["code"] == 102
    changed = rag.ok("PUT", path, json={"embedding_model": "builtin-hashing-128@Builtin"})
    assert changed["embedding_model"] == "builtin-hashing-128@Builtin"


def test_embedding_model_is_fixed_once_there_are_chunks(rag: Rag) -> None:
    dataset_id, _ = rag.ingest("a.txt", b"Aardvarks dig burrows.")
    path = f"/datasets/{dataset_id}"
    refused = rag.call("PUT", path, json={"embedding_model": "builtin-hashing-128@Builtin"})
    assert refused["code"] == 102
    assert "embedding_model must remain" in refused["message"]
    # Sending the same model back is not a change.
    assert rag.call("PUT", path, json={"embedding_model": "builtin-hashing@Builtin"})["code"] == 0


def test_delete(rag: Rag) -> None:
    a = rag.dataset("a")["id"]
    b = rag.dataset("b")["id"]
    c, _ = rag.ingest("c.txt", b"Aardvarks dig burrows.")
    missing = rag.call("DELETE", "/datasets", json={"ids": [a, MISSING_ID]})
    assert missing["code"] == 102
    assert MISSING_ID in missing["message"]
    assert len(rag.ok("GET", "/datasets")) == 3  # nothing deleted
    assert rag.ok("DELETE", "/datasets", json={"ids": []}) == {"success_count": 0}
    assert rag.ok("DELETE", "/datasets", json={"ids": [a, a]}) == {"success_count": 1}
    assert rag.call("DELETE", "/datasets", json={})["code"] == 101  # ids is required
    assert rag.ok("DELETE", "/datasets", json={"ids": None}) == {"success_count": 2}
    assert rag.ok("GET", "/datasets") == []
    assert (
        rag.call("POST", "/retrieval", json={"question": "x", "dataset_ids": [b, c]})["code"] == 102
    )


def test_members_of_a_team_share_datasets(
    rag: Rag, client: TestClient, accounts: Accounts, state: Runtime
) -> None:
    owner_id = client.get("/v1/user/info", headers=rag.headers).json()["data"]["id"]
    dataset_id = rag.dataset("shared")["id"]
    accounts.register("max@example.com")
    invited = client.post(
        f"/v1/tenant/{owner_id}/user", headers=rag.headers, json={"email": "max@example.com"}
    ).json()
    assert invited["code"] == 0, invited
    member = Rag(client, {**accounts.login("max@example.com"), "X-Tenant-Id": owner_id}, state)
    assert [d["id"] for d in member.ok("GET", "/datasets")] == [dataset_id]
    assert (
        member.ok("PUT", f"/datasets/{dataset_id}", json={"description": "x"})["description"] == "x"
    )


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'"text"', b"12", b'{"ids": "x"}'])
def test_bad_bodies_get_101_on_every_json_route(rag: Rag, raw: bytes) -> None:
    dataset_id, document_id = rag.ingest("a.txt", b"Aardvarks dig burrows.")
    chunk_id = rag.chunks(dataset_id, document_id)["chunks"][0]["id"]
    chunks = f"/datasets/{dataset_id}/documents/{document_id}/chunks"
    targets = [
        ("POST", "/datasets"),
        ("PUT", f"/datasets/{dataset_id}"),
        ("DELETE", "/datasets"),
        ("PUT", f"/datasets/{dataset_id}/documents/{document_id}"),
        ("DELETE", f"/datasets/{dataset_id}/documents"),
        ("POST", f"/datasets/{dataset_id}/chunks"),
        ("DELETE", f"/datasets/{dataset_id}/chunks"),
        ("POST", chunks),
        ("PUT", f"{chunks}/{chunk_id}"),
        ("DELETE", chunks),
        ("POST", "/retrieval"),
    ]
    headers = {**rag.headers, "Content-Type": "application/json"}
    for method, path in targets:
        response = rag.client.request(method, "/api/v1" + path, headers=headers, content=raw)
        assert response.status_code == 200, (method, path, response.text)
        assert response.json()["code"] == 101, (method, path, response.json())
    assert rag.chunks(dataset_id, document_id)["total"] == 1  # nothing changed


def test_delete_all_as_later_sdks_send_it(rag: Rag) -> None:
    """ragflow-sdk after 0.24 always sends ``delete_all``: no ids then mean none, unless
    it is true."""
    a = rag.dataset("a")["id"]
    rag.dataset("b")
    body = {"ids": None, "delete_all": False}
    assert rag.ok("DELETE", "/datasets", json=body) == {"success_count": 0}
    body = {"ids": [a], "delete_all": False}
    assert rag.ok("DELETE", "/datasets", json=body) == {"success_count": 1}
    body = {"ids": None, "delete_all": True}
    assert rag.ok("DELETE", "/datasets", json=body) == {"success_count": 1}
    assert rag.ok("GET", "/datasets") == []
