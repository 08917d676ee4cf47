"""Langfuse's OTel attribute names and how values become attributes.

Serialisation follows the Langfuse SDK (``langfuse._client.attributes``): inputs and
outputs are JSON strings (a str is kept as is), usage/cost details and model parameters
JSON objects, metadata one attribute per key holding the JSON of the value (strings
included). Every input/output goes through the tenant's ``capture``/``redact`` options
here: when it is set on the span, a value that is not captured is left out and the rest
is cut near the cap; a tenant's redactors run later, in the export worker, by
``finish_masking`` before the span is encoded (the request thread does not pay for them,
and nothing unredacted reaches the wire or the spool).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import PurePath
from typing import Any
from uuid import UUID

from opentelemetry.sdk.trace import ReadableSpan

from ragprism.tracing.destinations import Destination
from ragprism.tracing.masking import PendingMask, mask_later

TRACE_NAME = "langfuse.trace.name"
TRACE_USER_ID = "user.id"
TRACE_SESSION_ID = "session.id"
TRACE_TAGS = "langfuse.trace.tags"
TRACE_METADATA = "langfuse.trace.metadata"
OBSERVATION_TYPE = "langfuse.observation.type"
OBSERVATION_METADATA = "langfuse.observation.metadata"
OBSERVATION_LEVEL = "langfuse.observation.level"
OBSERVATION_STATUS_MESSAGE = "langfuse.observation.status_message"
OBSERVATION_INPUT = "langfuse.observation.input"
OBSERVATION_OUTPUT = "langfuse.observation.output"
OBSERVATION_COMPLETION_START_TIME = "langfuse.observation.completion_start_time"
OBSERVATION_MODEL = "langfuse.observation.model.name"
OBSERVATION_MODEL_PARAMETERS = "langfuse.observation.model.parameters"
OBSERVATION_USAGE_DETAILS = "langfuse.observation.usage_details"
OBSERVATION_COST_DETAILS = "langfuse.observation.cost_details"
ENVIRONMENT = "langfuse.environment"
RELEASE = "langfuse.release"

# Langfuse drops propagated trace attributes (ids, tags, metadata values) over 200 chars.
_PROPAGATED_MAX = 200
_STATUS_MESSAGE_MAX = 2_000

AttributeValue = str | bool | int | float | Sequence[str]


def _default(obj: Any) -> Any:
    """JSON for what ``json`` cannot encode, like the SDK's EventSerializer (simplified)."""
    if isinstance(obj, datetime):
        return iso_time(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, UUID | PurePath):
        return str(obj)
    if isinstance(obj, bytes | bytearray):
        return f"<{len(obj)} bytes>"
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    if isinstance(obj, BaseException):
        return f"{type(obj).__name__}: {obj}"
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    dump = getattr(obj, "model_dump", None)  # pydantic models
    if callable(dump):
        return dump(mode="json")
    return f"<{type(obj).__name__}>"


def to_json(value: Any) -> str:
    """``value`` as the SDK would send it: a str unchanged, anything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=_default, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):  # circular or NaN-keyed structures
        return json.dumps(repr(value), ensure_ascii=False)


def _metadata_json(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(str(value))
    if type(value) is str:
        return json.dumps(value, ensure_ascii=False)
    try:
        return json.dumps(value, default=_default, separators=(",", ":"), ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        return json.dumps(repr(value), ensure_ascii=False)


def metadata_attributes(prefix: str, metadata: Mapping[str, Any] | None) -> dict[str, str]:
    """``{prefix.key: json(value)}``; None values are skipped, as the SDK does."""
    if not metadata:
        return {}
    return {f"{prefix}.{key}": _metadata_json(v) for key, v in metadata.items() if v is not None}


def masked(value: Any, destination: Destination, max_chars: int) -> str | None:
    """A text (a score's comment) ready for the wire, or None when it must be omitted."""
    value = masked_later(value, destination, max_chars)
    return value.resolve() if isinstance(value, PendingMask) else value


def masked_later(value: Any, destination: Destination, max_chars: int) -> str | PendingMask | None:
    """An input/output value for a span attribute, None when it must be omitted; a
    ``PendingMask`` when the tenant's redactors are still to run (``finish_masking``)."""
    if value is None:
        return None
    try:
        return mask_later(
            to_json(value),
            capture=destination.capture,
            redact=destination.redact,
            max_chars=max_chars,
        )
    except ValueError:  # a redactor this version does not know: send nothing rather than
        return None  # text the tenant asked to have redacted


def finish_masking(span: ReadableSpan) -> ReadableSpan:
    """``span`` with its pending masks resolved (in the export worker, before encoding);
    ``span`` itself when it has none. A value the encoder finds still pending is left
    out, never sent as it is."""
    attributes = span.attributes
    if attributes is None or not any(isinstance(v, PendingMask) for v in attributes.values()):
        return span
    resolved = {
        key: value.resolve() if isinstance(value, PendingMask) else value
        for key, value in attributes.items()
    }
    return ReadableSpan(
        span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=resolved,
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def short(value: str | None, limit: int = _PROPAGATED_MAX) -> str | None:
    """``value`` if Langfuse accepts it as a trace attribute, else truncated."""
    if value is None:
        return None
    return value if len(value) <= limit else value[:limit]


def status_message(message: str) -> str:
    return message if len(message) <= _STATUS_MESSAGE_MAX else message[:_STATUS_MESSAGE_MAX] + "…"


def tag_list(tags: Sequence[str]) -> list[str]:
    """Tags as Langfuse accepts them: strings of at most 200 chars, no duplicates."""
    return list(dict.fromkeys(t for t in tags if isinstance(t, str) and 0 < len(t) <= 200))


def iso_time(moment: datetime) -> str:
    """ISO 8601 as the SDK writes it: naive means local time, UTC ends in "Z"."""
    if moment.tzinfo is None:
        moment = moment.astimezone()
    if moment.utcoffset() == timedelta(0):
        return moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
    return moment.isoformat()
