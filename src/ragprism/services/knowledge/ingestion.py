"""The parse pipeline of one claimed document: parse → chunk → embed → index.

Runs inside a parse worker (``services.parse_worker``) that holds the document's claim.
Every progress step renews the claim in the same transaction that records the progress,
so a worker that lost the document (parsing stopped or restarted, or its lease expired
and another worker took over) notices at its next step and stops.

Chunk ids are derived from the document id and the chunk's position, so a worker that
loses a race with the worker that took its document over rewrites the same rows instead
of adding duplicates.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ragprism.db.base import utcnow
from ragprism.errors import RagprismError
from ragprism.models import Document, DocumentRun
from ragprism.rag.chunking import Chunk, chunk_text
from ragprism.rag.images import is_image_name
from ragprism.rag.parsing import ParsedDocument, Section
from ragprism.rag.sandbox import ParseBudget, parse_with_budget
from ragprism.repositories import datasets as repo
from ragprism.retrieval import ChunkRecord
from ragprism.services.knowledge.chunks import drop_document_chunks
from ragprism.services.knowledge.image_description import ImageDocument, describe_image
from ragprism.services.models.model_usage import record_usage

if TYPE_CHECKING:
    from ragprism.services.context import ServiceContext
    from ragprism.tracing import Observation, Trace

log = logging.getLogger(__name__)

EMBED_BATCH = 16
# A document whose parsing crashed its worker this many times is failed, not retried.
MAX_PARSE_ATTEMPTS = 3


class ClaimLost(Exception):
    """The worker no longer holds the document: stop working on it."""


@dataclass(frozen=True)
class ClaimedDocument:
    """What a worker needs of a document it claimed (read once, at claim time)."""

    id: str
    tenant_id: str
    dataset_id: str
    name: str
    parser_config: dict[str, Any]
    parse_attempts: int
    enabled: bool = True
    created_by: str = ""  # the uploader's user id: the ingest trace's user

    @classmethod
    def of(cls, document: Document) -> ClaimedDocument:
        return cls(
            document.id,
            document.tenant_id,
            document.dataset_id,
            document.name,
            dict(document.parser_config or {}),
            document.parse_attempts,
            document.enabled,
            document.created_by or "",
        )


def chunk_id(document_id: str, position: int) -> str:
    """The id of a document's chunk at ``position`` (32 hex characters, stable)."""
    return hashlib.sha256(f"{document_id}:{position}".encode()).hexdigest()[:32]


class Ingestion:
    """Parses one claimed document for ``worker_id``."""

    def __init__(
        self,
        state: ServiceContext,
        worker_id: str,
        lease_seconds: float,
        doc: ClaimedDocument,
        budget: ParseBudget,
    ) -> None:
        self.state = state
        self.budget = budget
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds
        self.doc = doc
        self.started = time.monotonic()

    # -- progress ------------------------------------------------------------------------
    def progress(self, fraction: float, message: str) -> None:
        """Record progress and renew the claim; ``ClaimLost`` if the claim is gone."""
        with self.state.db.session() as session:
            if not repo.renew_claim(session, self.worker_id, self.doc.id, self.lease_seconds):
                raise ClaimLost(self.doc.id)
            document = session.get(Document, self.doc.id)
            if document is None:
                raise ClaimLost(self.doc.id)
            document.progress = fraction
            document.progress_msg = _append(document.progress_msg, message)

    @contextmanager
    def _heartbeat(self) -> Iterator[None]:
        """Renew the claim every third of the lease while a long step (parsing a big PDF,
        a slow embedding call) runs, so a live worker never loses its document."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.lease_seconds / 3):
                try:
                    with self.state.db.session() as session:
                        if not repo.renew_claim(
                            session, self.worker_id, self.doc.id, self.lease_seconds
                        ):
                            return  # lost: the next progress step notices and stops
                except Exception:  # a database hiccup: try again at the next beat
                    log.warning("could not renew the claim on %s", self.doc.id, exc_info=True)

        thread = threading.Thread(target=beat, name=f"ragprism-lease-{self.doc.id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _finish(self, run: DocumentRun, fraction: float, message: str) -> bool:
        with self.state.db.session() as session:
            if not repo.renew_claim(session, self.worker_id, self.doc.id, self.lease_seconds):
                return False
            document = session.get(Document, self.doc.id)
            if document is None:
                return False
            document.progress = fraction
            document.progress_msg = _append(document.progress_msg, message)
            document.process_duration = time.monotonic() - self.started
            return repo.release_claim(session, self.worker_id, self.doc.id, run=run)

    # -- the pipeline --------------------------------------------------------------------
    def run(self) -> None:
        """Parse the document to the end: DONE, FAIL, or stopped when the claim is lost."""
        doc = self.doc
        tracer = self.state.tracing.tracer
        with tracer.trace(
            "ingest",
            tenant_id=doc.tenant_id,
            user_id=doc.created_by or None,  # who uploaded the document
            input={"document": doc.name},
            metadata={"dataset_ids": [doc.dataset_id], "document_id": doc.id},
        ) as trace:
            try:
                if doc.parse_attempts > MAX_PARSE_ATTEMPTS:
                    raise RagprismError(f"gave up after {MAX_PARSE_ATTEMPTS} interrupted attempts")
                with self._heartbeat():
                    count, tokens = self._pipeline(trace)
            except ClaimLost:
                self._after_claim_lost()
                trace.update(output={"status": "stopped"})
                return
            except Exception as exc:
                message = exc.message if isinstance(exc, RagprismError) else _internal(exc)
                self._fail(message)
                trace.update(output={"status": "failed", "error": message})
                return
            done = self._finish(
                DocumentRun.DONE,
                1.0,
                f"Done: {count} chunks, {tokens} tokens in {time.monotonic() - self.started:.2f}s.",
            )
            if not done:
                self._after_claim_lost()
            trace.update(output={"status": "done" if done else "stopped", "chunks": count})

    def _pipeline(self, trace: Trace) -> tuple[int, int]:
        doc = self.doc
        self._start()
        with self.state.db.session() as session:
            data = repo.get_document_blob(session, doc.tenant_id, doc.id)
            dataset = repo.get_dataset(session, doc.tenant_id, doc.dataset_id)
            if data is None or dataset is None:
                raise ClaimLost(doc.id)
            model_id = dataset.embedding_model
        if model_id:  # tagged before any span of the trace ends (and is sent)
            trace.update(tags=[model_id])
        with trace.observation("parse", input={"document": doc.name, "bytes": len(data)}) as obs:
            if is_image_name(doc.name):
                parsed = self._describe(data, trace, obs)
            else:
                parsed = parse_with_budget(data, doc.name, self.budget)
            obs.update(output={"sections": len(parsed.sections), "chars": len(parsed.text)})
        self.progress(0.1, f"Parsed {len(parsed.sections)} section(s).")
        config = doc.parser_config
        with trace.observation("chunk", input=_chunk_options(config)) as obs:
            chunks = chunk_text(parsed.sections, **_chunk_options(config))
            obs.update(output={"chunks": len(chunks)})
        self.progress(0.2, f"Split into {len(chunks)} chunk(s).")
        with self.state.db.session() as session:
            embedder = self.state.models.embedding(session, doc.tenant_id, model_id)
        if not model_id:
            trace.update(tags=[embedder.model_name])
        price = self.state.models.price(embedder)
        vectors: list[list[float]] = []
        for start in range(0, len(chunks), EMBED_BATCH):
            batch = [c.text for c in chunks[start : start + EMBED_BATCH]]
            with trace.observation(
                "embed", kind="embedding", input=batch, model=embedder.model_name
            ) as obs:
                result = embedder.embed(batch)
                record_usage(obs, result.usage, price)
            vectors.extend(result.vectors)
            done = len(vectors)
            self.progress(0.2 + 0.7 * done / len(chunks), f"Embedded {done}/{len(chunks)}.")
        with trace.observation("index", input={"chunks": len(chunks)}):
            tokens = sum(c.token_count for c in chunks)
            self.state.store.add(self._records(chunks, vectors))
            with self.state.db.session() as session:
                repo.add_chunk_counts(
                    session, doc.tenant_id, doc.id, chunks=len(chunks), tokens=tokens
                )
        return len(chunks), tokens

    def _describe(self, data: bytes, trace: Trace, parse: Observation) -> ParsedDocument:
        """An image's text: its description by the tenant's image-to-text model."""
        doc = self.doc
        image = ImageDocument(
            doc.tenant_id, doc.dataset_id, doc.id, doc.name, data, doc.created_by or None
        )
        described = describe_image(self.state, image, link=parse, ingest_trace_id=trace.trace_id)
        trace.update(tags=[described.model_id])
        return ParsedDocument(described.text, [Section(described.text)], "image")

    def _start(self) -> None:
        """Begin from scratch: drop chunks a previous (crashed or older) parse left."""
        doc = self.doc
        with self.state.db.session() as session:
            if not repo.renew_claim(session, self.worker_id, doc.id, self.lease_seconds):
                raise ClaimLost(doc.id)
            document = session.get(Document, doc.id)
            if document is None:
                raise ClaimLost(doc.id)
            document.process_begin_at = utcnow()
            document.progress = 0.0
            retry = " (retry after an interrupted attempt)" if doc.parse_attempts > 1 else ""
            document.progress_msg = f"{_clock()} Task has been received{retry}."
        with self.state.db.session() as session:
            drop_document_chunks(session, self.state, doc.tenant_id, doc.id)

    def _records(self, chunks: Sequence[Chunk], vectors: list[list[float]]) -> list[ChunkRecord]:
        doc = self.doc
        return [
            ChunkRecord(
                id=chunk_id(doc.id, c.index),
                tenant_id=doc.tenant_id,
                dataset_id=doc.dataset_id,
                document_id=doc.id,
                content=c.text,
                embedding=vector,
                token_count=c.token_count,
                position=c.index,
                page=c.page,
                available=doc.enabled,  # a disabled document's chunks stay out of retrieval
            )
            for c, vector in zip(chunks, vectors, strict=True)
        ]

    def _fail(self, message: str) -> None:
        if self._finish(DocumentRun.FAIL, -1.0, f"[ERROR] {message}"):
            self._drop_chunks()
        else:
            self._after_claim_lost()

    def _after_claim_lost(self) -> None:
        """Clean up after losing the claim: only a stopped document loses its chunks
        (a re-queued or taken-over one is cleaned by the worker that parses it next)."""
        with self.state.db.session() as session:
            document = session.get(Document, self.doc.id)
            stopped = document is not None and document.run == DocumentRun.CANCEL.value
        if stopped:
            self._drop_chunks()

    def _drop_chunks(self) -> None:
        try:
            with self.state.db.session() as session:
                drop_document_chunks(session, self.state, self.doc.tenant_id, self.doc.id)
        except Exception:  # the document may be gone meanwhile; nothing to keep consistent
            log.warning("could not drop the chunks of document %s", self.doc.id, exc_info=True)


def _chunk_options(config: dict[str, Any]) -> dict[str, Any]:
    """``chunk_text`` keywords from RAGFlow's ``parser_config`` (overlap 0-100 → fraction)."""
    options: dict[str, Any] = {}
    if "chunk_token_num" in config:
        options["chunk_token_num"] = config["chunk_token_num"]
    if config.get("delimiter"):
        options["delimiter"] = config["delimiter"]
    overlap = config.get("overlapped_percent") or 0
    if isinstance(overlap, int | float) and not isinstance(overlap, bool):
        options["overlapped_percent"] = min(float(overlap), 90.0) / 100.0
    return options


def _append(log_text: str, message: str) -> str:
    line = f"{_clock()} {message}"
    return f"{log_text}\n{line}" if log_text else line


def _clock() -> str:
    return utcnow().strftime("%H:%M:%S")


def _internal(exc: BaseException) -> str:
    log.exception("parsing failed unexpectedly")
    return f"internal error while parsing ({type(exc).__name__}); see the server log"
