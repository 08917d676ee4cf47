"""``POST /api/v1/retrieval``: hybrid scores, parameters, rerank, and its refusals."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ragprism.runtime import Runtime
from tests.api.rag_support import MISSING_ID, Rag
from tests.conftest import Accounts
from tests.support.langfuse_server import FakeLangfuse
from tests.support.openai_server import FakeOpenAI, overlap_score

ANIMALS = (
    "Aardvarks dig burrows at night.\n"
    "Owls hunt mice at night.\n"
    "Bees make honey in summer.\n"
    "Aardvarks eat termites and ants.\n"
)


@pytest.fixture
def rag(client: TestClient, accounts: Accounts, state: Runtime) -> Rag:
    return Rag(client, accounts.user("ann@example.com"), state)


@pytest.fixture
def kb(rag: Rag) -> tuple[str, str]:
    dataset_id = rag.dataset("animals", parser_config={"chunk_token_num": 8})["id"]
    return rag.ingest("animals.txt", ANIMALS.encode(), dataset_id)


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key="sk-test", dimension=16) as server:
        yield server


def add_model(rag: Rag, server: FakeOpenAI, name: str, kind: str) -> str:
    body = {
        "llm_factory": "OpenAI-API-Compatible",
        "llm_name": name,
        "model_type": kind,
        "api_base": server.url,
        "api_key": "sk-test",
        "verify": False,
    }
    response = rag.client.post("/v1/llm/add_llm", headers=rag.headers, json=body).json()
    assert response["code"] == 0, response
    return f"{name}@OpenAI-API-Compatible"


def test_response_shape_and_scores(rag: Rag, kb: tuple[str, str]) -> None:
    dataset_id, document_id = kb
    found = rag.retrieve(question="aardvarks", dataset_ids=[dataset_id], similarity_threshold=0.1)
    assert found["total"] == 2
    assert {c["content"] for c in found["chunks"]} == {
        "Aardvarks dig burrows at night.",
        "Aardvarks eat termites and ants.",
    }
    chunk = found["chunks"][0]
    expected = {"id", "content", "document_id", "document_keyword", "dataset_id", "kb_id",
                "similarity", "term_similarity", "vector_similarity", "important_keywords",
                "positions", "image_id"}  # fmt: skip
    assert expected <= chunk.keys()
    assert "highlight" not in chunk
    for c in found["chunks"]:
        assert c["similarity"] == pytest.approx(
            0.7 * c["term_similarity"] + 0.3 * c["vector_similarity"]
        )
    similarities = [c["similarity"] for c in found["chunks"]]
    assert similarities == sorted(similarities, reverse=True)
    assert found["doc_aggs"] == [{"doc_name": "animals.txt", "doc_id": document_id, "count": 2}]


def test_weight_threshold_keyword_and_highlight(rag: Rag, kb: tuple[str, str]) -> None:
    dataset_id, _ = kb
    terms_only = rag.retrieve(
        question="night", dataset_ids=[dataset_id], vector_similarity_weight=0.0
    )
    assert all(c["similarity"] == pytest.approx(c["term_similarity"]) for c in terms_only["chunks"])
    vectors_only = rag.retrieve(
        question="night", dataset_ids=[dataset_id], vector_similarity_weight=1.0,
        similarity_threshold=0.0,
    )  # fmt: skip
    assert all(
        c["similarity"] == pytest.approx(c["vector_similarity"]) for c in vectors_only["chunks"]
    )
    everything = rag.retrieve(question="night", dataset_ids=[dataset_id], similarity_threshold=0)
    strict = rag.retrieve(question="night", dataset_ids=[dataset_id], similarity_threshold=0.99)
    assert strict["total"] < everything["total"]
    assert all(c["similarity"] >= 0.99 for c in strict["chunks"])
    keyword = rag.retrieve(
        question="night", dataset_ids=[dataset_id], similarity_threshold=0, keyword=True
    )
    assert keyword["total"] == 2
    assert all(c["term_similarity"] > 0 for c in keyword["chunks"])
    lit = rag.retrieve(question="aardvarks burrows", dataset_ids=[dataset_id], highlight=True)
    assert lit["chunks"][0]["highlight"] == "<em>Aardvarks</em> dig <em>burrows</em> at night."


def test_paging_and_document_filter(rag: Rag, kb: tuple[str, str]) -> None:
    dataset_id, document_id = kb
    other_doc = rag.ingest("more.txt", b"Night herons fish at night.", dataset_id)[1]
    body = {"question": "night", "dataset_ids": [dataset_id], "similarity_threshold": 0.1}
    everything = rag.retrieve(**body)
    assert everything["total"] == 3
    pages = [rag.retrieve(**body, page=p, page_size=2)["chunks"] for p in (1, 2, 3)]
    assert [len(p) for p in pages] == [2, 1, 0]
    assert [c["id"] for c in pages[0] + pages[1]] == [c["id"] for c in everything["chunks"]]
    only = rag.retrieve(**body, document_ids=[other_doc])
    assert {c["document_id"] for c in only["chunks"]} == {other_doc}
    by_documents = rag.retrieve(
        question="night", document_ids=[document_id], similarity_threshold=0.1
    )
    assert {c["document_id"] for c in by_documents["chunks"]} == {document_id}
    counts = {a["doc_id"]: a["count"] for a in everything["doc_aggs"]}
    assert counts == {document_id: 2, other_doc: 1}


def test_rerank_blends_the_rerank_score(
    rag: Rag, kb: tuple[str, str], provider: FakeOpenAI
) -> None:
    dataset_id, _ = kb
    rerank_id = add_model(rag, provider, "fake-rerank", "rerank")
    provider.clear()
    found = rag.retrieve(
        question="aardvarks eat", dataset_ids=[dataset_id], rerank_id=rerank_id,
        similarity_threshold=0.0, vector_similarity_weight=0.5,
    )  # fmt: skip
    assert provider.request_count("rerank") == 1
    assert found["total"] >= 2
    for chunk in found["chunks"]:
        score = overlap_score("aardvarks eat", chunk["content"])
        assert chunk["vector_similarity"] == pytest.approx(score)
        assert chunk["similarity"] == pytest.approx(0.5 * chunk["term_similarity"] + 0.5 * score)
    assert found["chunks"][0]["content"] == "Aardvarks eat termites and ants."
    missing = rag.call(
        "POST", "/retrieval",
        json={"question": "x", "dataset_ids": [dataset_id], "rerank_id": "nope@OpenAI"},
    )  # fmt: skip
    assert missing["code"] == 102


def test_provider_embedding_model_end_to_end(rag: Rag, provider: FakeOpenAI) -> None:
    model_id = add_model(rag, provider, "fake-embedding", "embedding")
    dataset = rag.dataset("remote", embedding_model=model_id)
    assert dataset["embedding_model"] == model_id
    provider.clear()
    dataset_id, _ = rag.ingest("a.txt", b"Aardvarks dig burrows.", dataset["id"])
    assert provider.request_count("embeddings") >= 1
    found = rag.retrieve(question="aardvarks", dataset_ids=[dataset_id])
    assert found["total"] == 1


def test_refusals(rag: Rag, kb: tuple[str, str]) -> None:
    dataset_id, _ = kb
    other = rag.dataset("other", embedding_model="builtin-hashing-128@Builtin")["id"]
    mixed = rag.call(
        "POST", "/retrieval", json={"question": "x", "dataset_ids": [dataset_id, other]}
    )
    assert mixed["code"] == 102
    assert "embedding model" in mixed["message"]
    foreign = rag.call("POST", "/retrieval", json={"question": "x", "dataset_ids": [MISSING_ID]})
    assert foreign["code"] == 102
    assert foreign["message"] == f"You don't own the dataset {MISSING_ID}."
    cases = [
        {"dataset_ids": [dataset_id]},
        {"question": "", "dataset_ids": [dataset_id]},
        {"question": "x"},
        {"question": "x", "dataset_ids": [dataset_id], "page": 0},
        {"question": "x", "dataset_ids": [dataset_id], "similarity_threshold": 2},
        {"question": "x", "dataset_ids": [dataset_id], "vector_similarity_weight": -1},
        {"question": "x", "dataset_ids": [dataset_id], "top_k": 0},
        {"question": "x", "dataset_ids": dataset_id},
        {"question": ["x"], "dataset_ids": [dataset_id]},
    ]
    for body in cases:
        assert rag.call("POST", "/retrieval", json=body)["code"] == 101, body
    malformed = rag.client.post(
        "/api/v1/retrieval", headers={**rag.headers, "Content-Type": "application/json"},
        content=b"{not json",
    )  # fmt: skip
    assert malformed.status_code == 200
    assert malformed.json()["code"] == 101
    unknown_doc = rag.call(
        "POST", "/retrieval", json={"question": "x", "document_ids": [MISSING_ID]}
    )
    assert unknown_doc["code"] == 102


def test_retrieval_and_ingestion_are_traced(
    rag: Rag, state: Runtime, fake_langfuse: FakeLangfuse
) -> None:
    public, secret = f"pk-lf-{uuid.uuid4()}", f"sk-lf-{uuid.uuid4()}"
    fake_langfuse.add_project(public, secret, project_id="p-rag")
    body = {"public_key": public, "secret_key": secret, "host": fake_langfuse.url}
    assert rag.call("POST", "/langfuse/api-key", json=body)["code"] == 0
    dataset_id, _ = rag.ingest("a.txt", b"Aardvarks dig burrows.")

    response = rag.client.post(
        "/api/v1/retrieval",
        headers=rag.headers,
        json={"question": "aardvarks", "dataset_ids": [dataset_id]},
    )
    data = response.json()["data"]
    assert data["total"] == 1
    assert response.headers["X-Trace-Id"] == data["trace_id"]
    assert data["trace_url"].endswith(f"/project/p-rag/traces/{data['trace_id']}")

    assert state.tracing.flush(5.0)
    spans = fake_langfuse.wait_for_spans(9, project_id="p-rag")
    names = {span["name"] for span in spans}
    assert {"ragflow-retrieval", "retrieval", "embed-query", "search"} <= names
    assert {"ragflow-ingest", "parse", "chunk", "embed", "index"} <= names
    embed = next(s for s in spans if s["name"] == "embed-query")
    assert embed["attributes"]["langfuse.observation.type"] == "embedding"


def test_ingest_and_retrieval_traces_carry_their_user_and_model_tags(
    rag: Rag, state: Runtime, fake_langfuse: FakeLangfuse
) -> None:
    """The uploader is the ingest trace's user (its id, never an e-mail); each trace is
    tagged with the model ids it used (here the dataset's embedding model)."""
    user_id = rag.client.get("/v1/user/info", headers=rag.headers).json()["data"]["id"]
    public, secret = f"pk-lf-{uuid.uuid4()}", f"sk-lf-{uuid.uuid4()}"
    fake_langfuse.add_project(public, secret, project_id="p-tags")
    body = {"public_key": public, "secret_key": secret, "host": fake_langfuse.url}
    assert rag.call("POST", "/langfuse/api-key", json=body)["code"] == 0
    dataset_id, _ = rag.ingest("a.txt", b"Aardvarks dig burrows.")
    datasets = rag.call("GET", f"/datasets?id={dataset_id}")["data"]
    embedding = datasets[0]["embedding_model"]
    assert embedding
    response = rag.client.post(
        "/api/v1/retrieval",
        headers=rag.headers,
        json={"question": "aardvarks", "dataset_ids": [dataset_id]},
    )
    assert response.json()["code"] == 0

    assert state.tracing.flush(5.0)
    spans = fake_langfuse.wait_for_spans(9, project_id="p-tags")
    for trace_name in ("ragflow-ingest", "ragflow-retrieval"):
        traced = [s for s in spans if s["attributes"]["langfuse.trace.name"] == trace_name]
        assert traced, trace_name
        for span in traced:
            assert span["attributes"]["user.id"] == user_id, (trace_name, span["name"])
            assert list(span["attributes"]["langfuse.trace.tags"]) == [embedding], trace_name
