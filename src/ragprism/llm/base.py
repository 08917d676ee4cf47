"""What every model kind looks like to the rest of ragprism.

One small protocol per kind (chat, embedding, rerank, image description, speech to
text) and the frozen result objects they return. Results carry what tracing records
on a generation (SPEC §5): the model name, token usage (and whether it was counted by
the provider or estimated locally) and, for streams, which delta was the first piece.

Conformance is checked statically: the ``build_*`` functions of ``registry`` are typed
with these protocols. They are deliberately not ``runtime_checkable``: an ``isinstance``
check would read properties such as ``EmbeddingModel.dimension``, which may need a
request.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Message = Mapping[str, Any]
"""One chat message in OpenAI's shape: ``{"role": ..., "content": str | list[part]}``."""


@dataclass(frozen=True)
class Usage:
    """Token counts of one model call; ``estimated`` when counted locally, not by the provider."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    estimated: bool

    @classmethod
    def of(cls, input_tokens: int, output_tokens: int = 0, *, estimated: bool) -> Usage:
        """Usage whose total is the sum of input and output."""
        return cls(input_tokens, output_tokens, input_tokens + output_tokens, estimated)

    def __add__(self, other: Usage) -> Usage:
        """The usage of two calls together (estimated if either was)."""
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.total_tokens + other.total_tokens,
            self.estimated or other.estimated,
        )

    def as_details(self) -> dict[str, int]:
        """Langfuse's ``usage_details`` shape: ``{"input", "output", "total"}``."""
        return {
            "input": self.input_tokens,
            "output": self.output_tokens,
            "total": self.total_tokens,
        }


@dataclass(frozen=True)
class ChatResult:
    """A complete answer."""

    text: str
    usage: Usage
    model: str
    finish_reason: str | None


@dataclass(frozen=True)
class ChatDelta:
    """One item of a chat stream.

    Text items carry a piece of the answer; ``first`` marks the first non-empty piece
    (the moment to record as ``completion_start_time``). The last item of a complete
    stream carries no text but ``usage``, ``finish_reason`` and ``model``.
    """

    text: str = ""
    first: bool = False
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None

    @property
    def final(self) -> bool:
        """Whether this is the closing item of the stream."""
        return self.usage is not None


ChatStream = Generator[ChatDelta, None, None]
"""A chat stream. ``close()`` it when abandoning it early: that releases the connection."""


@dataclass(frozen=True)
class EmbeddingResult:
    """One vector per input text, in input order."""

    vectors: list[list[float]]
    usage: Usage


@dataclass(frozen=True)
class RerankResult:
    """``(index into documents, relevance score)`` pairs, best first."""

    results: list[tuple[int, float]]
    usage: Usage


@dataclass(frozen=True)
class TranscriptionResult:
    """A transcript; ``usage`` is None when the provider bills by duration, not tokens."""

    text: str
    usage: Usage | None
    model: str


class ChatModel(Protocol):
    """A model that answers chat messages, whole or streamed."""

    @property
    def model_name(self) -> str:
        """The model as configured (e.g. ``gpt-4o-mini``)."""
        ...

    def chat(
        self,
        messages: Sequence[Message],
        *,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        stop: Sequence[str] | None = None,
        **extra: Any,
    ) -> ChatResult:
        """The complete answer to ``messages``."""
        ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        stop: Sequence[str] | None = None,
        **extra: Any,
    ) -> ChatStream:
        """The answer to ``messages`` piece by piece, then a final item with the usage."""
        ...

    def close(self) -> None:
        """Release connections; the model must not be used afterwards."""
        ...


class EmbeddingModel(Protocol):
    """A model that turns texts into vectors of a fixed dimension."""

    @property
    def model_name(self) -> str:
        """The model as configured."""
        ...

    @property
    def dimension(self) -> int:
        """Length of every vector this model returns."""
        ...

    def embed(self, texts: Sequence[str]) -> EmbeddingResult:
        """Vectors for documents (chunks), in input order."""
        ...

    def embed_query(self, text: str) -> EmbeddingResult:
        """The vector of a search query (some models embed queries differently)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class RerankModel(Protocol):
    """A model that scores documents against a query."""

    @property
    def model_name(self) -> str:
        """The model as configured."""
        ...

    def rerank(
        self, query: str, documents: Sequence[str], top_n: int | None = None
    ) -> RerankResult:
        """Documents' relevance to ``query``, best first, at most ``top_n`` of them."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class Image2TextModel(Protocol):
    """A vision model that describes images."""

    @property
    def model_name(self) -> str:
        """The model as configured."""
        ...

    def describe(self, image: bytes, mime: str, prompt: str | None = None) -> ChatResult:
        """A description of ``image`` (``prompt`` replaces the default instruction)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class Speech2TextModel(Protocol):
    """A model that transcribes audio."""

    @property
    def model_name(self) -> str:
        """The model as configured."""
        ...

    def transcribe(self, audio: bytes, filename: str, mime: str) -> TranscriptionResult:
        """The text spoken in ``audio``."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
