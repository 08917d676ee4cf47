"""RAGFlow parameters are honoured or refused with 101 naming them, never ignored:
``metadata_condition``, ``include_parsing_status``, ``cross_languages``, ``use_kg``,
``toc_enhance``; retrieved chunks name their document; model errors name the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragprism.runtime import Runtime
from tests.api.rag_support import Rag
from tests.conftest import Accounts


@pytest.fixture
def rag(client: TestClient, accounts: Accounts, state: Runtime) -> Rag:
    return Rag(client, accounts.user("meta@example.com"), state)


@pytest.fixture
def library(rag: Rag) -> tuple[str, dict[str, str]]:
    """A dataset of three parsed documents with ``meta_fields``; (dataset id, name → id)."""
    dataset_id = rag.dataset("library")["id"]
    books = {
        "dune.txt": ("Sand worms ride the desert of the spice planet.", {
            "author": "Frank Herbert", "year": 1965, "tags": ["desert", "Spice"],
            "published": "1965-08-01"}),
        "emma.txt": ("A matchmaker meddles in the village of Highbury.", {
            "author": "Jane Austen", "year": 1815, "tags": ["village"],
            "published": "1815-12-23"}),
        "notes.txt": ("Desert plants store water in their stems.", {}),
    }  # fmt: skip
    ids = {}
    for name, (text, meta) in books.items():
        document_id = rag.ingest(name, text.encode(), dataset_id)[1]
        if meta:
            path = f"/datasets/{dataset_id}/documents/{document_id}"
            rag.ok("PUT", path, json={"meta_fields": meta})
        ids[name] = document_id
    return dataset_id, ids


def _retrieved(rag: Rag, dataset_id: str, condition: Any, question: str = "desert") -> set[str]:
    found = rag.retrieve(
        question=question,
        dataset_ids=[dataset_id],
        similarity_threshold=0,
        metadata_condition=condition,
    )
    return {chunk["document_name"] for chunk in found["chunks"]}


def _listed(rag: Rag, dataset_id: str, condition: Any) -> set[str]:
    params = {"metadata_condition": json.dumps(condition)}
    data = rag.ok("GET", f"/datasets/{dataset_id}/documents", params=params)
    assert data["total"] == len(data["docs"])
    return {doc["name"] for doc in data["docs"]}


def cond(*conditions: tuple[str, str, Any], logic: str = "and") -> dict[str, Any]:
    return {
        "logic": logic,
        "conditions": [
            {"name": n, "comparison_operator": op, "value": v} for n, op, v in conditions
        ],
    }


CASES = [
        (cond(("author", "is", "frank herbert")), {"dune.txt"}),
        (cond(("author", "not is", "Frank Herbert")), {"emma.txt"}),
        (cond(("author", "contains", "AUST")), {"emma.txt"}),
        (cond(("author", "start with", "frank")), {"dune.txt"}),
        (cond(("year", ">", 1900)), {"dune.txt"}),
        (cond(("year", "<=", "1815")), {"emma.txt"}),
        (cond(("published", "≥", "1900-01-01")), {"dune.txt"}),
        (cond(("tags", "contains", "spice")), {"dune.txt"}),
        (cond(("tags", "in", ["village", "forest"])), {"emma.txt"}),
        (cond(("author", "not empty", None)), {"dune.txt", "emma.txt"}),
        (cond(("year", ">", 1800), ("tags", "contains", "village")), {"emma.txt"}),
        (cond(("year", ">", 1900), ("tags", "contains", "village"), logic="or"),
         {"dune.txt", "emma.txt"}),
        (cond(("author", "=", "Nobody")), set()),
        ({}, {"dune.txt", "emma.txt", "notes.txt"}),
]  # fmt: skip


def test_metadata_condition_filters_retrieval_and_document_list(
    rag: Rag, library: tuple[str, dict[str, str]]
) -> None:
    dataset_id, _ = library
    # The question matches every document: the condition decides.
    question = "desert village matchmaker sand worms plants"
    for condition, expected in CASES:
        assert _listed(rag, dataset_id, condition) == expected, condition
        assert _retrieved(rag, dataset_id, condition, question) == expected, condition


def test_metadata_condition_combines_with_document_ids(
    rag: Rag, library: tuple[str, dict[str, str]]
) -> None:
    _, ids = library
    found = rag.retrieve(
        question="desert",
        document_ids=[ids["notes.txt"], ids["dune.txt"]],
        similarity_threshold=0,
        metadata_condition=cond(("author", "not empty", None)),
    )
    assert {c["document_id"] for c in found["chunks"]} == {ids["dune.txt"]}


BAD = [
    ("author", "metadata_condition"),
    ({"logic": "xor", "conditions": []}, "metadata_condition.logic"),
    ({"conditions": "author"}, "metadata_condition.conditions"),
    (cond(("author", "like", "x")), "metadata_condition.conditions[0].comparison_operator"),
    (cond(("", "is", "x")), "metadata_condition.conditions[0].name"),
    (cond(("author", "is", None)), "metadata_condition.conditions[0].value"),
    (cond(("author", "is", {"a": 1})), "metadata_condition.conditions[0].value"),
]


def test_bad_metadata_condition_is_101_naming_the_field(rag: Rag) -> None:
    dataset_id = rag.dataset("empty")["id"]
    for condition, field in BAD:
        refused = rag.call(
            "POST",
            "/retrieval",
            json={"question": "x", "dataset_ids": [dataset_id], "metadata_condition": condition},
        )
        assert refused["code"] == 101, refused
        if isinstance(condition, str):  # not an object: the body's type check names it
            assert "metadata_condition" in refused["message"]
        else:
            assert f"`{field}`" in refused["message"], refused
        params = {"metadata_condition": json.dumps(condition)}
        listed = rag.call("GET", f"/datasets/{dataset_id}/documents", params=params)
        assert listed["code"] == 101
        assert "metadata_condition" in listed["message"]
    not_json = rag.call(
        "GET", f"/datasets/{dataset_id}/documents", params={"metadata_condition": "{"}
    )
    assert not_json["code"] == 101
    assert "`metadata_condition` must be JSON" in not_json["message"]


def test_retrieval_refuses_features_it_lacks(rag: Rag, library: tuple[str, dict[str, str]]) -> None:
    dataset_id, _ = library
    body = {"question": "desert", "dataset_ids": [dataset_id]}
    for field, value in [("cross_languages", ["French"]), ("use_kg", True), ("toc_enhance", True)]:
        refused = rag.call("POST", "/retrieval", json=body | {field: value})
        assert refused["code"] == 101
        assert f"`{field}` is not supported" in refused["message"]
    # What ragflow-sdk sends by default asks for none of them.
    defaults = {"cross_languages": None, "use_kg": False, "toc_enhance": False}
    assert rag.call("POST", "/retrieval", json=body | defaults)["code"] == 0


def test_include_parsing_status_counts_documents_per_state(
    rag: Rag, library: tuple[str, dict[str, str]]
) -> None:
    dataset_id, _ = library
    rag.upload(dataset_id, ("waiting.txt", b"Not parsed yet."))
    empty = rag.dataset("empty")["id"]
    listed = rag.call("GET", "/datasets", params={"include_parsing_status": "true"})
    by_id = {d["id"]: d for d in listed["data"]}
    counts = ("unstart_count", "running_count", "cancel_count", "done_count", "fail_count")
    assert [by_id[dataset_id][k] for k in counts] == [1, 0, 0, 3, 0]
    assert [by_id[empty][k] for k in counts] == [0, 0, 0, 0, 0]
    plain = rag.call("GET", "/datasets")["data"]
    assert all("done_count" not in d for d in plain)


def test_retrieved_chunks_name_their_document(
    rag: Rag, library: tuple[str, dict[str, str]]
) -> None:
    dataset_id, ids = library
    found = rag.retrieve(question="spice planet", dataset_ids=[dataset_id])
    chunk = found["chunks"][0]
    assert chunk["document_id"] == ids["dune.txt"]
    assert chunk["document_name"] == chunk["document_keyword"] == "dune.txt"


def test_model_errors_name_the_field(rag: Rag) -> None:
    dataset_id = rag.dataset("empty")["id"]
    for model_id in ["x@Nowhere", "x@OpenAI", "no-at-sign@"]:
        body = {"question": "x", "dataset_ids": [dataset_id], "rerank_id": model_id}
        rerank = rag.call("POST", "/retrieval", json=body)
        assert rerank["code"] in (101, 102)
        assert rerank["message"].startswith("rerank_id"), rerank
        assert "llm_factory" not in rerank["message"]
        fields = {"name": "e", "embedding_model": model_id}
        embedding = rag.call("POST", "/datasets", json=fields)
        assert embedding["code"] == 101
        assert "embedding_model" in embedding["message"]
        assert "llm_factory" not in embedding["message"]


def test_metadata_summary_and_bulk_update(rag: Rag, library: tuple[str, dict[str, str]]) -> None:
    dataset_id, ids = library
    path = f"/datasets/{dataset_id}/metadata"
    summary = rag.ok("GET", f"{path}/summary")["summary"]
    assert summary["author"] == {
        "type": "string",
        "values": [["Frank Herbert", 1], ["Jane Austen", 1]],
    }
    assert summary["year"]["type"] == "number"
    assert sorted(summary["tags"]["values"]) == [["Spice", 1], ["desert", 1], ["village", 1]]
    only_dune = rag.ok("GET", f"{path}/summary", params={"doc_ids": ids["dune.txt"]})
    assert only_dune["summary"]["author"]["values"] == [["Frank Herbert", 1]]

    # Everything old gets a shelf; one tag is renamed, one deleted.
    body = {
        "selector": {"metadata_condition": cond(("year", "<", 1900))},
        "updates": [{"key": "shelf", "value": "classics"}],
    }
    assert rag.ok("POST", f"{path}/update", json=body) == {"updated": 1, "matched_docs": 1}
    body = {
        "selector": {"document_ids": [ids["dune.txt"], ids["notes.txt"]]},
        "updates": [{"key": "tags", "match": "Spice", "value": "melange"}],
        "deletes": [{"key": "tags", "value": "desert"}, {"key": "published"}],
    }
    assert rag.ok("POST", f"{path}/update", json=body) == {"updated": 1, "matched_docs": 2}
    docs = {d["name"]: d for d in rag.ok("GET", f"/datasets/{dataset_id}/documents")["docs"]}
    assert docs["emma.txt"]["meta_fields"]["shelf"] == "classics"
    assert docs["dune.txt"]["meta_fields"]["tags"] == ["melange"]
    assert "published" not in docs["dune.txt"]["meta_fields"]
    assert docs["notes.txt"]["meta_fields"] == {}
    # No selector: every document of the dataset.
    everyone = {"deletes": [{"key": "shelf"}]}
    assert rag.ok("POST", f"{path}/update", json=everyone) == {"updated": 1, "matched_docs": 3}

    for bad, field in [
        ({"updates": [{"key": "x"}]}, "updates[0].value"),
        ({"updates": [{"key": "x", "value": {"a": 1}}]}, "updates[0].value"),
        ({"selector": {"metadata_condition": {"logic": "nand"}}}, "selector.metadata_condition"),
        ({"updates": [{"key": "", "value": 1}]}, "key"),
    ]:
        refused = rag.call("POST", f"{path}/update", json=bad)
        assert refused["code"] == 101, refused
        assert field in refused["message"]
