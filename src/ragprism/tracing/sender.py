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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from opentelemetry.sdk.trace import ReadableSpan

from ragprism import __version__
from ragprism.security.host_policy import HostPolicy, HostRefused, guarded_client
from ragprism.tracing import otlp
from ragprism.tracing.destinations import Destination
from ragprism.tracing.retry import parse_retry_after

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
    attempts: int = 0


def encode_otlp(items: Sequence[tuple[ReadableSpan, otlp.TraceAttributes]], version: int) -> Batch:
    spans = [span for span, _ in items]
    body = otlp.encode(spans, [trace.encoded() for _, trace in items])
    return Batch("otlp", gzip.compress(body, compresslevel=GZIP_LEVEL), len(spans), version)


def encode_score(score: dict[str, Any], version: int) -> Batch:
    body = json.dumps(score, ensure_ascii=False, separators=(",", ":")).encode()
    return Batch("score", body, 1, version)


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # 429, 5xx, timeout, connection error: try again later
    REFUSED = "refused"  # 401/403 or a host the policy refuses: stop until fixed
    REJECTED = "rejected"  # another 4xx: this batch will never be accepted


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    message: str = ""
    retry_after: float | None = None


def _basic(destination: Destination) -> str:
    pair = f"{destination.public_key}:{destination.secret_key}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def _detail(response: httpx.Response) -> str:
    text = response.text[:200].strip()
    try:
        message = response.json().get("message")
        if isinstance(message, str):
            text = message[:200]
    except (ValueError, AttributeError):
        pass
    reason = response.reason_phrase or ""
    return f"{response.status_code} {reason}".strip() + (f": {text}" if text else "")


class Sender:
    """Posts batches; never raises for network or HTTP failures, it classifies them."""

    def __init__(self, policy: HostPolicy, timeout: float) -> None:
        self._client = guarded_client(policy, timeout)
        self._timeout = timeout

    def send(self, destination: Destination, batch: Batch) -> Result:
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
        try:
            response = self._client.post(url, content=batch.payload, headers=headers)
        except HostRefused as exc:
            return Result(Outcome.REFUSED, f"host refused: {exc}")
        except httpx.TimeoutException:
            return Result(
                Outcome.RETRY, f"no answer from {destination.host} within {self._timeout:g} s"
            )
        except (httpx.TransportError, OSError) as exc:
            return Result(
                Outcome.RETRY, f"cannot connect to {destination.host}: {type(exc).__name__}"
            )
        except RuntimeError as exc:  # the client was closed at shutdown
            return Result(Outcome.RETRY, f"export interrupted: {exc}")
        status = response.status_code
        if 200 <= status < 300:
            return Result(Outcome.DELIVERED)
        message = _detail(response)
        if status in (401, 403):
            return Result(Outcome.REFUSED, message)
        if 300 <= status < 400:
            return Result(Outcome.REFUSED, f"{message} (redirects are not followed)")
        if status in (408, 425, 429) or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return Result(Outcome.RETRY, message, retry_after)
        return Result(Outcome.REJECTED, message)

    def close(self) -> None:
        self._client.close()
