"""Chunk store benchmark: ingestion throughput and hybrid search latency per backend.

    .venv/bin/python bench/retrieval.py                       # 10k and 100k chunks
    .venv/bin/python bench/retrieval.py --sizes 10000 --queries 100
    .venv/bin/python bench/retrieval.py --backends sqlite,pgvector

Backends: ``sqlite`` (a temporary file), ``pgvector`` (a private PostgreSQL 16 with
pgvector from the ``pgserver`` wheel) and ``postgres`` (the system PostgreSQL, which has
no pgvector: numpy fallback; by default only up to ``--fallback-max`` chunks).

The corpus is synthetic and deterministic: Zipf-distributed pseudo-words in sentences,
six sentences (~1 KB) per chunk, 100 chunks per document, one dataset. Embeddings come
from the built-in ``HashingEmbedding`` (384-d): each sentence is embedded once and a
chunk's vector is the normalised sum of its sentences' vectors (embedding every chunk
would take longer than the benchmark). Embedding time is not part of the figures.

Ingestion: MB of chunk text per second through ``ChunkStore.add`` in batches of one
document, committed, including full-text and vector indexing. Sizes grow in one
database (the 100k run adds 90k chunks to the 10k one). Exception: pgvector's HNSW
inserts cost ~5 ms a vector on this machine, so a pgvector step adding more than
``--incremental-max`` chunks is bulk-filled (chunks added with the HNSW index dropped,
then the index built) except its last ``--sample`` chunks, which are inserted normally
and give that row's ingestion figures; fill and build times are printed as notes.

Search: the default retrieval parameters (top_k 1024, threshold 0.2, weight 0.3) over
the whole dataset, questions of a few words taken from random chunks; the first query
after ingesting (which loads the embedding cache where there is one) is reported apart
from p50/p95 of the rest. On PostgreSQL the benchmark runs ANALYZE after ingesting, as
autovacuum soon would: the full-text search reads the term statistics.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from ragprism.db import Database, new_id, utcnow
from ragprism.db.engine import normalise_url
from ragprism.db.migrate import upgrade
from ragprism.models import Dataset, Document, Tenant
from ragprism.retrieval import ChunkRecord, HybridChunkStore, PostgresChunkStore, make_store
from ragprism.retrieval.analysis import STOP_WORDS
from ragprism.retrieval.pgvector import DEFAULT_EXACT_LIMIT

try:
    from ragprism.llm.builtin import HashingEmbedding
except ImportError:  # the built-in model is not there: a hashed bag of words will do
    HashingEmbedding = None  # type: ignore[assignment,misc]

CHUNKS_PER_DOCUMENT = 100
SENTENCES_PER_CHUNK = 6


def _embedder(dimension: int) -> tuple[str, object]:
    if HashingEmbedding is not None:
        model = HashingEmbedding(dimension)
        return "builtin HashingEmbedding", lambda texts: np.asarray(model.embed(texts).vectors)

    def bag_of_words(texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), dimension), dtype=np.float32)
        for row, sentence in enumerate(texts):
            for word in sentence.lower().split():
                vectors[row, hash(word) % dimension] += 1.0
        return vectors

    return "local hashed bag of words", bag_of_words


class Corpus:
    """Deterministic chunks with vectors, generated on demand."""

    def __init__(self, dimension: int, seed: int = 7, sentences: int = 20_000) -> None:
        rnd = random.Random(seed)
        syllables = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"]
        words = sorted(
            {
                "".join(rnd.choice(syllables) for _ in range(rnd.randint(1, 4)))
                for _ in range(30_000)
            }
            - STOP_WORDS
        )
        rnd.shuffle(words)
        # As in real text, the most frequent words are stop words.
        vocabulary = sorted(STOP_WORDS) + words
        weights = 1.0 / np.arange(1, len(vocabulary) + 1) ** 1.1  # Zipf
        picks = np.random.default_rng(seed).choice(
            len(vocabulary), size=(sentences, 25), p=weights / weights.sum()
        )
        self.sentences = [" ".join(vocabulary[i] for i in row).capitalize() + "." for row in picks]
        self.embedder_name, embed = _embedder(dimension)
        started = time.perf_counter()
        vectors = np.vstack(
            [embed(self.sentences[i : i + 1000]) for i in range(0, sentences, 1000)]  # type: ignore[operator]
        ).astype(np.float32)
        self.embed_seconds = time.perf_counter() - started
        self.sentence_vectors = vectors
        self._rnd = np.random.default_rng(seed + 1)
        self.embed = embed

    def chunk(self, index: int) -> tuple[str, list[float]]:
        rng = np.random.default_rng(index)
        picked = rng.integers(0, len(self.sentences), SENTENCES_PER_CHUNK)
        content = " ".join(self.sentences[i] for i in picked)
        vector = self.sentence_vectors[picked].sum(axis=0)
        vector /= max(float(np.linalg.norm(vector)), 1e-9)
        return content, vector.tolist()

    def question(self, rnd: random.Random, size: int) -> tuple[str, list[float]]:
        content, _ = self.chunk(rnd.randrange(size))
        words = content.rstrip(".").split()
        start = rnd.randrange(0, len(words) - 6)
        question = " ".join(words[start : start + rnd.randint(3, 6)])
        vector = np.asarray(self.embed([question]))[0]  # type: ignore[operator]
        return question, vector.tolist()


@dataclass
class Place:
    tenant_id: str
    dataset_id: str


def _prepare(database: Database) -> Place:
    place = Place(new_id(), new_id())
    with database.session() as session:
        session.add(Tenant(id=place.tenant_id, name="bench"))
        session.flush()
        session.add(
            Dataset(id=place.dataset_id, tenant_id=place.tenant_id, name="bench", created_by="b")
        )
    return place


def _document(database: Database, place: Place) -> str:
    document_id = new_id()
    with database.engine.begin() as conn:
        conn.execute(
            insert(Document),
            [
                {
                    "id": document_id,
                    "tenant_id": place.tenant_id,
                    "dataset_id": place.dataset_id,
                    "name": f"{document_id}.txt",
                    "content_hash": "0" * 64,
                    "created_by": "bench",
                    "create_time": utcnow(),
                    "update_time": utcnow(),
                }
            ],
        )
    return document_id


def ingest(
    store: HybridChunkStore, database: Database, place: Place, corpus: Corpus, start: int, stop: int
) -> tuple[float, float]:
    """Add chunks ``start``..``stop``; returns (MB of text, seconds in ``store.add``)."""
    size = 0
    spent = 0.0
    for first in range(start, stop, CHUNKS_PER_DOCUMENT):
        document_id = _document(database, place)
        records = []
        for index in range(first, min(first + CHUNKS_PER_DOCUMENT, stop)):
            content, vector = corpus.chunk(index)
            size += len(content.encode())
            records.append(
                ChunkRecord(
                    id=uuid.UUID(int=index + 1).hex,
                    tenant_id=place.tenant_id,
                    dataset_id=place.dataset_id,
                    document_id=document_id,
                    content=content,
                    embedding=vector,
                    position=index - first,
                    token_count=len(content.split()),
                )
            )
        began = time.perf_counter()
        store.add(records)
        spent += time.perf_counter() - began
    return size / 1e6, spent


def query_latencies(
    store: HybridChunkStore, place: Place, corpus: Corpus, size: int, count: int, top_k: int
) -> tuple[float, list[float], float]:
    """(first query ms, other queries' ms, mean number of results)."""
    rnd = random.Random(size)
    questions = [corpus.question(rnd, size) for _ in range(count + 1)]
    timings: list[float] = []
    results = 0
    for question, vector in questions:
        began = time.perf_counter()
        found = store.search(
            place.tenant_id, [place.dataset_id], question=question, query_vector=vector, top_k=top_k
        )
        timings.append((time.perf_counter() - began) * 1000)
        results += len(found)
    return timings[0], timings[1:], results / len(questions)


@contextlib.contextmanager
def _scratch(admin_url: str) -> Iterator[str]:
    name = f"ragprism_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(normalise_url(admin_url)).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@contextlib.contextmanager
def open_database(backend: str, postgres_url: str, workdir: Path) -> Iterator[Database]:
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
        upgrade(url)
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()
        return
    server = None
    if backend == "pgvector":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs, on import
            import pgserver

            server = pgserver.get_server(workdir / "pgdata", cleanup_mode="stop")
        postgres_url = server.get_uri()
    try:
        with _scratch(postgres_url) as url:
            upgrade(url)
            database = Database(url)
            try:
                yield database
            finally:
                database.dispose()
    finally:
        if server is not None:
            server.cleanup()


def _mode(store: HybridChunkStore, size: int) -> str:
    if isinstance(store, PostgresChunkStore) and store.uses_pgvector:
        return "pgvector exact" if size <= DEFAULT_EXACT_LIMIT else "pgvector HNSW"
    return "numpy exact"


def bulk_fill(
    store: HybridChunkStore, database: Database, place: Place, corpus: Corpus, start: int, stop: int
) -> tuple[float, float]:
    """Fill a pgvector store fast: add chunks without the HNSW index, then build it.

    Incremental HNSW inserts cost pgvector 0.6 ~4-5 ms a vector here, too slow to reach
    100k chunks within the benchmark's budget; the resulting index is the same kind.
    Returns (seconds adding, seconds building the index).
    """
    table = f"chunk_vector_{corpus.sentence_vectors.shape[1]}"
    with database.engine.begin() as conn:
        exists = conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar()
    adding = 0.0
    if exists is None:
        # The store creates the table, and its HNSW index, with its first chunk: add that
        # one first, so the index dropped below is not made again by ``ingest``.
        _, adding = ingest(store, database, place, corpus, start, start + 1)
        start += 1
    with database.engine.begin() as conn:
        conn.execute(text(f"DROP INDEX IF EXISTS ix_{table}_hnsw"))
    _, rest = ingest(store, database, place, corpus, start, stop)
    adding += rest
    began = time.perf_counter()
    with database.engine.begin() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '4GB'"))  # in memory, 1M chunks too
        conn.execute(
            text(
                f"CREATE INDEX ix_{table}_hnsw ON {table} USING hnsw (embedding vector_cosine_ops)"
            )
        )
    return adding, time.perf_counter() - began


def _row(
    backend: str,
    store: HybridChunkStore,
    size: int,
    ingested: tuple[float, float, int],
    latencies: tuple[float, list[float], float],
) -> str:
    megabytes, seconds, chunks = ingested
    first, rest, hits = latencies
    cache = getattr(store.vectors, "cache", None)
    cache_text = "-"
    if cache is not None:
        stats = cache.stats()
        cache_text = (
            f"{stats.bytes / 1e6:.0f} MB, {stats.loads} loads"
            f" {stats.load_seconds:.2f} s, {stats.hits} hits"
        )
    return (
        f"{backend:<9} {size:>7} {_mode(store, size):<14} {megabytes:>6.1f}"
        f" {megabytes / seconds:>6.2f} {chunks / seconds:>8.0f} {first:>8.1f}"
        f" {statistics.median(rest):>7.1f} {float(np.percentile(rest, 95)):>7.1f}"
        f" {hits:>5.0f}  {cache_text}"
    )


def run(args: argparse.Namespace) -> None:
    sizes = sorted(int(s) for s in args.sizes.split(","))
    began = time.perf_counter()
    corpus = Corpus(args.dimension)
    print(
        f"corpus: {len(corpus.sentences)} sentences embedded with {corpus.embedder_name}"
        f" ({args.dimension}-d) in {corpus.embed_seconds:.1f} s; {args.queries} queries per size,"
        f" top_k {args.top_k}"
    )
    header = (
        f"{'backend':<9} {'chunks':>7} {'vectors':<14} {'MB':>6} {'MB/s':>6} {'chunks/s':>8}"
        f" {'1st q ms':>8} {'p50 ms':>7} {'p95 ms':>7} {'hits':>5}  cache"
    )
    print(header)
    print("-" * len(header))
    notes: list[str] = []
    for backend in args.backends.split(","):
        with (
            tempfile.TemporaryDirectory() as workdir,
            open_database(backend, args.postgres_url, Path(workdir)) as database,
        ):
            store = make_store(database)
            assert isinstance(store, HybridChunkStore)
            place = _prepare(database)
            done = 0
            for size in sizes:
                if backend == "postgres" and size > args.fallback_max:
                    print(f"{backend:<9} {size:>7} skipped (above --fallback-max)")
                    continue
                measured_from = done
                if backend == "pgvector" and size - done > args.incremental_max:
                    measured_from = size - args.sample
                    adding, building = bulk_fill(
                        store, database, place, corpus, done, measured_from
                    )
                    notes.append(
                        f"pgvector {size}: chunks {done}..{measured_from} added without the HNSW"
                        f" index in {adding:.0f} s, index built in {building:.0f} s; the ingestion"
                        f" figures are for the last {args.sample} chunks, inserted incrementally"
                    )
                megabytes, seconds = ingest(store, database, place, corpus, measured_from, size)
                done = size
                if database.backend == "postgresql":  # as autovacuum soon would
                    with database.engine.begin() as conn:
                        conn.execute(text("ANALYZE chunk"))
                latencies = query_latencies(store, place, corpus, size, args.queries, args.top_k)
                ingested = (megabytes, seconds, size - measured_from)
                print(_row(backend, store, size, ingested, latencies), flush=True)
    for note in notes:
        print("note:", note)
    print(f"total {time.perf_counter() - began:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts, comma-separated")
    parser.add_argument("--backends", default="sqlite,pgvector,postgres")
    parser.add_argument("--queries", type=int, default=50, help="timed queries per size")
    parser.add_argument("--dimension", type=int, default=384)
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument(
        "--fallback-max", type=int, default=10_000, help="largest size for the system PostgreSQL"
    )
    parser.add_argument("--top-k", type=int, default=1024, help="RAGFlow's default is 1024")
    parser.add_argument(
        "--incremental-max",
        type=int,
        default=20_000,
        help="pgvector steps adding more chunks than this are bulk-filled (see bulk_fill)",
    )
    parser.add_argument(
        "--sample", type=int, default=2_000, help="chunks inserted incrementally after a bulk fill"
    )
    run(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
