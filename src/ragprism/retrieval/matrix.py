"""Exact vector search with numpy over per-dataset embedding matrices cached in memory.

The vector half of the SQLite store, of the PostgreSQL store without pgvector and of the
MariaDB store. A dataset's embeddings are read from ``chunk.embedding`` once, unit-
normalised into one float32 matrix, and kept; a search is one matrix-vector product per
dataset. An entry is valid while the dataset's ``chunk_index_version`` (bumped by
database triggers on every chunk write, from any process) is unchanged; searching reads
that counter first, so a write committed before a search began is always seen.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, select

from ragprism.models import Chunk, ChunkIndexVersion
from ragprism.retrieval.records import ChunkRecord, SearchScope
from ragprism.retrieval.store import Vector

DEFAULT_CACHE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class DatasetMatrix:
    """One tenant's dataset: chunk ids and their unit embeddings, row by row."""

    version: int
    ids: list[str]
    row_of: dict[str, int]
    document_codes: npt.NDArray[np.int32]
    document_code_of: dict[str, int]
    available: npt.NDArray[np.bool_]
    has_vector: npt.NDArray[np.bool_]
    matrix: Vector  # rows of length 1, or 0 for chunks without a vector of this dimension

    @property
    def dimension(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def nbytes(self) -> int:
        # The id strings and dicts cost about as much again per row as a 100-d vector.
        return int(self.matrix.nbytes) + 200 * len(self.ids)


@dataclass(frozen=True)
class CacheStats:
    """What the cache did so far (the benchmark prints these)."""

    hits: int
    misses: int
    loads: int
    load_seconds: float
    evictions: int
    entries: int
    bytes: int


class EmbeddingMatrixCache:
    """LRU cache of ``DatasetMatrix`` per (tenant, dataset), bounded in bytes; thread-safe."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self._max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str], DatasetMatrix] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._hits = self._misses = self._loads = self._evictions = 0
        self._load_seconds = 0.0

    def matrices(
        self, conn: Connection, tenant_id: str, dataset_ids: Sequence[str]
    ) -> list[DatasetMatrix]:
        """Current matrices of the tenant's datasets, loading those that changed."""
        rows = conn.execute(
            select(ChunkIndexVersion.dataset_id, ChunkIndexVersion.version).where(
                ChunkIndexVersion.dataset_id.in_(dataset_ids)
            )
        )
        versions = {row[0]: row[1] for row in rows}
        found: list[DatasetMatrix] = []
        for dataset_id in dict.fromkeys(dataset_ids):
            key = (tenant_id, dataset_id)
            version = versions.get(dataset_id)
            if version is None:  # never had a chunk, or deleted with its dataset
                self._forget(key)
                continue
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and entry.version == version:
                    self._entries.move_to_end(key)
                    self._hits += 1
                    found.append(entry)
                    continue
                self._misses += 1
            entry = self._load(conn, tenant_id, dataset_id, version)
            self._store(key, entry)
            found.append(entry)
        return found

    def stats(self) -> CacheStats:
        """Counters since the cache was made."""
        with self._lock:
            return CacheStats(
                self._hits,
                self._misses,
                self._loads,
                self._load_seconds,
                self._evictions,
                len(self._entries),
                self._bytes,
            )

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _load(
        self, conn: Connection, tenant_id: str, dataset_id: str, version: int
    ) -> DatasetMatrix:
        started = time.perf_counter()
        rows = conn.execute(
            select(Chunk.id, Chunk.document_id, Chunk.available, Chunk.embedding).where(
                Chunk.tenant_id == tenant_id, Chunk.dataset_id == dataset_id
            )
        ).all()
        entry = _build(version, rows)
        with self._lock:
            self._loads += 1
            self._load_seconds += time.perf_counter() - started
        return entry

    def _store(self, key: tuple[str, str], entry: DatasetMatrix) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._entries[key] = entry
            self._bytes += entry.nbytes
            while self._bytes > self._max_bytes and len(self._entries) > 1:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.nbytes
                self._evictions += 1

    def _forget(self, key: tuple[str, str]) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes


def _build(version: int, rows: Sequence[tuple[str, str, bool, bytes | None]]) -> DatasetMatrix:
    ids = [row[0] for row in rows]
    document_code_of: dict[str, int] = {}
    codes = np.fromiter(
        (document_code_of.setdefault(row[1], len(document_code_of)) for row in rows),
        dtype=np.int32,
        count=len(rows),
    )
    available = np.fromiter((bool(row[2]) for row in rows), dtype=np.bool_, count=len(rows))
    sizes = Counter(len(row[3]) for row in rows if row[3])
    width = sizes.most_common(1)[0][0] if sizes else 0
    dimension = width // 4
    has_vector = np.fromiter(
        (row[3] is not None and len(row[3]) == width > 0 for row in rows),
        dtype=np.bool_,
        count=len(rows),
    )
    matrix = np.zeros((len(rows), dimension), dtype=np.float32)
    if dimension:
        packed = b"".join(row[3] for row in rows if row[3] and len(row[3]) == width)
        matrix[has_vector] = np.frombuffer(packed, dtype="<f4").reshape(-1, dimension)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        np.divide(matrix, norms, out=matrix, where=norms > 0)
    return DatasetMatrix(
        version=version,
        ids=ids,
        row_of={chunk_id: row for row, chunk_id in enumerate(ids)},
        document_codes=codes,
        document_code_of=document_code_of,
        available=available,
        has_vector=has_vector & (np.linalg.norm(matrix, axis=1) > 0),
        matrix=matrix,
    )


class MatrixVectorIndex:
    """``VectorIndex`` over ``chunk.embedding`` with the numpy matrices of a shared cache."""

    def __init__(self, cache: EmbeddingMatrixCache | None = None) -> None:
        self.cache = cache or EmbeddingMatrixCache()

    def ensure_schema(self, conn: Connection) -> None:
        """Nothing beyond ``chunk.embedding``."""

    def write(self, conn: Connection, chunks: Sequence[ChunkRecord]) -> None:
        """Nothing: ``chunk.embedding`` is the index; the version triggers invalidate."""

    def query(self, conn: Connection, scope: SearchScope, vector: Vector) -> _MatrixQuery:
        matrices = self.cache.matrices(conn, scope.tenant_id, scope.dataset_ids)
        return _MatrixQuery(matrices, scope, vector)


class _MatrixQuery:
    def __init__(self, matrices: list[DatasetMatrix], scope: SearchScope, vector: Vector) -> None:
        self._parts: list[tuple[DatasetMatrix, npt.NDArray[np.float32], npt.NDArray[np.bool_]]]
        self._parts = []
        for entry in matrices:
            if entry.dimension != vector.shape[0]:
                continue  # another embedding model: not comparable
            mask = entry.available & entry.has_vector
            if scope.document_ids is not None:
                wanted = [
                    entry.document_code_of[d]
                    for d in scope.document_ids
                    if d in entry.document_code_of
                ]
                mask &= np.isin(entry.document_codes, np.asarray(wanted, dtype=np.int32))
            self._parts.append((entry, entry.matrix @ vector, mask))

    def nearest(self, limit: int) -> dict[str, float]:
        rows = [np.flatnonzero(mask) for _, _, mask in self._parts]
        if not rows or sum(len(r) for r in rows) == 0:
            return {}
        flat = np.concatenate([sims[r] for (_, sims, _), r in zip(self._parts, rows, strict=True)])
        starts = np.cumsum([0] + [len(r) for r in rows])
        if len(flat) > limit:
            best = np.argpartition(-flat, limit - 1)[:limit]
        else:
            best = np.arange(len(flat))
        found: dict[str, float] = {}
        for index in best.tolist():
            part = int(np.searchsorted(starts, index, side="right")) - 1
            entry = self._parts[part][0]
            found[entry.ids[int(rows[part][index - starts[part]])]] = float(flat[index])
        return found

    def score(self, chunk_ids: Collection[str]) -> dict[str, float]:
        found: dict[str, float] = {}
        for chunk_id in chunk_ids:
            for entry, sims, mask in self._parts:
                row = entry.row_of.get(chunk_id)
                if row is not None and mask[row]:
                    found[chunk_id] = float(sims[row])
                    break
        return found
