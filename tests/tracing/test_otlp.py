"""The wire encoder produces exactly what OTel's reference encoder produces."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.trace import Link, Status, StatusCode, set_span_in_context

from ragprism.tracing.otlp import encode, encode_attributes


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
