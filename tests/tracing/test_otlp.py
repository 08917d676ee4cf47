"""The wire encoder produces exactly what OTel's reference encoder produces."""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    Link,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceState,
    set_span_in_context,
)

from ragprism.tracing import otlp
from ragprism.tracing.otlp import EncodeError, encode, encode_attributes


class Collect(SpanProcessor):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


def test_matches_reference_encoder() -> None:
    provider = TracerProvider(
        resource=Resource({"service.name": "x", "n": 3}), shutdown_on_exit=False
    )
    collect = Collect()
    provider.add_span_processor(collect)
    tracer = provider.get_tracer("ragprism", "1.0")
    other = provider.get_tracer("other")
    root = tracer.start_span(
        "root",
        attributes={
            "s": "text ü " * 100,
            "empty": "",
            "b": True,
            "f": False,
            "i": -5,
            "big": 2**62,
            "d": 1.5,
            "tags": ["a", "b"],
            "nums": [1, 2],
        },
    )
    child = other.start_span(
        "child",
        context=set_span_in_context(root),
        links=[Link(root.get_span_context(), {"why": "follows"})],
    )
    child.add_event("evt", {"k": "v"})
    child.set_status(Status(StatusCode.ERROR, "boom"))
    child.end()
    ok = tracer.start_span("ok", context=set_span_in_context(root))
    ok.set_status(Status(StatusCode.OK))
    ok.end()
    root.end()
    spans = collect.spans
    reference = encode_spans(spans)
    mine = ExportTraceServiceRequest()
    mine.ParseFromString(encode(spans))
    assert mine == reference
    assert encode(spans) == reference.SerializeToString()
    assert encode(spans) == encode(spans)  # cached attribute entries give the same bytes


def test_prefixes_are_the_first_attributes() -> None:
    provider = TracerProvider(shutdown_on_exit=False)
    collect = Collect()
    provider.add_span_processor(collect)
    span = provider.get_tracer("t").start_span("s", attributes={"own": 1})
    span.end()
    trace_level = {"session.id": "s1", "langfuse.trace.tags": ["a"]}
    decoded = ExportTraceServiceRequest()
    decoded.ParseFromString(encode(collect.spans, [encode_attributes(trace_level)]))
    keys = [kv.key for kv in decoded.resource_spans[0].scope_spans[0].spans[0].attributes]
    assert keys == ["session.id", "langfuse.trace.tags", "own"]


# ------------------------------------------------- what a differential fuzz once found


def _span(
    attributes: dict[str, Any] | None = None,
    *,
    name: str = "s",
    links: Sequence[Link] = (),
    resource: Resource | None = None,
    events: Sequence[Event] = (),
    status: Status | None = None,
    start_time: int = 1_700_000_000_000_000_000,
) -> ReadableSpan:
    return ReadableSpan(
        name,
        context=SpanContext(0xABC, 0xDEF, is_remote=False),
        resource=resource or Resource({}),
        attributes=attributes,
        events=events,
        links=links,
        status=status or Status(StatusCode.UNSET),
        start_time=start_time,
        end_time=start_time + 1,
        instrumentation_scope=InstrumentationScope("scope"),
    )


def assert_same_bytes(spans: Sequence[ReadableSpan]) -> None:
    assert encode(spans) == encode_spans(spans).SerializeToString()


@pytest.mark.parametrize(
    ("first", "second"),
    [(1, True), (1, 1.0), (True, 1), (0, False), (0.0, -0.0), (-0.0, 0.0), (1.0, 1)],
)
def test_a_cached_value_never_stands_for_an_equal_one_of_another_kind(
    first: Any, second: Any
) -> None:
    """1 == True == 1.0 and 0.0 == -0.0 as dict keys; their encodings differ."""
    assert_same_bytes([_span({"k": first})])
    assert_same_bytes([_span({"k": second})])
    assert_same_bytes([_span({"k": first}), _span({"k": second})])


def test_links_carry_no_trace_state() -> None:
    linked = SpanContext(0x1, 0x2, is_remote=True, trace_state=TraceState([("vendor", "v1")]))
    assert_same_bytes([_span(links=[Link(linked, {"why": "follows"})])])


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**64, 10**30, [1, 2**64], {"n": 2**70}])
def test_an_integer_outside_int64_leaves_out_its_attribute_only(value: Any) -> None:
    spans = [_span({"before": 1, "big": value, "after": "x"})]
    assert_same_bytes(spans)
    decoded = ExportTraceServiceRequest.FromString(encode(spans))
    keys = [kv.key for kv in decoded.resource_spans[0].scope_spans[0].spans[0].attributes]
    assert keys == ["before", "after"]


def test_int64_limits_are_encoded() -> None:
    assert_same_bytes([_span({"max": 2**63 - 1, "min": -(2**63), "neg": -1})])


@pytest.mark.parametrize(
    "attributes",
    [
        {"answer": "ok \ud800 text"},
        {"\udfff": "key with a lone surrogate"},
        {"list": ["a", "\ud83d"]},
        {"map": {"inner": "\ud800"}},
    ],
)
def test_a_lone_surrogate_leaves_out_its_attribute_without_raising(
    attributes: dict[str, Any],
) -> None:
    spans = [_span({"kept": "yes", **attributes})]
    assert_same_bytes(spans)
    assert encode_attributes({"kept": "yes", **attributes}) == encode_attributes({"kept": "yes"})


def test_an_empty_key_is_written_as_no_key() -> None:
    assert_same_bytes([_span({"": "v", "x": {"": 1}})])
    assert_same_bytes(
        [_span(events=[Event("e", {"": "v"}, timestamp=5)], resource=Resource({"": "r"}))]
    )


def test_status_message_and_code() -> None:
    assert_same_bytes([_span(status=Status(StatusCode.ERROR, "boom"))])
    assert_same_bytes([_span(status=Status(StatusCode.OK))])


# ------------------------------------------------------------------ fallback and errors


def test_the_reference_encodes_the_batch_when_the_fast_path_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spans = [_span({"own": 1, "s": "x"}), _span({"own": 2}, resource=Resource({"r": 1}))]
    prefixes = [encode_attributes({"session.id": "s1", "tags": ["a"]}), b""]
    fast = encode(spans, prefixes)

    def broken(spans: Sequence[ReadableSpan], prefixes: Sequence[bytes]) -> bytes:
        raise RuntimeError("a bug in the fast path")

    monkeypatch.setattr(otlp, "_encode_fast", broken)
    assert encode(spans, prefixes) == fast


def test_a_batch_neither_encoder_can_encode_raises_encode_error() -> None:
    spans = [_span({"a": 1}), _span(name="bad \ud800 name")]
    with pytest.raises(EncodeError) as raised:
        encode(spans)
    assert raised.value.spans == 2
    assert isinstance(raised.value.__cause__, UnicodeEncodeError)
    with pytest.raises(EncodeError):
        encode([_span(start_time=-5)])


# --------------------------------------------------------- property-based differential

_KEYS = st.sampled_from(["k", "K", "k2", "", "\ud800", "langfuse.observation.input"])
_TRACE_KEYS = st.sampled_from(["session.id", "user.id", "langfuse.trace.tags", "t\udc00"])
_TEXT = st.text(max_size=8) | st.lists(
    st.sampled_from(["a", "é", "😀", "\ud800", "\udfff", "\x00", " "]), max_size=6
).map("".join)
_INTS = st.integers() | st.sampled_from(
    [0, 1, -1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 2**200]
)
_FLOATS = st.floats() | st.sampled_from([0.0, -0.0, 1.0, math.nan, math.inf, -math.inf])
_SCALARS = st.one_of(st.booleans(), _INTS, _FLOATS, _TEXT)
_VALUES = st.recursive(
    _SCALARS | st.none() | st.binary(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(_KEYS, inner, max_size=3)
    ),
    max_leaves=4,
)
_ATTRIBUTES = st.dictionaries(_KEYS, _VALUES, max_size=4)
# What the SDK lets through for events, links and resources (it validates those).
_SDK_VALUES = _SCALARS | st.lists(_TEXT, max_size=3).map(tuple)
_SDK_ATTRIBUTES = st.dictionaries(_KEYS, _SDK_VALUES, max_size=3)
_TIMES = st.integers(min_value=0, max_value=2**64 - 1) | st.sampled_from([-1, 2**64])
_IDS = st.integers(min_value=1, max_value=2**64 - 1)


_CONTEXTS = st.tuples(
    st.integers(min_value=1, max_value=2**128 - 1),
    _IDS,
    st.booleans(),
    st.booleans(),  # with a trace state
)
# A span as plain data; the OTel objects are built in the test (Hypothesis replays draws,
# which the SDK's constructors, with their logging and validation, do not like).
_SPAN_SPECS = st.fixed_dictionaries(
    {
        "name": _TEXT,
        "context": _CONTEXTS,
        "parent": st.none() | _CONTEXTS,
        "resource": st.integers(0, 1),
        "scope": st.integers(0, 1),
        "attributes": _ATTRIBUTES,
        "bounded": st.booleans(),
        "events": st.lists(
            st.tuples(_TEXT, _SDK_ATTRIBUTES | st.none(), st.none() | _TIMES), max_size=2
        ),
        "links": st.lists(st.tuples(_CONTEXTS, _SDK_ATTRIBUTES | st.none()), max_size=2),
        "kind": st.sampled_from(list(SpanKind)),
        "status": st.tuples(st.sampled_from(list(StatusCode)), st.none() | _TEXT),
        "start": st.none() | _TIMES,
        "end": st.none() | _TIMES,
    }
)
_BATCH_SPECS = st.fixed_dictionaries(
    {
        "resources": st.lists(st.tuples(_SDK_ATTRIBUTES, st.booleans()), min_size=2, max_size=2),
        "scopes": st.lists(
            st.none() | st.tuples(_TEXT, st.none() | _TEXT, st.booleans(), _SDK_ATTRIBUTES),
            min_size=2,
            max_size=2,
        ),
        "spans": st.lists(_SPAN_SPECS, min_size=1, max_size=3),
    }
)


def _context(spec: tuple[int, int, bool, bool]) -> SpanContext:
    trace_id, span_id, remote, with_state = spec
    state = TraceState([("v", "1"), ("w", "x")]) if with_state else TraceState()
    return SpanContext(trace_id, span_id, is_remote=remote, trace_state=state)


def _build(batch: dict[str, Any], bounded: bool = True) -> list[ReadableSpan]:
    resources = [
        Resource(attributes, "https://schema" if schema else None)
        for attributes, schema in batch["resources"]
    ]
    scopes = [
        None
        if scope is None
        else InstrumentationScope(scope[0], scope[1], "https://s" if scope[2] else None, scope[3])
        for scope in batch["scopes"]
    ]
    spans = []
    for spec in batch["spans"]:
        code, description = spec["status"]
        attributes = spec["attributes"]
        if bounded and spec["bounded"]:
            attributes = BoundedAttributes(attributes=attributes)
        spans.append(
            ReadableSpan(
                spec["name"],
                context=_context(spec["context"]),
                parent=None if spec["parent"] is None else _context(spec["parent"]),
                resource=resources[spec["resource"]],
                attributes=attributes,
                events=[Event(*event) for event in spec["events"]],
                links=[Link(_context(c), attributes) for c, attributes in spec["links"]],
                kind=spec["kind"],
                status=Status(code, description if code is StatusCode.ERROR else None),
                start_time=spec["start"],
                end_time=spec["end"],
                instrumentation_scope=scopes[spec["scope"]],
            )
        )
    return spans


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The SDK and both encoders log every attribute they drop; not needed here."""
    names = ("opentelemetry", "ragprism.tracing.otlp")
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _reference(spans: Sequence[ReadableSpan]) -> bytes | None:
    try:
        body: bytes = encode_spans(spans).SerializeToString()
    except Exception:  # the reference cannot encode it: encode() must raise EncodeError
        return None
    return body


@settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_BATCH_SPECS)
def test_property_same_bytes_as_the_reference_encoder(batch: dict[str, Any]) -> None:
    """Differential: whatever the spans hold, ``encode`` gives the reference's bytes, or
    raises ``EncodeError`` exactly when the reference raises. The attribute cache is
    module-wide, so keys and values repeat across examples as they would across batches."""
    with _quiet():
        spans = _build(batch)
        expected = _reference(spans)
        if expected is None:
            with pytest.raises(EncodeError):
                encode(spans)
        else:
            assert encode(spans) == expected


@settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    _BATCH_SPECS,
    st.lists(st.dictionaries(_TRACE_KEYS, _VALUES, max_size=3), min_size=3, max_size=3),
)
def test_property_prefixes_are_the_trace_attributes_in_front(
    batch: dict[str, Any], trace_attributes: list[dict[str, Any]]
) -> None:
    """``encode(spans, prefixes)`` is the reference's encoding of the spans with the
    trace-level attributes first (trace keys never clash with a span's own here)."""
    with _quiet():
        # plain dicts: a copy of BoundedAttributes would lose its count of dropped ones
        _check_prefixes(_build(batch, bounded=False), trace_attributes[: len(batch["spans"])])


def _check_prefixes(spans: list[ReadableSpan], traces: list[dict[str, Any]]) -> None:
    merged = [
        ReadableSpan(
            span.name,
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes={**trace, **(span.attributes or {})},
            events=span.events,
            links=span.links,
            kind=span.kind,
            status=span.status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )
        for span, trace in zip(spans, traces, strict=True)
    ]
    expected = _reference(merged)
    prefixes = [encode_attributes(trace) for trace in traces]
    if expected is None:
        with pytest.raises(EncodeError):
            encode(spans, prefixes)
    else:
        assert encode(spans, prefixes) == expected


def test_a_value_still_awaiting_redaction_is_left_out_never_sent() -> None:
    """The export worker resolves ``PendingMask`` values before encoding; should one ever
    reach the encoder, it is an attribute the encoder cannot encode: left out, its text
    nowhere in the bytes."""
    from ragprism.tracing.masking import PendingMask

    pending = PendingMask("write to alice@example.com", 0, ("email",), 0)
    span = ReadableSpan(
        "s",
        context=SpanContext(1, 2, is_remote=False),
        attributes={"langfuse.observation.input": pending, "kept": "v"},  # type: ignore[dict-item]
        start_time=1,
        end_time=2,
    )
    body = encode([span])
    assert b"alice" not in body
    decoded = ExportTraceServiceRequest()
    decoded.ParseFromString(body)
    keys = [kv.key for kv in decoded.resource_spans[0].scope_spans[0].spans[0].attributes]
    assert keys == ["kept"]
