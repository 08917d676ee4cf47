"""Empty documents (RAGFlow's ``type=empty``, a *virtual* document): a name without a
file, whose chunks are added and edited by hand through the chunk routes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragprism.runtime import Runtime
from ragprism.settings import Settings
from tests.api.rag_support import MISSING_ID, Rag
from tests.conftest import Accounts

EMPTY = {"type": "empty"}


@pytest.fixture
def rag(client: TestClient, accounts: Accounts, state: Runtime) -> Rag:
    return Rag(client, accounts.user("ann@example.com"), state)


@pytest.fixture
def intruder(client: TestClient, accounts: Accounts, state: Runtime) -> Rag:
    return Rag(client, accounts.user("eve@example.com"), state)


def create_empty(rag: Rag, dataset_id: str, name: Any, **kwargs: Any) -> dict[str, Any]:
    """Create one empty document; the answer's single document."""
    kwargs.setdefault("json", {"name": name})
    data = rag.ok("POST", f"/datasets/{dataset_id}/documents", params=EMPTY, **kwargs)
    assert isinstance(data, list)
    assert len(data) == 1
    document: dict[str, Any] = data[0]
    return document


def test_create_empty_documents(rag: Rag) -> None:
    dataset_id = rag.dataset()["id"]
    document = create_empty(rag, dataset_id, "notes.txt")
    assert document["name"] == "notes.txt"
    assert document["type"] == "virtual"
    assert document["size"] == 0
    assert document["suffix"] == "txt"
    assert document["run"] == "UNSTART"
    assert document["chunk_count"] == document["token_count"] == 0
    assert document["dataset_id"] == dataset_id
    assert document["chunk_method"] == "naive"
    assert len(document["id"]) == 32

    # Upload's name rules: a taken name gets a number, directories are stripped.
    assert create_empty(rag, dataset_id, "notes.txt")["name"] == "notes(1).txt"
    assert create_empty(rag, dataset_id, "../../etc/notes.txt")["name"] == "notes(2).txt"
    # No file to parse: any extension, or none, will do.
    assert create_empty(rag, dataset_id, "scratch.xyz")["type"] == "virtual"
    assert create_empty(rag, dataset_id, "README")["suffix"] == ""
    # The name may come as a form field too (multipart or urlencoded), and `type` in any case.
    form = create_empty(rag, dataset_id, None, json=None, data={"name": "form.md"})
    assert form["name"] == "form.md"
    multipart = create_empty(
        rag, dataset_id, None, json=None, files={"name": (None, "multipart.md")}
    )
    assert multipart["name"] == "multipart.md"
    upper = rag.ok(
        "POST",
        f"/datasets/{dataset_id}/documents",
        params={"type": "EMPTY"},
        json={"name": "upper.txt"},
    )
    assert upper[0]["type"] == "virtual"

    listing = rag.ok("GET", f"/datasets/{dataset_id}/documents", params={"name": "notes.txt"})
    assert [(d["id"], d["type"]) for d in listing["docs"]] == [(document["id"], "virtual")]
    dataset = rag.ok("GET", "/datasets", params={"id": dataset_id})[0]
    assert dataset["document_count"] == 8

    # `type=local` (RAGFlow's default) is an ordinary upload.
    (uploaded,) = rag.ok(
        "POST",
        f"/datasets/{dataset_id}/documents",
        params={"type": "local"},
        files=[("file", ("real.txt", b"real text"))],
    )
    assert uploaded["type"] == "doc"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"json": {}}, "name"),
        ({"json": {"name": ""}}, "name"),
        ({"json": {"name": "   "}}, "name"),
        ({"json": {"name": "/"}}, "name"),
        ({"json": {"name": 5}}, "name"),
        ({"json": {"name": None}}, "name"),
        ({"json": {"name": ["a.txt"]}}, "name"),
        ({"json": {"name": "é" * 200 + ".txt"}}, "name"),
        ({"json": {"name": "a.txt", "surprise": 1}}, "surprise"),
        ({"json": ["a.txt"]}, "body"),
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, "JSON"),
        ({}, "name"),
        ({"data": {"other": "x"}}, "name"),
        ({"files": [("file", ("a.txt", b"text"))], "data": {"name": "a.txt"}}, "file"),
    ],
)
def test_empty_document_refusals(rag: Rag, kwargs: dict[str, Any], field: str) -> None:
    dataset_id = rag.dataset()["id"]
    path = f"/datasets/{dataset_id}/documents"
    kwargs = dict(kwargs)  # the parameters are shared by the runs on each database
    headers = {**rag.headers, **kwargs.pop("headers", {})}
    response = rag.client.post(f"/api/v1{path}", params=EMPTY, headers=headers, **kwargs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == 101, body
    assert field in body["message"]
    assert rag.ok("GET", path)["total"] == 0


@pytest.mark.parametrize("kind", ["web", "nonsense", "empty-ish"])
def test_unknown_document_type_is_refused(rag: Rag, kind: str) -> None:
    dataset_id = rag.dataset()["id"]
    path = f"/datasets/{dataset_id}/documents"
    body = rag.call("POST", path, params={"type": kind}, json={"name": "a.txt", "url": "x"})
    assert body["code"] == 101, body
    assert "type" in body["message"]
    body = rag.call("POST", path, params={"type": kind}, files=[("file", ("a.txt", b"some text"))])
    assert body["code"] == 101, body
    assert rag.ok("GET", path)["total"] == 0


@pytest.fixture
def small_uploads(settings: Settings) -> None:
    settings.max_body_bytes = 1024
    settings.max_upload_bytes = 4096


def test_upload_checks_do_not_apply(small_uploads: None, rag: Rag) -> None:
    dataset_id = rag.dataset()["id"]
    # An extension uploads refuse, and no content at all.
    refused = rag.call(
        "POST", f"/datasets/{dataset_id}/documents", files=[("file", ("data.xyz", b"x"))]
    )
    assert refused["code"] == 101
    document = create_empty(rag, dataset_id, "data.xyz")
    assert document["size"] == 0


def test_chunks_are_added_by_hand_and_retrieved(rag: Rag) -> None:
    dataset_id = rag.dataset()["id"]
    document_id = create_empty(rag, dataset_id, "faq.txt")["id"]
    path = f"/datasets/{dataset_id}/documents/{document_id}/chunks"
    assert rag.chunks(dataset_id, document_id)["total"] == 0

    first = rag.ok("POST", path, json={"content": "Aardvarks dig burrows at night."})["chunk"]
    second = rag.ok(
        "POST",
        path,
        json={"content": "Platypuses lay eggs.", "important_keywords": ["monotreme"]},
    )["chunk"]
    listing = rag.chunks(dataset_id, document_id)
    assert [c["id"] for c in listing["chunks"]] == [first["id"], second["id"]]
    assert listing["doc"]["type"] == "virtual"
    document = rag.document(dataset_id, document_id)
    assert document["chunk_count"] == 2
    assert document["token_count"] == sum(c["token_count"] for c in listing["chunks"]) > 0
    assert rag.ok("GET", f"{path}/{first['id']}")["content"] == "Aardvarks dig burrows at night."

    found = rag.retrieve(question="aardvark burrows", dataset_ids=[dataset_id])
    top = found["chunks"][0]
    assert top["id"] == first["id"]
    assert top["document_id"] == document_id
    assert top["document_name"] == "faq.txt"
    by_document = rag.retrieve(question="monotreme", document_ids=[document_id])
    assert [c["id"] for c in by_document["chunks"]] == [second["id"]]

    rag.ok("PUT", f"{path}/{first['id']}", json={"content": "Penguins swim in cold seas."})
    assert (
        rag.retrieve(question="penguins", dataset_ids=[dataset_id])["chunks"][0]["id"]
        == (first["id"])
    )
    assert rag.ok("PATCH", path, json={"chunk_ids": [first["id"]], "available": False}) is True
    assert rag.retrieve(question="penguins", dataset_ids=[dataset_id])["total"] == 0
    assert rag.ok("DELETE", path, json={"chunk_ids": [second["id"]]}) == {"success_count": 1}
    document = rag.document(dataset_id, document_id)
    assert document["chunk_count"] == 1
    dataset = rag.ok("GET", "/datasets", params={"id": dataset_id})[0]
    assert dataset["chunk_count"] == 1
    assert dataset["token_num"] == document["token_count"]

    # Deleting the document takes its chunks and counts with it.
    rag.ok("DELETE", f"/datasets/{dataset_id}/documents", json={"ids": [document_id]})
    dataset = rag.ok("GET", "/datasets", params={"id": dataset_id})[0]
    assert (dataset["document_count"], dataset["chunk_count"], dataset["token_num"]) == (0, 0, 0)


def test_parsing_an_empty_document_is_refused(rag: Rag) -> None:
    dataset_id = rag.dataset()["id"]
    document_id = create_empty(rag, dataset_id, "faq.txt")["id"]
    (uploaded,) = rag.upload(dataset_id, ("real.txt", b"Owls hunt mice at night."))
    path = f"/datasets/{dataset_id}/documents/{document_id}/chunks"
    rag.ok("POST", path, json={"content": "Aardvarks dig burrows at night."})

    for ids in ([document_id], [uploaded["id"], document_id]):
        refused = rag.call("POST", f"/datasets/{dataset_id}/chunks", json={"document_ids": ids})
        assert refused["code"] == 102, refused
        assert document_id in refused["message"]
        assert "faq.txt" in refused["message"]
        assert "by hand" in refused["message"]
    # Nothing was queued, the hand-made chunk is intact.
    assert rag.document(dataset_id, uploaded["id"])["run"] == "UNSTART"
    document = rag.document(dataset_id, document_id)
    assert document["run"] == "UNSTART"
    assert document["chunk_count"] == 1
    assert rag.chunks(dataset_id, document_id)["total"] == 1
    # Not being parsed: nothing to stop.
    stop = rag.call(
        "DELETE", f"/datasets/{dataset_id}/chunks", json={"document_ids": [document_id]}
    )
    assert stop["code"] == 102
    # A new chunk method has nothing to re-parse: the hand-made chunks stay.
    changed = rag.ok(
        "PUT", f"/datasets/{dataset_id}/documents/{document_id}", json={"chunk_method": "qa"}
    )
    assert changed["chunk_method"] == "qa"
    assert changed["chunk_count"] == 1
    assert rag.chunks(dataset_id, document_id)["total"] == 1
    # The other document still parses.
    assert rag.parse(dataset_id, uploaded["id"]) == {uploaded["id"]: "DONE"}


def test_download_an_empty_document(rag: Rag) -> None:
    dataset_id = rag.dataset()["id"]
    document_id = create_empty(rag, dataset_id, "notes.md")["id"]
    response = rag.client.get(
        f"/api/v1/datasets/{dataset_id}/documents/{document_id}", headers=rag.headers
    )
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"].startswith("text/markdown")
    assert 'filename="notes.md"' in response.headers["content-disposition"]


def test_another_tenant_cannot_reach_an_empty_document(rag: Rag, intruder: Rag) -> None:
    dataset_id = rag.dataset()["id"]
    document_id = create_empty(rag, dataset_id, "private.txt")["id"]
    path = f"/datasets/{dataset_id}/documents/{document_id}/chunks"
    chunk_id = rag.ok("POST", path, json={"content": "Aardvarks dig burrows at night."})["chunk"][
        "id"
    ]
    intruder.dataset("mine")

    create = intruder.call(
        "POST", f"/datasets/{dataset_id}/documents", params=EMPTY, json={"name": "x.txt"}
    )
    missing = intruder.call(
        "POST", f"/datasets/{MISSING_ID}/documents", params=EMPTY, json={"name": "x.txt"}
    )
    assert create["code"] == missing["code"] == 102
    assert create["message"].replace(dataset_id, MISSING_ID) == missing["message"]
    for method, url, kwargs in [
        ("GET", f"/datasets/{dataset_id}/documents", {}),
        ("GET", path, {}),
        ("GET", f"{path}/{chunk_id}", {}),
        ("POST", path, {"json": {"content": "injected"}}),
        ("PUT", f"{path}/{chunk_id}", {"json": {"content": "changed"}}),
        ("DELETE", path, {"json": {"chunk_ids": [chunk_id]}}),
        ("GET", f"/datasets/{dataset_id}/documents/{document_id}", {}),
    ]:
        assert intruder.call(method, url, **kwargs)["code"] == 102, (method, url)
    for scope in ({"document_ids": [document_id]}, {"dataset_ids": [dataset_id]}):
        stolen = intruder.call("POST", "/retrieval", json={"question": "aardvarks", **scope})
        assert stolen["code"] == 102, stolen

    chunks = rag.chunks(dataset_id, document_id)
    assert [c["content"] for c in chunks["chunks"]] == ["Aardvarks dig burrows at night."]
    assert rag.ok("GET", f"/datasets/{dataset_id}/documents")["total"] == 1
