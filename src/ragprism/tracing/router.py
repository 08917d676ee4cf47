"""Per-tenant sampling and routing of ended spans to the tenant's queue.

The tenant of a trace is never read from span attributes (which callers set and which are
exported): the facade hands the tenant's destination to the sampler through the OTel
``Context`` of the root span, and the sampler records ``trace_id → queue`` in a table the
engine owns. ``TenantRouter.on_end`` is a dict lookup and a deque append.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from opentelemetry.context import Context, create_key
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, get_current_span
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from ragprism.tracing.destinations import Destination
from ragprism.tracing.otlp import TraceAttributes
from ragprism.tracing.queues import TenantQueue

ROOT_KEY = create_key("ragprism-trace-root")
_ID_BITS = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class RootRequest:
    """What the facade hands the sampler for a new trace, through the root's Context."""

    destination: Destination
    trace: TraceAttributes


@dataclass(frozen=True, slots=True)
class Route:
    """Where the spans of one trace go."""

    queue: TenantQueue
    trace: TraceAttributes


Admit = Callable[[RootRequest, int], bool]

_DROP = SamplingResult(Decision.DROP)


def sampled(trace_id: int, rate: float) -> bool:
    """Whether a trace is kept at ``rate``, decided by its id (like TraceIdRatioBased)."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    return (trace_id & _ID_BITS) < int(rate * (_ID_BITS + 1))


class TenantSampler(Sampler):
    """Roots: the tenant's ``sample_rate``; children follow their parent's decision."""

    def __init__(self, admit: Admit) -> None:
        self._admit = admit

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        # The SDK gives the span the attributes of the result, not those passed in.
        keep = SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        parent = get_current_span(parent_context).get_span_context()
        if parent.is_valid:
            return keep if parent.trace_flags.sampled else _DROP
        root = parent_context.get(ROOT_KEY) if parent_context else None
        if not isinstance(root, RootRequest) or not root.destination.enabled:
            return _DROP  # a span started outside ragprism's facade, or tracing is off
        if not sampled(trace_id, root.destination.sample_rate):
            return _DROP
        return keep if self._admit(root, trace_id) else _DROP

    def get_description(self) -> str:
        return "TenantSampler"


class TenantRouter(SpanProcessor):
    """Hands each ended span to its trace's tenant queue; O(1), no I/O."""

    def __init__(self, routes: dict[int, Route]) -> None:
        self._routes = routes
        self.unrouted = 0

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        route = self._routes.get(context.trace_id) if context is not None else None
        if route is None:
            self.unrouted += 1
            return
        route.queue.put(span, route.trace)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True
