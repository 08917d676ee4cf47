"""Estimates of the encoded size of spans, for batch byte caps and memory accounting.

Cheap on purpose: a walk over a span's attributes using ``len``, no encoding. Computed
once per span, when it is queued; the encoder's real sizes are checked where they matter
(a batch over its byte cap is cut again after encoding).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ragprism.tracing.masking import PendingMask

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan


class SizedAttributes(Protocol):
    """A trace's shared attributes (``otlp.TraceAttributes``), which know their size."""

    def size(self) -> int: ...


# What an encoded span holds besides its name and attributes: ids, times, kind, status,
# flags and the tags and lengths around them (~70 bytes), rounded up.
_SPAN_OVERHEAD = 96
_SCALAR = 10  # an int, float or bool value with its tags
_ATTRIBUTE = 6  # the tags and lengths around one key/value pair


def value_size(value: Any) -> int:
    """About how many bytes ``value`` takes encoded (UTF-8 text counted at 3 bytes a
    character unless it is ASCII: an upper bound for all but astral characters)."""
    if isinstance(value, str):
        return len(value) if value.isascii() else 3 * len(value)
    if isinstance(value, PendingMask):  # redaction changes its length a little, no more
        return value_size(value.text)
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(value_size(item) + 2 for item in value)
    if isinstance(value, Mapping):
        return attributes_size(value)
    return _SCALAR


def attributes_size(attributes: Mapping[str, Any] | None) -> int:
    """About how many bytes ``attributes`` take encoded."""
    if not attributes:
        return 0
    attributes = getattr(attributes, "_dict", attributes)  # BoundedAttributes' own dict
    return sum(
        len(key) + value_size(value) + _ATTRIBUTE if isinstance(key, str) else _SCALAR
        for key, value in attributes.items()
    )


def span_size(span: ReadableSpan, trace: SizedAttributes) -> int:
    """An estimate of the encoded size of ``span`` (with its trace's attributes), which
    is also about what it holds in memory. Computed once, when the span is queued."""
    size = _SPAN_OVERHEAD + len(span.name) + attributes_size(span.attributes) + trace.size()
    status = span.status.description if span.status is not None else None
    if status:
        size += len(status)
    for event in span.events:
        size += _SPAN_OVERHEAD + len(event.name) + attributes_size(event.attributes)
    for link in span.links:
        size += _SPAN_OVERHEAD + attributes_size(link.attributes)
    return size


def score_size(score: Mapping[str, Any]) -> int:
    """An estimate of what a queued score (the JSON body of ``POST /api/public/scores``)
    holds in memory and takes encoded: its keys and values, the comment above all."""
    return _SPAN_OVERHEAD + attributes_size(score)
