"""One source for the trace and the answer record: a trace that also keeps the figures.

``AnswerRecorder`` wraps the answer's ``Trace`` (a recording one, or the no-op one when
the tenant has no Langfuse) and is passed wherever the trace was: ``prepare``,
``complete``, ``stream`` and ``retrieve`` open their observations and report usage,
cost, model and first-token time on it exactly as before. Each call goes on to the real
observation and is kept here too, so the record shows the figures the trace holds
without anything being measured twice. Step times are taken when the observation is
opened and ended, next to the span's own clock readings.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ragprism.services.chat.rag_prompt import cited_indices
from ragprism.tracing import Observation, Trace

if TYPE_CHECKING:
    from ragprism.tracing.facade import Kind, Level, ScoreType

_NS_PER_MS = 1_000_000


@dataclass
class RecordedStep:
    """One observation as the record keeps it (times in ns since the epoch)."""

    name: str
    kind: str
    parent: str | None
    start_ns: int
    end_ns: int | None = None
    model: str | None = None
    usage: dict[str, int] | None = None
    cost: dict[str, float] | None = None
    usage_estimated: bool = False
    first_token_ns: int | None = None
    status: str = "ok"  # ok, error, cancelled


@dataclass
class RecordTotals:
    """The figures the usage API sums, taken from the steps."""

    model: str
    input_tokens: int
    output_tokens: int
    cost: float | None
    latency_ms: float
    first_token_ms: float | None


class _RecordedObservation(Observation):
    """An observation that also updates its ``RecordedStep``."""

    def __init__(self, recorder: AnswerRecorder, inner: Observation, step: RecordedStep) -> None:
        self._recorder = recorder
        self._inner = inner
        self._step = step

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._inner.__exit__(exc_type, exc, tb)
        finally:
            self._step.end_ns = time.time_ns()
            if exc is not None:
                cancelled = isinstance(exc, GeneratorExit | asyncio.CancelledError)
                self._step.status = "cancelled" if cancelled else "error"

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
        inner = self._inner.observation(
            name,
            kind=kind,
            input=input,
            model=model,
            model_parameters=model_parameters,
            metadata=metadata,
        )
        return self._recorder._opened(inner, name, kind, input, model, self._step.name)

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
        self._inner.update(
            output=output,
            usage=usage,
            model=model,
            level=level,
            status_message=status_message,
            completion_start_time=completion_start_time,
            metadata=metadata,
            cost=cost,
        )
        step = self._step
        if usage is not None:
            step.usage = dict(usage)
        if cost is not None:
            step.cost = dict(cost)
        if model:
            step.model = model
        if level == "ERROR":
            step.status = "error"
        if completion_start_time is not None:
            step.first_token_ns = int(completion_start_time.timestamp() * 1e9)
        if metadata and metadata.get("usage_estimated"):
            step.usage_estimated = True


class AnswerRecorder(Trace):
    """The answer's trace, keeping a ``RecordedStep`` per observation opened through it.

    ``capture`` is the tenant's Langfuse capture setting: with ``"metadata"`` the record
    keeps no prompt or chunk text.
    """

    def __init__(self, trace: Trace, *, capture: str = "full") -> None:
        self._trace = trace
        self.trace_id = trace.trace_id
        self.url = trace.url
        self.capture = capture
        self.start_ns = time.time_ns()
        self.steps: list[RecordedStep] = []
        self.prompt: list[dict[str, Any]] | None = None

    # -- the Trace face, delegated ---------------------------------------------------------

    def __enter__(self) -> Self:
        self._trace.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._trace.__exit__(exc_type, exc, tb)

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
        inner = self._trace.observation(
            name,
            kind=kind,
            input=input,
            model=model,
            model_parameters=model_parameters,
            metadata=metadata,
        )
        return self._opened(inner, name, kind, input, model, None)

    def update(
        self,
        *,
        output: Any = None,
        metadata: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
    ) -> None:
        self._trace.update(output=output, metadata=metadata, tags=tags)

    def score(
        self,
        name: str,
        value: float | str,
        *,
        data_type: ScoreType = "NUMERIC",
        comment: str | None = None,
    ) -> None:
        self._trace.score(name, value, data_type=data_type, comment=comment)

    def _opened(
        self,
        inner: Observation,
        name: str,
        kind: str,
        input: Any,
        model: str | None,
        parent: str | None,
    ) -> Observation:
        step = RecordedStep(name, kind, parent, time.time_ns(), model=model)
        self.steps.append(step)
        if kind == "generation" and isinstance(input, list):  # the chat model's prompt
            self.prompt = [dict(m) for m in input if isinstance(m, Mapping)]
        return _RecordedObservation(self, inner, step)

    # -- the record ------------------------------------------------------------------------

    def _ms(self, ns: int | None, since: int | None = None) -> float | None:
        if ns is None:
            return None
        return round((ns - (self.start_ns if since is None else since)) / _NS_PER_MS, 3)

    def totals(self, default_model: str, end_ns: int | None = None) -> RecordTotals:
        """Tokens and cost summed over the model calls; latency up to ``end_ns`` (now)."""
        end = end_ns if end_ns is not None else time.time_ns()
        priced = [s.cost["total"] for s in self.steps if s.cost and "total" in s.cost]
        chat = next((s for s in self.steps if s.name == "chat"), None)
        return RecordTotals(
            model=(chat.model if chat and chat.model else default_model),
            input_tokens=sum((s.usage or {}).get("input", 0) for s in self.steps),
            output_tokens=sum((s.usage or {}).get("output", 0) for s in self.steps),
            cost=round(sum(priced), 12) if priced else None,
            latency_ms=self._ms(end) or 0.0,
            first_token_ms=self._ms(chat.first_token_ns) if chat else None,
        )

    def details(
        self, chunks: Sequence[Mapping[str, Any]], answer: str, totals: RecordTotals
    ) -> dict[str, Any]:
        """The inspector's view: steps, models, chunks (cited or not) and the prompt."""
        keep_text = self.capture != "metadata"
        cited = cited_indices(answer)
        return {
            "started_at": self.start_ns / 1e9,
            "total_ms": totals.latency_ms,
            "first_token_ms": totals.first_token_ms,
            "steps": [self._step_json(s) for s in self.steps],
            "models": [self._model_json(s) for s in self.steps if s.model and s.usage],
            "chunks": [_chunk_json(i, c, i in cited, keep_text) for i, c in enumerate(chunks)],
            "prompt": self.prompt if keep_text else None,
        }

    def _step_json(self, step: RecordedStep) -> dict[str, Any]:
        item: dict[str, Any] = {
            "name": step.name,
            "type": step.kind,
            "parent": step.parent,
            "start_ms": self._ms(step.start_ns),
            "duration_ms": self._ms(step.end_ns, step.start_ns),
            "status": step.status if step.end_ns is not None else "unfinished",
        }
        if step.model:
            item["model"] = step.model
        if step.first_token_ns is not None:
            item["first_token_ms"] = self._ms(step.first_token_ns)
        return item

    @staticmethod
    def _model_json(step: RecordedStep) -> dict[str, Any]:
        usage = step.usage or {}
        return {
            "step": step.name,
            "type": step.kind,
            "model": step.model,
            "input_tokens": usage.get("input", 0),
            "output_tokens": usage.get("output", 0),
            "total_tokens": usage.get("total", 0),
            "cost": step.cost,
            "usage_estimated": step.usage_estimated,
        }


def _chunk_json(
    index: int, chunk: Mapping[str, Any], cited: bool, keep_text: bool
) -> dict[str, Any]:
    item = {
        "index": index,
        "id": chunk.get("id"),
        "document_id": chunk.get("document_id"),
        "document_name": chunk.get("document_name", ""),
        "dataset_id": chunk.get("dataset_id"),
        "similarity": chunk.get("similarity", 0.0),
        "vector_similarity": chunk.get("vector_similarity", 0.0),
        "term_similarity": chunk.get("term_similarity", 0.0),
        "cited": cited,
    }
    if keep_text:
        item["content"] = chunk.get("content", "")
    return item
