"""Chunk CRUD over HTTP: list, add (embedded, searchable), update, delete."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ragprism.runtime import Runtime
from tests.api.rag_support import MISSING_ID, Rag
from tests.conftest import Accounts

TEXT = "Aardvarks dig burrows at night.\nOwls hunt mice in the dark.\nBees make honey in summer.\n"


@pytest.fixture
def rag(client: TestClient, accounts: Accounts, state: Runtime) -> Rag:
    return Rag(client, accounts.user("ann@example.com"), state)


@pytest.fixture
def parsed(rag: Rag) -> tuple[str, str]:
    """A dataset whose one document was parsed into one chunk per line."""
    dataset_id = rag.dataset("kb", parser_config={"chunk_token_num": 8})["id"]
    return rag.ingest("animals.txt", TEXT.encode(), dataset_id)


def test_list_chunks(rag: Rag, parsed: tuple[str, str]) -> None:
    dataset_id, document_id = parsed
    listing = rag.chunks(dataset_id, document_id)
    assert listing["total"] == 3
    assert [c["content"] for c in listing["chunks"]] == TEXT.strip().split("\n")
    first = listing["chunks"][0]
    assert first["document_id"] == document_id
    assert first["dataset_id"] == dataset_id
    assert first["docnm_kwd"] == "animals.txt"
    assert first["available"] is True
    assert listing["doc"]["id"] == document_id
    assert listing["doc"]["chunk_count"] == 3

    page = rag.chunks(dataset_id, document_id, page=2, page_size=2)
    assert page["total"] == 3
    assert [c["content"] for c in page["chunks"]] == ["Bees make honey in summer."]
    found = rag.chunks(dataset_id, document_id, keywords="OWLS")
    assert [c["content"] for c in found["chunks"]] == ["Owls hunt mice in the dark."]
    by_id = rag.chunks(dataset_id, document_id, id=first["id"])
    assert [c["id"] for c in by_id["chunks"]] == [first["id"]]
    path = f"/datasets/{dataset_id}/documents/{document_id}/chunks"
    assert rag.call("GET", path, params={"id": MISSING_ID})["code"] == 102
    assert rag.call("GET", f"/datasets/{dataset_id}/documents/{MISSING_ID}/chunks")["code"] == 102


def test_add_chunk_is_embedded_and_searchable(rag: Rag, parsed: tuple[str, str]) -> None:
    dataset_id, document_id = parsed
    path = f"/datasets/{dataset_id}/documents/{document_id}/chunks"
    added = rag.ok(
        "POST",
        path,
        json={
            "content": "Platypuses lay eggs.",
            "important_keywords": ["monotreme"],
            "questions": ["Which mammal lays eggs?"],
        },
    )["chunk"]
    assert added["content"] == "Platypuses lay eggs."
    assert added["important_keywords"] == ["monotreme"]
    assert added["questions"] == ["Which mammal lays eggs?"]
    assert len(added["id"]) == 32

    by_keyword = rag.retrieve(question="monotreme", dataset_ids=[dataset_id])
    assert [c["id"] for c in by_keyword["chunks"]] == [added["id"]]
    listing = rag.chunks(dataset_id, document_id)
    assert listing["total"] == 4
    assert listing["chunks"][-1]["id"] == added["id"]
    assert listing["doc"]["chunk_count"] == 4

    assert rag.call("POST", path, json={"content": "  "})["code"] == 102
    assert rag.call("POST", path, json={})["code"] == 102
    assert rag.call("POST", path, json={"content": 5})["code"] == 101
    assert rag.call("POST", path, json={"content": "x", "important_keywords": "a"})["code"] == 101


def test_update_chunk(rag: Rag, parsed: tuple[str, str]) -> None:
    dataset_id, document_id = parsed
    chunk = rag.chunks(dataset_id, document_id, keywords="owls")["chunks"][0]
    path = f"/datasets/{dataset_id}/documents/{document_id}/chunks/{chunk['id']}"
    rag.ok(
        "PUT", path, json={"content": "Penguins swim in cold seas.", "important_keywords": ["bird"]}
    )
    updated = rag.chunks(dataset_id, document_id, id=chunk["id"])["chunks"][0]
    assert updated["content"] == "Penguins swim in cold seas."
    assert updated["important_keywords"] == ["bird"]
    assert rag.retrieve(question="owls hunt", dataset_ids=[dataset_id])["total"] == 0
    hits = rag.retrieve(question="penguins", dataset_ids=[dataset_id])["chunks"]
    assert [c["id"] for c in hits] == [chunk["id"]]

    rag.ok("PUT", path, json={"available": False})
    assert rag.chunks(dataset_id, document_id, id=chunk["id"])["chunks"][0]["available"] is False
    assert rag.retrieve(question="penguins", dataset_ids=[dataset_id])["total"] == 0
    rag.ok("PUT", path, json={"available": True})
    assert rag.retrieve(question="penguins", dataset_ids=[dataset_id])["total"] == 1

    missing = f"/datasets/{dataset_id}/documents/{document_id}/chunks/{MISSING_ID}"
    assert rag.call("PUT", missing, json={"content": "x"})["code"] == 102
    assert rag.call("PUT", path, json={"content": ""})["code"] == 101
    assert rag.call("PUT", path, json={"available": "maybe"})["code"] == 101


def test_delete_chunks(rag: Rag, parsed: tuple[str, str]) -> None:
    dataset_id, document_id = parsed
    path = f"/datasets/{dataset_id}/documents/{document_id}/chunks"
    chunks = rag.chunks(dataset_id, document_id)["chunks"]
    missing = rag.call("DELETE", path, json={"chunk_ids": [chunks[0]["id"], MISSING_ID]})
    assert missing["code"] == 102
    assert rag.chunks(dataset_id, document_id)["total"] == 3
    assert rag.ok("DELETE", path, json={"chunk_ids": [chunks[0]["id"]]}) == {"success_count": 1}
    listing = rag.chunks(dataset_id, document_id)
    assert listing["total"] == 2
    assert listing["doc"]["chunk_count"] == 2
    assert rag.retrieve(question="aardvarks", dataset_ids=[dataset_id])["total"] == 0
    assert rag.ok("DELETE", path, json={}) == {"success_count": 2}
    dataset = rag.ok("GET", "/datasets", params={"id": dataset_id})[0]
    assert dataset["chunk_count"] == 0
    assert dataset["token_num"] == 0


def test_later_sdks_patch_tags_and_delete_all(rag: Rag, parsed: tuple[str, str]) -> None:
    """ragflow-sdk after 0.24 updates with PATCH and always sends ``tag_kwd`` and
    ``delete_all``."""
    dataset_id, document_id = parsed
    path = f"/datasets/{dataset_id}/documents/{document_id}/chunks"
    added = rag.ok(
        "POST", path, json={"content": "Zebras graze.", "important_keywords": [], "tag_kwd": []}
    )["chunk"]
    tagged = rag.call("POST", path, json={"content": "Yaks.", "tag_kwd": ["animal"]})
    assert tagged["code"] == 101
    assert "tag_kwd" in tagged["message"]
    rag.ok("PATCH", f"{path}/{added['id']}", json={"content": "Zebras graze at dawn."})
    assert rag.chunks(dataset_id, document_id, id=added["id"])["chunks"][0]["content"] == (
        "Zebras graze at dawn."
    )
    body: dict[str, object] = {"chunk_ids": None, "delete_all": False}
    assert rag.ok("DELETE", path, json=body) == {"success_count": 0}
    body = {"chunk_ids": [added["id"]], "delete_all": False}
    assert rag.ok("DELETE", path, json=body) == {"success_count": 1}
    body = {"chunk_ids": None, "delete_all": True}
    assert rag.ok("DELETE", path, json=body) == {"success_count": 3}
    assert rag.chunks(dataset_id, document_id)["total"] == 0
