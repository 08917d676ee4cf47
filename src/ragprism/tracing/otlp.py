"""OTLP protobuf encoding of ended spans, written straight to the wire format.

Produces the same message as ``opentelemetry.exporter.otlp.proto.common.trace_encoder.
encode_spans(spans).SerializeToString()`` (tests/tracing/test_otlp.py checks it), about
six times cheaper: the reference builds a protobuf object per span, attribute and value,
which costs ~90 µs per Langfuse span on this machine, more than the stock exporter's
gzip. Here a span is a few ``bytes`` joins, and the key/value pairs every span of a trace
repeats (trace name, session, user, tags, metadata, environment, release) are encoded
once and cached, and the trace-level ones can be passed pre-encoded (``prefixes``).

Exactly the reference's bytes, for every input it can encode (tests/tracing/test_otlp.py
checks it with Hypothesis), including where the reference is lenient: an attribute whose
value it cannot encode (a lone surrogate, an int outside int64, an unknown type, a key that
is not a ``str``) is left out, alone, and an empty key is written as proto3 writes it, as
no key at all. ``encode`` never raises anything but :class:`EncodeError`: should the fast
path fail on a span, the batch is encoded again by the reference encoder, and only what the
reference cannot encode either (a lone surrogate in a span name, a negative timestamp)
raises, for the caller to count as dropped.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common._internal import _encode_attributes
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PB2Span
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from ragprism.tracing.sizes import attributes_size

log = logging.getLogger(__name__)


class EncodeError(Exception):
    """A batch neither the fast path nor OTel's reference encoder can encode.

    ``spans`` is how many spans the batch held: all of them are lost, and the caller
    counts them as dropped (reason ``unencodable``). The reference's exception is the cause.
    """

    def __init__(self, spans: int, cause: BaseException) -> None:
        super().__init__(f"cannot encode {spans} span(s): {type(cause).__name__}: {cause}")
        self.spans = spans


_LD = 2  # length-delimited wire type
_KIND = {
    SpanKind.INTERNAL: 1,
    SpanKind.SERVER: 2,
    SpanKind.CLIENT: 3,
    SpanKind.PRODUCER: 4,
    SpanKind.CONSUMER: 5,
}
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200
_CACHE_MAX = 50_000
_CACHEABLE_CHARS = 256
_pack_q = struct.Struct("<Q").pack
_pack_d = struct.Struct("<d").pack
_pack_i = struct.Struct("<I").pack
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_UINT32_MAX = (1 << 32) - 1


_ONE_BYTE = [bytes((i,)) for i in range(0x80)]


def _varint(n: int) -> bytes:
    if 0 <= n < 0x80:
        return _ONE_BYTE[n]
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _uint32(n: int) -> bytes:
    if not 0 <= n <= _UINT32_MAX:
        raise ValueError(f"Value out of range: {n}")
    return _varint(n)


def _tag(field: int, wire: int) -> bytes:
    return _varint((field << 3) | wire)


_LD_TAGS = [_tag(field, _LD) for field in range(16)]


def _ld(field: int, payload: bytes) -> bytes:
    return _LD_TAGS[field] + _varint(len(payload)) + payload


def _any_value(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return _ld(1, value.encode())
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"Value out of range: {value}")  # as protobuf's int64 says
        return b"\x18" + _varint(value)
    if isinstance(value, float):
        return b"\x21" + _pack_d(value)
    if isinstance(value, bytes):
        return _ld(7, value)
    if isinstance(value, Sequence):
        return _ld(5, b"".join(_ld(1, _any_value(item)) for item in value))
    if isinstance(value, Mapping):
        return _ld(6, b"".join(_ld(1, _key_value(str(k), v)) for k, v in value.items()))
    raise TypeError(f"cannot encode an attribute of type {type(value).__name__}")


def _key_value(key: str, value: Any) -> bytes:
    name = key.encode()
    # proto3 writes no empty string; the value is a message set explicitly, always written
    return (_ld(1, name) if name else b"") + _ld(2, _any_value(value))


# Only exact str, int and bool values are cached, keyed by their type as well: 1, 1.0 and
# True are equal dict keys (as are 0.0 and -0.0) but are encoded differently.
_CACHED_TYPES = frozenset({str, int, bool})
_cache: dict[tuple[str, type, Any], bytes] = {}


def _attribute(field: int, key: str, value: Any) -> bytes:
    """One ``KeyValue`` as a repeated-field entry (tag included); nothing when the
    reference would leave it out (it logs and skips an attribute it cannot encode)."""
    kind = type(value)
    cacheable = (
        field == 9
        and kind in _CACHED_TYPES
        and (kind is not str or len(value) <= _CACHEABLE_CHARS)
        and type(key) is str
    )
    if cacheable:
        hit = _cache.get((key, kind, value))
        if hit is not None:
            return hit
    try:
        entry = _ld(field, _key_value(key, value))
    except Exception as error:  # what the reference skips too: see the module docstring
        log.debug("trace attribute %r left out: %s", key, error)
        return b""
    if cacheable:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[(key, kind, value)] = entry
    return entry


def _attributes(attributes: Mapping[str, Any] | None, field: int) -> bytes:
    if not attributes:
        return b""
    # BoundedAttributes iterates through the Mapping ABC's views; its dict is much faster.
    attributes = getattr(attributes, "_dict", attributes)
    return b"".join([_attribute(field, k, v) for k, v in attributes.items()])


def encode_attributes(attributes: Mapping[str, Any]) -> bytes:
    """Span attributes as they appear inside an encoded span (for ``encode``'s prefixes).

    Raises only :class:`EncodeError` (with ``spans=0``), when neither encoder can iterate
    ``attributes``."""
    try:
        return _attributes(attributes, 9)
    except Exception:  # an attribute mapping that fails to iterate; see encode()
        log.warning("fast OTLP attribute encoding failed; using the reference", exc_info=True)
    try:
        encoded: bytes = PB2Span(attributes=_encode_attributes(attributes)).SerializeToString()
        return encoded
    except Exception as error:
        raise EncodeError(0, error) from error


class TraceAttributes:
    """The trace-level attributes of one trace, sent with every span of it.

    Kept out of the OTel spans themselves (the SDK would copy and validate them for every
    span) and encoded once, on first use, for the whole trace.
    """

    __slots__ = ("_attrs", "_cache", "_size")

    def __init__(self, attrs: dict[str, Any]) -> None:
        self._attrs = attrs
        self._cache: tuple[dict[str, Any], bytes] | None = None
        self._size: tuple[dict[str, Any], int] | None = None

    @property
    def attrs(self) -> dict[str, Any]:
        return self._attrs

    def replace(self, attrs: dict[str, Any]) -> None:
        """New trace attributes for the spans not yet encoded."""
        self._attrs = attrs

    def size(self) -> int:
        """About how many bytes the attributes add to each span (estimated once per
        version of them, for the queues' memory accounting)."""
        attrs, size = self._attrs, self._size
        if size is not None and size[0] is attrs:
            return size[1]
        n = attributes_size(attrs)
        self._size = (attrs, n)
        return n

    def encoded(self) -> bytes:
        attrs, cache = self._attrs, self._cache
        if cache is not None and cache[0] is attrs:
            return cache[1]
        data = encode_attributes(attrs)
        self._cache = (attrs, data)
        return data


def _span(span: ReadableSpan, prefix: bytes) -> bytes:
    context = span.context
    assert context is not None  # an SDK span always has one
    parent = span.parent
    parts = [
        b"\x0a\x10" + context.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + context.span_id.to_bytes(8, "big"),
    ]
    if context.trace_state:
        parts.append(_ld(3, ",".join(f"{k}={v}" for k, v in context.trace_state.items()).encode()))
    if parent is not None:
        parts.append(b"\x22\x08" + parent.span_id.to_bytes(8, "big"))
    if span.name:
        parts.append(_ld(5, span.name.encode()))
    parts.append(b"\x30" + _varint(_KIND[span.kind]))
    if span.start_time:
        parts.append(b"\x39" + _pack_q(span.start_time))
    if span.end_time:
        parts.append(b"\x41" + _pack_q(span.end_time))
    parts.append(prefix)
    parts.append(_attributes(span.attributes, 9))
    if span.dropped_attributes:
        parts.append(b"\x50" + _uint32(span.dropped_attributes))
    for event in span.events:
        body = b""
        if event.timestamp:
            body += b"\x09" + _pack_q(event.timestamp)
        if event.name:
            body += _ld(2, event.name.encode())
        body += _attributes(event.attributes, 3)
        if event.dropped_attributes:
            body += b"\x20" + _uint32(event.dropped_attributes)
        parts.append(_ld(11, body))
    if span.dropped_events:
        parts.append(b"\x60" + _uint32(span.dropped_events))
    for link in span.links:
        linked = link.context
        body = b"\x0a\x10" + linked.trace_id.to_bytes(16, "big")
        body += b"\x12\x08" + linked.span_id.to_bytes(8, "big")
        # no trace_state: the reference does not write a link's
        body += _attributes(link.attributes, 4)
        if link.dropped_attributes:
            body += b"\x28" + _uint32(link.dropped_attributes)
        link_flags = _HAS_IS_REMOTE | (_IS_REMOTE if linked.is_remote else 0)
        body += b"\x35" + _pack_i(link_flags)
        parts.append(_ld(13, body))
    if span.dropped_links:
        parts.append(b"\x70" + _uint32(span.dropped_links))
    if span.status is not None:
        status = b""
        if span.status.description:
            status += _ld(2, span.status.description.encode())
        if span.status.status_code.value:
            status += b"\x18" + _varint(span.status.status_code.value)
        parts.append(_ld(15, status))
    flags = _HAS_IS_REMOTE | (_IS_REMOTE if parent is not None and parent.is_remote else 0)
    parts.append(b"\x85\x01" + _pack_i(flags))
    return b"".join(parts)


def encode(spans: Sequence[ReadableSpan], prefixes: Sequence[bytes] | None = None) -> bytes:
    """The serialised ``ExportTraceServiceRequest`` for ``spans``. ``prefixes[i]``, from
    ``encode_attributes``, goes before the attributes of ``spans[i]``: the trace-level
    attributes, encoded once per trace instead of being copied into every span.

    Raises :class:`EncodeError` (and nothing else) when the batch cannot be encoded.
    """
    if prefixes is None:
        prefixes = [b""] * len(spans)
    try:
        return _encode_fast(spans, prefixes)
    except Exception:  # a span the fast path cannot encode: let the reference decide
        log.warning("fast OTLP encoding failed; using the reference encoder", exc_info=True)
    try:
        return _encode_reference(spans, prefixes)
    except Exception as error:
        raise EncodeError(len(spans), error) from error


def _encode_reference(spans: Sequence[ReadableSpan], prefixes: Sequence[bytes]) -> bytes:
    """``encode`` by OTel's ``encode_spans``, the prefixes spliced in front of each span's
    own attributes (the reference groups spans as ``_encode_fast`` does)."""
    if len(prefixes) != len(spans):
        raise ValueError(f"{len(prefixes)} prefixes for {len(spans)} spans")
    request = encode_spans(spans)
    order: dict[Any, dict[Any, list[bytes]]] = {}
    for span, prefix in zip(spans, prefixes, strict=True):
        scopes = order.setdefault(span.resource, {})
        scopes.setdefault(span.instrumentation_scope or None, []).append(prefix)
    grouped = [prefix for scopes in order.values() for group in scopes.values() for prefix in group]
    encoded = [
        span
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]
    for prefix, span in zip(grouped, encoded, strict=True):
        if prefix:
            own = list(span.attributes)
            del span.attributes[:]
            span.attributes.extend(PB2Span.FromString(prefix).attributes)
            span.attributes.extend(own)
    body: bytes = request.SerializeToString()
    return body


def _encode_fast(spans: Sequence[ReadableSpan], prefixes: Sequence[bytes]) -> bytes:
    groups: dict[Any, dict[Any, list[bytes]]] = {}
    for span, prefix in zip(spans, prefixes, strict=True):
        scopes = groups.setdefault(span.resource, {})
        entry = _ld(2, _span(span, prefix))
        scopes.setdefault(span.instrumentation_scope or None, []).append(entry)
    out = []
    for resource, scopes in groups.items():
        body = _ld(1, _attributes(resource.attributes, 1))
        for scope, encoded in scopes.items():
            scope_body = b""
            if scope is not None:
                if scope.name:
                    scope_body += _ld(1, scope.name.encode())
                if scope.version:
                    scope_body += _ld(2, scope.version.encode())
                scope_body += _attributes(scope.attributes, 3)
            scope_spans = _ld(1, scope_body) + b"".join(encoded)
            if scope is not None and scope.schema_url:
                scope_spans += _ld(3, scope.schema_url.encode())
            body += _ld(2, scope_spans)
        if resource.schema_url:
            body += _ld(3, resource.schema_url.encode())
        out.append(_ld(1, body))
    return b"".join(out)
