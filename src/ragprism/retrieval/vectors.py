"""Embeddings as stored (little-endian float32 bytes) and as computed with (numpy)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ragprism.errors import InvalidArgument
from ragprism.retrieval.store import Vector

_FLOAT32 = np.dtype("<f4")


def encode(embedding: Sequence[float]) -> bytes | None:
    """The stored form of an embedding; ``None`` for an empty one."""
    if len(embedding) == 0:
        return None
    array = np.asarray(embedding, dtype=_FLOAT32)
    if array.ndim != 1 or not np.all(np.isfinite(array)):
        raise InvalidArgument("embedding must be a flat sequence of finite numbers")
    return array.tobytes()


def decode(data: bytes) -> Vector:
    """An embedding from its stored form."""
    return np.frombuffer(data, dtype=_FLOAT32)


def unit(embedding: Sequence[float]) -> Vector:
    """``embedding`` scaled to length 1 (a zero vector stays zero)."""
    array = np.asarray(embedding, dtype=np.float32)
    if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)):
        raise InvalidArgument("query_vector must be a non-empty sequence of finite numbers")
    norm = float(np.linalg.norm(array))
    return array / norm if norm > 0 else array


def literal(embedding: Sequence[float]) -> str:
    """pgvector's text form, ``[1.0, 2.0, 3.0]``, exact for float32 values."""
    return str(np.asarray(embedding, dtype=np.float32).tolist())
