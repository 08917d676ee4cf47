"""What services call: ``tracer.trace(...)``, ``trace.observation(...)``, ``update``, ``score``.

A trace for a tenant without an active destination, or sampled out, is the shared
``NoopTrace``: a dict lookup and nothing else. A recording trace records its observations
itself and hands each one, when it ends, to its tenant's queue as the OTel SDK's
``ReadableSpan`` (the span model the encoder and queues work on). It does not go through
an SDK ``TracerProvider``: the SDK's span creation (sampler call, attribute validation
under a lock, processor fan-out) was ~60% of the CPU tracing added to a request, and
nothing here needs it: ids come from the SDK's generator, attribute values are made
strings by ``fields``, the parent is always explicit (the ambient OTel context is never
read or changed), and sampling is decided once per trace. The trace-level attributes go
with every span of the trace, as the Langfuse SDK's ``propagate_attributes`` does, and
every span is ended on every path out of its ``with``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, Self

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags

from ragprism.tracing import fields as f
from ragprism.tracing.destinations import Destination, DestinationCache
from ragprism.tracing.otlp import TraceAttributes
from ragprism.tracing.router import Route, sampled

Kind = Literal[
    "span", "generation", "retriever", "embedding", "event",
    "tool", "agent", "chain", "evaluator", "guardrail",
]  # fmt: skip
Level = Literal["DEBUG", "DEFAULT", "WARNING", "ERROR"]
ScoreType = Literal["BOOLEAN", "NUMERIC", "CATEGORICAL"]


@dataclass
class TraceRuntime:
    """What the facade needs from the engine."""

    resource: Resource
    scope: InstrumentationScope
    cache: DestinationCache
    route: Callable[[Destination, TraceAttributes], Route]  # the tenant's queue, for a trace
    prefix: str
    release: str
    max_chars: int
    enqueue_score: Callable[[Destination, dict[str, Any]], bool]
    accepting: bool = False


class Observation:
    """A step of a trace (span, generation, retriever, ...). This base class is the no-op."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def observation(
        self,
        name: str,
        *,
        kind: Kind = "span",
        input: Any = None,
        model: str | None = None,
        model_parameters: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Observation:
        """A nested child observation (use it with ``with``)."""
        return NOOP_OBSERVATION

    def update(
        self,
        *,
        output: Any = None,
        usage: Mapping[str, int] | None = None,
        model: str | None = None,
        level: Level | None = None,
        status_message: str | None = None,
        completion_start_time: datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
        cost: Mapping[str, float] | None = None,
    ) -> None:
        """Set output, usage, model, level, ... (only what is passed)."""


class NoopObservation(Observation):
    """The observation of a trace that is not recorded."""


NOOP_OBSERVATION = NoopObservation()


class Trace:
    """One traced request. This base class is the no-op: ``trace_id`` and ``url`` None."""

    trace_id: str | None = None
    url: str | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def observation(
        self,
        name: str,
        *,
        kind: Kind = "span",
        input: Any = None,
        model: str | None = None,
        model_parameters: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Observation:
        """A child of the root span (use it with ``with``)."""
        return NOOP_OBSERVATION

    def update(
        self,
        *,
        output: Any = None,
        metadata: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
    ) -> None:
        """Set the trace output, add trace metadata or tags (for spans started later too)."""

    def score(
        self,
        name: str,
        value: float | str,
        *,
        data_type: ScoreType = "NUMERIC",
        comment: str | None = None,
    ) -> None:
        """Attach a score to this trace (sent like spans: queued, retried, spooled)."""


class NoopTrace(Trace):
    """A trace that is not recorded: no config, tracing disabled, or sampled out."""


NOOP_TRACE = NoopTrace()


_IDS = RandomIdGenerator()
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_UNSET = Status(StatusCode.UNSET)


class _Span:
    """An observation being recorded; ``end`` turns it into the SDK's ``ReadableSpan``."""

    __slots__ = ("attributes", "context", "name", "parent", "start", "status")

    def __init__(
        self, name: str, trace_id: int, parent: SpanContext | None, attributes: dict[str, Any]
    ) -> None:
        self.name = name
        self.context = SpanContext(
            trace_id, _IDS.generate_span_id(), is_remote=False, trace_flags=_SAMPLED
        )
        self.parent = parent
        self.attributes: dict[str, Any] | None = attributes  # None once ended
        self.status = _UNSET
        self.start = time.time_ns()

    def set_attributes(self, changes: Mapping[str, Any]) -> None:
        if self.attributes is not None:  # an ended span is not changed (as in the SDK)
            self.attributes.update(changes)

    def end(self, rt: TraceRuntime, route: Route, exc: BaseException | None) -> None:
        """Record the outcome (an exception marks it ERROR, cancellation WARNING) and hand
        the span to the tenant's queue; later updates are ignored."""
        attributes, self.attributes = self.attributes, None
        if attributes is None:
            return
        if exc is not None:
            message = f.status_message(f"{type(exc).__name__}: {exc}".rstrip(": "))
            if isinstance(exc, GeneratorExit | asyncio.CancelledError):
                level, message = "WARNING", f"cancelled ({message})"
            else:
                level = "ERROR"
                self.status = Status(StatusCode.ERROR, message)
            attributes[f.OBSERVATION_LEVEL] = level
            attributes[f.OBSERVATION_STATUS_MESSAGE] = message
        span = ReadableSpan(
            self.name,
            context=self.context,
            parent=self.parent,
            resource=rt.resource,
            attributes=attributes,
            instrumentation_scope=rt.scope,
            status=self.status,
            start_time=self.start,
            end_time=time.time_ns(),
        )
        route.queue.put(span, route.trace)


class _RecordingTrace(Trace):
    def __init__(
        self, rt: TraceRuntime, destination: Destination, root: _Span, route: Route
    ) -> None:
        self._rt = rt
        self._destination = destination
        self._root = root
        self._route = route
        self._attrs = route.trace  # trace-level attributes, sent with every span of the trace
        self._trace_int = root.context.trace_id
        self._hex = format(self._trace_int, "032x")
        self.trace_id = self._hex
        self.url = destination.trace_url(self._hex)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._root.end(self._rt, self._route, exc)

    def _start(
        self, parent: _Span, name: str, kind: Kind, input: Any, model: str | None,
        model_parameters: Mapping[str, Any] | None, metadata: Mapping[str, Any] | None,
    ) -> Observation:  # fmt: skip
        attrs: dict[str, Any] = {f.OBSERVATION_TYPE: kind}
        if model:
            attrs[f.OBSERVATION_MODEL] = model
        if model_parameters:
            attrs[f.OBSERVATION_MODEL_PARAMETERS] = f.to_json(dict(model_parameters))
        attrs.update(f.metadata_attributes(f.OBSERVATION_METADATA, metadata))
        value = f.masked_later(input, self._destination, self._rt.max_chars)
        if value is not None:
            attrs[f.OBSERVATION_INPUT] = value
        return _RecordingObservation(self, _Span(name, self._trace_int, parent.context, attrs))

    def observation(
        self,
        name: str,
        *,
        kind: Kind = "span",
        input: Any = None,
        model: str | None = None,
        model_parameters: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Observation:
        return self._start(self._root, name, kind, input, model, model_parameters, metadata)

    def update(
        self,
        *,
        output: Any = None,
        metadata: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
    ) -> None:
        changes: dict[str, Any] = {}
        value = f.masked_later(output, self._destination, self._rt.max_chars)
        if value is not None:
            changes[f.OBSERVATION_OUTPUT] = value
        extra = trace_metadata(metadata)
        if tags:
            extra[f.TRACE_TAGS] = f.tag_list([*self._attrs.attrs.get(f.TRACE_TAGS, ()), *tags])
        if extra:  # for every span of the trace not yet sent, this one included
            self._attrs.replace({**self._attrs.attrs, **extra})
        if changes:
            self._root.set_attributes(changes)

    def score(
        self,
        name: str,
        value: float | str,
        *,
        data_type: ScoreType = "NUMERIC",
        comment: str | None = None,
    ) -> None:
        payload = score_payload(
            self._destination, self._hex, name, value, data_type, comment, self._rt.max_chars
        )
        self._rt.enqueue_score(self._destination, payload)


class _RecordingObservation(Observation):
    def __init__(self, trace: _RecordingTrace, span: _Span) -> None:
        self._trace = trace
        self._span = span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._span.end(self._trace._rt, self._trace._route, exc)

    def observation(
        self,
        name: str,
        *,
        kind: Kind = "span",
        input: Any = None,
        model: str | None = None,
        model_parameters: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Observation:
        return self._trace._start(self._span, name, kind, input, model, model_parameters, metadata)

    def update(
        self,
        *,
        output: Any = None,
        usage: Mapping[str, int] | None = None,
        model: str | None = None,
        level: Level | None = None,
        status_message: str | None = None,
        completion_start_time: datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
        cost: Mapping[str, float] | None = None,
    ) -> None:
        changes: dict[str, Any] = {}
        value = f.masked_later(output, self._trace._destination, self._trace._rt.max_chars)
        if value is not None:
            changes[f.OBSERVATION_OUTPUT] = value
        if usage is not None:
            changes[f.OBSERVATION_USAGE_DETAILS] = f.to_json(dict(usage))
        if cost is not None:
            changes[f.OBSERVATION_COST_DETAILS] = f.to_json(dict(cost))
        if model:
            changes[f.OBSERVATION_MODEL] = model
        if level is not None:
            changes[f.OBSERVATION_LEVEL] = level
        if status_message is not None:
            changes[f.OBSERVATION_STATUS_MESSAGE] = f.status_message(status_message)
        if completion_start_time is not None:
            changes[f.OBSERVATION_COMPLETION_START_TIME] = f.to_json(completion_start_time)
        changes.update(f.metadata_attributes(f.OBSERVATION_METADATA, metadata))
        if changes:
            self._span.set_attributes(changes)


def trace_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """Trace metadata attributes; values Langfuse would refuse (over 200 chars) left out."""
    attrs = f.metadata_attributes(f.TRACE_METADATA, metadata)
    return {key: value for key, value in attrs.items() if len(value) <= 200}


def score_payload(
    destination: Destination,
    trace_id: str,
    name: str,
    value: float | str,
    data_type: ScoreType,
    comment: str | None,
    max_chars: int,
) -> dict[str, Any]:
    """The body of ``POST /api/public/scores`` (the comment masked like any text)."""
    payload: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "traceId": trace_id,
        "name": name,
        "value": value,
        "dataType": data_type,
    }
    if comment:
        masked = f.masked(comment, destination, max_chars)
        if masked is not None:
            payload["comment"] = masked
    if destination.environment:
        payload["environment"] = destination.environment
    return payload


class Tracer:
    """Starts traces for tenants; a tenant with tracing off gets ``NoopTrace``."""

    def __init__(self, runtime: TraceRuntime) -> None:
        self._rt = runtime

    def trace(
        self,
        name: str,
        *,
        tenant_id: str,
        session_id: str | None = None,
        user_id: str | None = None,
        input: Any = None,
        tags: Sequence[str] = (),
        metadata: Mapping[str, Any] | None = None,
    ) -> Trace:
        """A trace named ``{prefix}{name}`` (use it with ``with``)."""
        rt = self._rt
        destination = rt.cache.active(tenant_id) if rt.accepting else None
        if destination is None or not destination.enabled or destination.sample_rate <= 0.0:
            return NOOP_TRACE
        trace_id = _IDS.generate_trace_id()
        if not sampled(trace_id, destination.sample_rate):
            return NOOP_TRACE
        attrs: dict[str, Any] = {f.TRACE_NAME: rt.prefix + name, f.RELEASE: rt.release}
        if destination.environment:
            attrs[f.ENVIRONMENT] = destination.environment
        if session_id and len(session_id) <= 200:
            attrs[f.TRACE_SESSION_ID] = session_id
        if user_id and len(user_id) <= 200:
            attrs[f.TRACE_USER_ID] = user_id
        if tags:
            attrs[f.TRACE_TAGS] = f.tag_list(tags)
        attrs.update(trace_metadata(metadata))
        attrs.update(trace_metadata({"tenant_id": tenant_id, "server_version": rt.release}))
        root_attrs: dict[str, Any] = {f.OBSERVATION_TYPE: "span"}
        value = f.masked_later(input, destination, rt.max_chars)
        if value is not None:
            root_attrs[f.OBSERVATION_INPUT] = value
        root = _Span(rt.prefix + name, trace_id, None, root_attrs)
        return _RecordingTrace(rt, destination, root, rt.route(destination, TraceAttributes(attrs)))

    def score_trace(
        self,
        tenant_id: str,
        trace_id: str,
        name: str,
        value: float | str,
        data_type: ScoreType = "NUMERIC",
        comment: str | None = None,
    ) -> bool:
        """Score an earlier trace (e.g. message feedback); False if tracing is off."""
        rt = self._rt
        destination = rt.cache.active(tenant_id) if rt.accepting else None
        if destination is None:
            return False
        payload = score_payload(
            destination, trace_id, name, value, data_type, comment, rt.max_chars
        )
        return rt.enqueue_score(destination, payload)
