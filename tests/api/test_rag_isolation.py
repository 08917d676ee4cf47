"""Tenant isolation on every dataset, document, chunk and retrieval route (SPEC §1)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragprism.runtime import Runtime
from tests.api.rag_support import MISSING_ID, Rag
from tests.conftest import Accounts


def routes(d: str, doc: str, chunk: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every RAG route, aimed at dataset ``d``, document ``doc`` and chunk ``chunk``."""
    chunks = f"/datasets/{d}/documents/{doc}/chunks"
    return [
        ("GET", "/datasets", {"params": {"id": d}}),
        ("PUT", f"/datasets/{d}", {"json": {"name": "stolen"}}),
        ("DELETE", "/datasets", {"json": {"ids": [d]}}),
        ("GET", f"/datasets/{d}/documents", {}),
        ("POST", f"/datasets/{d}/documents", {"files": [("file", ("x.txt", b"x"))]}),
        ("POST", f"/datasets/{d}/documents", {"params": {"type": "empty"}, "json": {"name": "x"}}),
        ("PUT", f"/datasets/{d}/documents/{doc}", {"json": {"name": "stolen.txt"}}),
        ("GET", f"/datasets/{d}/documents/{doc}", {}),
        ("DELETE", f"/datasets/{d}/documents", {"json": {"ids": [doc]}}),
        ("POST", f"/datasets/{d}/chunks", {"json": {"document_ids": [doc]}}),
        ("DELETE", f"/datasets/{d}/chunks", {"json": {"document_ids": [doc]}}),
        ("GET", chunks, {}),
        ("POST", chunks, {"json": {"content": "injected"}}),
        ("PUT", f"{chunks}/{chunk}", {"json": {"content": "changed"}}),
        ("DELETE", chunks, {"json": {"chunk_ids": [chunk]}}),
        ("POST", "/retrieval", {"json": {"question": "aardvarks", "dataset_ids": [d]}}),
        ("POST", "/retrieval", {"json": {"question": "aardvarks", "document_ids": [doc]}}),
    ]


@pytest.fixture
def owner(client: TestClient, accounts: Accounts, state: Runtime) -> Rag:
    return Rag(client, accounts.user("ann@example.com"), state)


@pytest.fixture
def intruder(client: TestClient, accounts: Accounts, state: Runtime) -> Rag:
    return Rag(client, accounts.user("eve@example.com"), state)


def test_another_tenant_sees_nothing_and_changes_nothing(owner: Rag, intruder: Rag) -> None:
    dataset_id, document_id = owner.ingest("a.txt", b"Aardvarks dig burrows.")
    chunk_id = owner.chunks(dataset_id, document_id)["chunks"][0]["id"]
    intruder_dataset = intruder.dataset("mine")["id"]

    for method, path, kwargs in routes(dataset_id, document_id, chunk_id):
        foreign = intruder.call(method, path, **kwargs)
        assert foreign["code"] == 102, (method, path, foreign)
        # A foreign id is answered exactly like a missing one.
        missing_path = path.replace(dataset_id, MISSING_ID)
        missing = intruder.call(method, missing_path, **_replace(kwargs, dataset_id, MISSING_ID))
        assert missing["code"] == 102, (method, missing_path, missing)
        assert foreign["message"].replace(dataset_id, MISSING_ID) == missing["message"]

    # The intruder's own dataset does not open the owner's documents either.
    cross = f"/datasets/{intruder_dataset}/documents/{document_id}"
    assert intruder.call("GET", cross)["code"] == 102
    assert intruder.call("GET", cross + "/chunks")["code"] == 102
    assert intruder.ok("GET", "/datasets") == [intruder.ok("GET", "/datasets")[0]]

    # The owner's data is untouched.
    dataset = owner.ok("GET", "/datasets", params={"id": dataset_id})[0]
    assert dataset["name"] == "kb-a.txt"
    assert dataset["document_count"] == 1
    chunks = owner.chunks(dataset_id, document_id)
    assert [c["content"] for c in chunks["chunks"]] == ["Aardvarks dig burrows."]
    assert owner.retrieve(question="aardvarks", dataset_ids=[dataset_id])["total"] == 1


def _replace(kwargs: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """``kwargs`` with ``old`` replaced by ``new`` in the JSON body and query parameters."""

    def swap(value: Any) -> Any:
        if isinstance(value, list):
            return [swap(v) for v in value]
        return new if value == old else value

    return {
        key: {k: swap(v) for k, v in value.items()} if key in ("json", "params") else value
        for key, value in kwargs.items()
    }
