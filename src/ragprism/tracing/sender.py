"""Encoding batches and posting them to a Langfuse host.

Spans become one OTLP ``ExportTraceServiceRequest`` (protobuf, see ``otlp.py``; gzip level
1: on prompt-like text about half the CPU of the stock exporter's level 9 for ~8% more
bytes), posted to
``{host}/api/public/otel/v1/traces``; a score is posted as JSON to
``{host}/api/public/scores``. Both with HTTP Basic auth over one shared keep-alive
client that follows no redirects and connects only where the host policy allows.
"""

from __future__ import annotations

import base64
import enum
import gzip
import json
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan

from ragprism import __version__
from ragprism.security.host_policy import HostPolicy, HostRefused
from ragprism.tracing import otlp
from ragprism.tracing.destinations import Destination
from ragprism.tracing.retry import parse_retry_after
from ragprism.tracing.transport import MAX_BODY, Answer, Resolve, Transport

GZIP_LEVEL = 1
BatchKind = Literal["otlp", "score"]


@dataclass
class Batch:
    """An encoded request body and how many items it carries."""

    kind: BatchKind
    payload: bytes
    count: int
    version: int
    spool_id: int | None = None
    attempts: int = 0  # failed sends so far
    first_failed: float | None = None  # Unix time of the first failed send
    project: tuple[str, str] | None = None  # (host, project id) it was recorded for
    encoded_size: int = 0  # of the body before gzip (0: not known, e.g. from the spool)
    charged: int = 0  # bytes it counts for in the engine's memory budget while held

    @property
    def size(self) -> int:
        """Bytes the batch counts for against the batch byte cap: its body before or
        after gzip, whichever is larger."""
        return max(self.encoded_size, len(self.payload))


def encode_otlp(items: Sequence[tuple[ReadableSpan, otlp.TraceAttributes]], version: int) -> Batch:
    spans = [span for span, _ in items]
    body = otlp.encode(spans, [trace.encoded() for _, trace in items])
    payload = gzip.compress(body, compresslevel=GZIP_LEVEL)
    return Batch("otlp", payload, len(spans), version, encoded_size=len(body))


def _spans_slice(request: ExportTraceServiceRequest, start: int, stop: int) -> bytes:
    """The request holding only its spans ``start:stop`` (in order), each still under its
    own resource and scope."""
    out = ExportTraceServiceRequest()
    seen = 0
    for resource_spans in request.resource_spans:
        resource_out = None
        for scope_spans in resource_spans.scope_spans:
            n = len(scope_spans.spans)
            low, high = max(start - seen, 0), min(stop - seen, n)
            seen += n
            if low >= high:
                continue
            if resource_out is None:
                resource_out = out.resource_spans.add()
                resource_out.resource.CopyFrom(resource_spans.resource)
                resource_out.schema_url = resource_spans.schema_url
            scope_out = resource_out.scope_spans.add()
            scope_out.scope.CopyFrom(scope_spans.scope)
            scope_out.schema_url = scope_spans.schema_url
            scope_out.spans.extend(scope_spans.spans[low:high])
    body: bytes = out.SerializeToString()
    return body


def split_batch(batch: Batch) -> tuple[Batch, Batch] | None:
    """``batch`` cut into two halves by span count (after Langfuse answered 413), or None
    when it cannot be cut: a score, a single span, or a body that cannot be read."""
    if batch.kind != "otlp" or batch.count < 2:
        return None
    try:
        request = ExportTraceServiceRequest.FromString(gzip.decompress(batch.payload))
        total = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        if total != batch.count:
            return None
        half = total // 2
        bodies = (_spans_slice(request, 0, half), _spans_slice(request, half, total))
    except Exception:  # a corrupt spool row, a bug: the caller counts the batch as dropped
        return None
    first, second = (
        Batch(
            "otlp",
            gzip.compress(body, compresslevel=GZIP_LEVEL),
            count,
            batch.version,
            attempts=batch.attempts,
            first_failed=batch.first_failed,
            project=batch.project,
            encoded_size=len(body),
        )
        for body, count in zip(bodies, (half, total - half), strict=True)
    )
    return first, second


def encode_score(score: dict[str, Any], version: int) -> Batch:
    text = json.dumps(score, ensure_ascii=False, separators=(",", ":"))
    try:
        body = text.encode()
    except UnicodeEncodeError:  # a lone surrogate (e.g. a comment parsed from bad JSON)
        body = json.dumps(score, separators=(",", ":")).encode()  # escaped as \ud800
    return Batch("score", body, 1, version)


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # 429, 5xx, timeout, connection error: try again later
    REFUSED = "refused"  # 401/403 or a host the policy refuses: stop until fixed
    REJECTED = "rejected"  # another 4xx: this batch will never be accepted
    TOO_LARGE = "too large"  # 413: send it again in halves (a single span is dropped)


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    message: str = ""
    retry_after: float | None = None


def _basic(destination: Destination) -> str:
    pair = f"{destination.public_key}:{destination.secret_key}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def _text(answer: Answer) -> str:
    """The answer's body as text, if it can be decoded (a broken gzip body cannot)."""
    raw = answer.raw
    encoding = answer.headers.get("Content-Encoding", "").strip().lower()
    try:
        if encoding == "gzip":
            raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw, MAX_BODY)
        elif encoding == "deflate":
            raw = zlib.decompressobj().decompress(raw, MAX_BODY)
        elif encoding not in ("", "identity"):
            return ""
    except zlib.error:
        return "(undecodable body)"
    return raw.decode("utf-8", errors="replace")


def _detail(answer: Answer) -> str:
    text = _text(answer)
    try:
        message = json.loads(text).get("message")
        if isinstance(message, str):
            text = message
    except (ValueError, AttributeError):
        pass
    text = text[:200].strip()
    try:
        reason = HTTPStatus(answer.status).phrase
    except ValueError:
        reason = ""
    return f"{answer.status} {reason}".strip() + (f": {text}" if text else "")


def classify(destination: Destination, outcome: Answer | BaseException, timeout: float) -> Result:
    """What an answer (or the exception that ended a request) means for the batch."""
    if isinstance(outcome, HostRefused):
        return Result(Outcome.REFUSED, f"host refused: {outcome}")
    if isinstance(outcome, TimeoutError | httpx.TimeoutException):
        return Result(Outcome.RETRY, f"no answer from {destination.host} within {timeout:g} s")
    if isinstance(outcome, httpx.TransportError | OSError):
        name = type(outcome).__name__
        return Result(Outcome.RETRY, f"cannot connect to {destination.host}: {name}")
    if isinstance(outcome, BaseException):
        return Result(Outcome.RETRY, f"export failed: {type(outcome).__name__}: {outcome}"[:300])
    status = outcome.status
    if 200 <= status < 300:
        return Result(Outcome.DELIVERED)
    message = _detail(outcome)
    if status in (401, 403):
        return Result(Outcome.REFUSED, message)
    if status == 413:
        return Result(Outcome.TOO_LARGE, message)
    if 300 <= status < 400:
        return Result(Outcome.REFUSED, f"{message} (redirects are not followed)")
    if status in (408, 425, 429) or status >= 500:
        retry_after = parse_retry_after(outcome.headers.get("Retry-After"))
        return Result(Outcome.RETRY, message, retry_after)
    return Result(Outcome.REJECTED, message)


class Sender:
    """Posts batches without blocking; never raises for network or HTTP failures, it
    classifies them. Each request has a hard total deadline of ``timeout`` seconds."""

    def __init__(self, policy: HostPolicy, timeout: float, resolve: Resolve | None = None) -> None:
        self._transport = Transport(policy, timeout, resolve=resolve)
        self._timeout = timeout

    def submit(
        self, destination: Destination, batch: Batch, done: Callable[[Result], None]
    ) -> None:
        """Start sending ``batch``; ``done`` gets the ``Result`` (on the I/O thread)."""
        if batch.kind == "otlp":
            url = destination.otlp_url
            headers = {
                "Content-Type": "application/x-protobuf",
                "Content-Encoding": "gzip",
                # Langfuse's current write path; without it, delayed visibility
                "x-langfuse-ingestion-version": "4",
            }
        else:
            url = destination.scores_url
            headers = {"Content-Type": "application/json"}
        headers["Authorization"] = _basic(destination)
        headers["x-langfuse-public-key"] = destination.public_key
        headers["x-langfuse-sdk-name"] = "ragprism"
        headers["x-langfuse-sdk-version"] = __version__

        def finished(outcome: Answer | BaseException) -> None:
            try:
                result = classify(destination, outcome, self._timeout)
            except Exception as exc:  # a bug in classifying must not lose the batch
                result = Result(Outcome.RETRY, f"export failed: {type(exc).__name__}")
            done(result)

        self._transport.post(url, headers, batch.payload, finished)

    def send(self, destination: Destination, batch: Batch) -> Result:
        """``submit`` and wait for the result."""
        results: list[Result] = []
        finished = threading.Event()

        def done(result: Result) -> None:
            results.append(result)
            finished.set()

        self.submit(destination, batch, done)
        finished.wait()
        return results[0]

    def in_flight(self) -> int:
        return self._transport.in_flight()

    def close(self, deadline: float | None = None) -> None:
        """Wait for requests in flight until ``deadline`` (monotonic), then cancel them."""
        self._transport.close(time.monotonic() if deadline is None else deadline)
