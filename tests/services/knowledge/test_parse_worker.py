"""The parse worker and pipeline, driven step by step (no background threads).

The app runs with ``RAGPRISM_PARSE_WORKERS=0``; each test claims and parses documents
itself with ``ParseWorker.run_once``, so the interleavings are exact.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import pytest
from fastapi.testclient import TestClient

from ragprism.llm.base import EmbeddingResult
from ragprism.models import Document
from ragprism.repositories import datasets as repo
from ragprism.retrieval import ChunkRecord
from ragprism.runtime import Runtime
from ragprism.services.knowledge.ingestion import MAX_PARSE_ATTEMPTS
from ragprism.services.knowledge.parse_worker import ParseWorker
from ragprism.settings import Settings
from tests.api.rag_support import Rag, pdf_bytes
from tests.conftest import Accounts

TEXT = b"Aardvarks dig burrows.\nOwls hunt mice.\nBees make honey.\n"


@pytest.fixture
def no_workers(settings: Settings) -> None:
    settings.parse_workers = 0


@pytest.fixture
def rag(no_workers: None, client: TestClient, accounts: Accounts, state: Runtime) -> Rag:
    return Rag(client, accounts.user("ann@example.com"), state)


@pytest.fixture
def worker(rag: Rag, state: Runtime) -> ParseWorker:
    assert state.parse_worker is not None
    return state.parse_worker


def queued(rag: Rag, name: str = "a.txt", data: bytes = TEXT) -> tuple[str, str]:
    """A dataset with one document queued for parsing (``run`` RUNNING, unclaimed)."""
    dataset_id = rag.dataset(f"kb-{name}", parser_config={"chunk_token_num": 5})["id"]
    (document,) = rag.upload(dataset_id, (name, data))
    rag.ok("POST", f"/datasets/{dataset_id}/chunks", json={"document_ids": [document["id"]]})
    queued_doc = rag.document(dataset_id, document["id"])
    assert queued_doc["run"] == "RUNNING"
    assert queued_doc["progress"] == 0.0
    return dataset_id, document["id"]


def chunk_ids(state: Runtime, tenant_id: str, dataset_id: str, document_id: str) -> list[str]:
    with state.db.session() as session:
        return [c.id for c in repo.list_chunks(session, tenant_id, dataset_id, document_id)[0]]


def load(state: Runtime, document_id: str) -> Document:
    with state.db.session() as session:
        document = session.get(Document, document_id)
        assert document is not None
        return document


class HookedEmbedding:
    """Wraps an embedding model and runs ``hook`` before its first ``embed``."""

    def __init__(self, inner: object, hook: Callable[[], None]) -> None:
        self.inner = inner
        self.hook: Callable[[], None] | None = hook

    def embed(self, texts: Sequence[str]) -> EmbeddingResult:
        if self.hook is not None:
            hook, self.hook = self.hook, None
            hook()
        result: EmbeddingResult = self.inner.embed(texts)  # type: ignore[attr-defined]
        return result

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def hook_embedding(
    monkeypatch: pytest.MonkeyPatch, state: Runtime, hook: Callable[[], None]
) -> None:
    original = state.models.embedding

    def embedding(*args: object, **kwargs: object) -> object:
        return HookedEmbedding(original(*args, **kwargs), hook)  # type: ignore[arg-type]

    monkeypatch.setattr(state.models, "embedding", embedding)


def test_run_once_parses_one_document(rag: Rag, worker: ParseWorker, state: Runtime) -> None:
    _dataset_id, document_id = queued(rag)
    assert worker.run_once("w1") == document_id
    assert worker.run_once("w1") is None  # the queue is empty
    document = load(state, document_id)
    assert document.run == "DONE"
    assert document.progress == 1.0
    assert document.claimed_by is None
    assert document.claim_expires_at is None
    assert document.chunk_count == 3
    assert document.process_duration > 0
    assert document.progress_msg.splitlines()[0].endswith("Task has been received.")


def test_corrupt_file_fails_with_a_message_and_nothing_else_breaks(
    rag: Rag, worker: ParseWorker, state: Runtime
) -> None:
    _, bad = queued(rag, "broken.pdf", b"%PDF-1.7 this is not really a pdf")
    dataset_id, good = queued(rag, "good.pdf", pdf_bytes("Aardvarks dig burrows."))
    assert {worker.run_once("w1"), worker.run_once("w1")} == {bad, good}
    failed = load(state, bad)
    assert failed.run == "FAIL"
    assert failed.progress == -1.0
    assert "[ERROR] could not read broken.pdf as PDF" in failed.progress_msg
    assert failed.chunk_count == 0
    assert failed.claimed_by is None
    assert load(state, good).run == "DONE"
    shown = rag.document(dataset_id, good)
    assert shown["run"] == "DONE"


def test_stop_mid_parse_cancels_and_drops_partial_chunks(
    rag: Rag, worker: ParseWorker, state: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset_id, document_id = queued(rag)

    def stop() -> None:  # a user stops parsing while the worker is embedding
        rag.ok("DELETE", f"/datasets/{dataset_id}/chunks", json={"document_ids": [document_id]})

    hook_embedding(monkeypatch, state, stop)
    assert worker.run_once("w1") == document_id
    document = load(state, document_id)
    assert document.run == "CANCEL"
    assert document.progress == 0.0
    assert "Parsing stopped." in document.progress_msg
    assert document.chunk_count == 0
    assert document.claimed_by is None
    tenant_id = document.tenant_id
    assert chunk_ids(state, tenant_id, dataset_id, document_id) == []
    refused = rag.call(
        "DELETE", f"/datasets/{dataset_id}/chunks", json={"document_ids": [document_id]}
    )
    assert refused["code"] == 102  # not being parsed any more


def test_expired_lease_is_taken_over_and_parsed_from_scratch(
    rag: Rag, worker: ParseWorker, state: Runtime
) -> None:
    dataset_id, document_id = queued(rag)
    with state.db.session() as session:  # a worker claims it, writes a chunk, and dies
        claimed = repo.claim_next_document(session, "crashed-worker", lease_seconds=60)
        assert claimed is not None
        assert claimed.id == document_id
        tenant_id = claimed.tenant_id
    stale = ChunkRecord("f" * 32, tenant_id, dataset_id, document_id, "stale partial chunk")
    state.store.add([stale])
    assert worker.run_once("w2") is None  # the lease is still live

    with state.db.session() as session:  # ... and its lease runs out
        session.get(Document, document_id).claim_expires_at = load(state, document_id).create_time  # type: ignore[union-attr]
    assert worker.run_once("w2") == document_id
    document = load(state, document_id)
    assert document.run == "DONE"
    assert document.parse_attempts == 2
    assert "retry after an interrupted attempt" in document.progress_msg
    ids = chunk_ids(state, tenant_id, dataset_id, document_id)
    assert stale.id not in ids
    assert len(ids) == document.chunk_count == 3
    dataset = rag.ok("GET", "/datasets", params={"id": dataset_id})[0]
    assert dataset["chunk_count"] == 3


def test_a_worker_that_lost_its_claim_stops_without_touching_the_new_owner(
    rag: Rag, worker: ParseWorker, state: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _dataset_id, document_id = queued(rag)

    def taken_over() -> None:  # our lease expires and another worker claims the document
        with state.db.session() as session:
            document = session.get(Document, document_id)
            assert document is not None
            document.claim_expires_at = document.create_time
        with state.db.session() as session:
            assert repo.claim_next_document(session, "other", lease_seconds=60) is not None

    hook_embedding(monkeypatch, state, taken_over)
    assert worker.run_once("w1") == document_id
    document = load(state, document_id)
    assert document.run == "RUNNING"
    assert document.claimed_by == "other"


def test_gives_up_after_repeated_crashes(rag: Rag, worker: ParseWorker, state: Runtime) -> None:
    _, document_id = queued(rag)
    for attempt in range(MAX_PARSE_ATTEMPTS):
        with state.db.session() as session:
            claimed = repo.claim_next_document(session, f"crash-{attempt}", lease_seconds=-1)
            assert claimed is not None
    assert worker.run_once("w1") == document_id
    document = load(state, document_id)
    assert document.run == "FAIL"
    assert "gave up after" in document.progress_msg


def test_reparsing_replaces_the_chunks(rag: Rag, worker: ParseWorker, state: Runtime) -> None:
    dataset_id, document_id = queued(rag)
    worker.run_once("w1")
    tenant_id = load(state, document_id).tenant_id
    before = chunk_ids(state, tenant_id, dataset_id, document_id)
    rag.ok(
        "PUT",
        f"/datasets/{dataset_id}/documents/{document_id}",
        json={"parser_config": {"chunk_token_num": 512}},
    )
    rag.ok("POST", f"/datasets/{dataset_id}/chunks", json={"document_ids": [document_id]})
    worker.run_once("w1")
    after = chunk_ids(state, tenant_id, dataset_id, document_id)
    assert len(before) == 3
    assert len(after) == 1
    assert load(state, document_id).chunk_count == 1
    dataset = rag.ok("GET", "/datasets", params={"id": dataset_id})[0]
    assert dataset["chunk_count"] == 1


def test_embedding_failure_fails_the_document(
    rag: Rag, worker: ParseWorker, state: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, document_id = queued(rag)

    def broken() -> None:
        raise RuntimeError("boom")

    hook_embedding(monkeypatch, state, broken)
    worker.run_once("w1")
    document = load(state, document_id)
    assert document.run == "FAIL"
    assert "internal error while parsing (RuntimeError)" in document.progress_msg
    assert document.chunk_count == 0


def test_background_threads_parse_when_woken(state: Runtime) -> None:
    pool = ParseWorker(state, workers=2, lease_seconds=30, poll_seconds=60)
    pool.start()
    pool.wake()
    pool.stop(timeout=5)
    assert pool._threads == []


def test_a_long_step_keeps_the_lease_alive(
    rag: Rag, state: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, document_id = queued(rag)
    worker = ParseWorker(state, workers=0, lease_seconds=0.6)

    def slow_step() -> None:  # blocks until the heartbeat has renewed the claim
        first = load(state, document_id).claim_expires_at
        assert first is not None
        for _ in range(500):
            renewed = load(state, document_id).claim_expires_at
            if renewed is not None and renewed > first:
                break
            time.sleep(0.02)
        else:
            pytest.fail("the claim was never renewed during a long step")

    hook_embedding(monkeypatch, state, slow_step)
    assert worker.run_once("w1") == document_id
    document = load(state, document_id)
    assert document.run == "DONE"
    assert document.parse_attempts == 1
