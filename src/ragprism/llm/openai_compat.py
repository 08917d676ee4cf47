"""Models served over an OpenAI-compatible HTTP API (OpenAI, Azure, Ollama, vLLM, ...).

Each provider instance owns one ``OpenAIHTTPClient`` (one pooled ``httpx.Client``);
``close()`` releases it. Usage comes from the provider when it reports it
(``estimated=False``), otherwise it is counted locally (``estimated=True``).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np

from ragprism.errors import InvalidArgument
from ragprism.llm.base import (
    ChatDelta,
    ChatResult,
    ChatStream,
    EmbeddingResult,
    Message,
    RerankResult,
    TranscriptionResult,
    Usage,
)
from ragprism.llm.openai_http import JSONObject, OpenAIHTTPClient, ProviderEndpoint
from ragprism.llm.tokens import count_all, count_message_tokens, count_tokens

DEFAULT_IMAGE_PROMPT = (
    "Describe this image in detail: what it shows, any text it contains, and anything "
    "a reader of the document it comes from would need to know."
)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _usage(raw: Any) -> Usage | None:
    """Usage as the provider reported it (OpenAI or input/output naming), if it did."""
    if not isinstance(raw, dict):
        return None
    input_tokens = _int(raw.get("prompt_tokens"))
    if input_tokens is None:
        input_tokens = _int(raw.get("input_tokens"))
    output_tokens = _int(raw.get("completion_tokens"))
    if output_tokens is None:
        output_tokens = _int(raw.get("output_tokens"))
    total = _int(raw.get("total_tokens"))
    if input_tokens is None and output_tokens is None:
        if total is None:
            return None
        input_tokens = total  # embeddings and rerank: everything is input
    input_tokens, output_tokens = input_tokens or 0, output_tokens or 0
    if total is None:
        total = input_tokens + output_tokens
    return Usage(input_tokens, output_tokens, total, estimated=False)


def _index(item: Any) -> int:
    """Position of an item in a ``data`` list (providers may answer out of order)."""
    return (_int(item.get("index")) if isinstance(item, dict) else None) or 0


def _content_text(content: Any) -> str:
    """Text of a message or delta ``content``: a string, null, or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") in ("text", "output_text")
        )
    return ""


class OpenAICompatibleChat:
    """Chat completions (``POST {base}/chat/completions``), whole or streamed (SSE)."""

    def __init__(
        self, model: str, endpoint: ProviderEndpoint, *, stream_usage: bool = True
    ) -> None:
        """``stream_usage``: ask for a final usage chunk (``stream_options.include_usage``);
        turn it off for servers that reject the option."""
        self._model = model
        self._http = OpenAIHTTPClient(endpoint)
        self._stream_usage = stream_usage

    @property
    def model_name(self) -> str:
        """The model as configured."""
        return self._model

    @property
    def base_url(self) -> str:
        """The provider's base URL (without credentials or query)."""
        return self._http.display_url

    def _body(
        self,
        messages: Sequence[Message],
        temperature: float | None,
        top_p: float | None,
        max_tokens: int | None,
        stop: Sequence[str] | None,
        extra: dict[str, Any],
    ) -> JSONObject:
        body: JSONObject = {**extra, "model": self._model, "messages": [dict(m) for m in messages]}
        parameters = {"temperature": temperature, "top_p": top_p, "max_tokens": max_tokens}
        body.update({name: value for name, value in parameters.items() if value is not None})
        if stop:
            body["stop"] = list(stop)
        return body

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
        """The complete answer. ``extra`` goes into the request body as is."""
        body = self._body(messages, temperature, top_p, max_tokens, stop, extra)
        payload = self._http.post_json("chat/completions", body)
        choices = payload.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self._http.unexpected("no choices in the completion")
        message = choices[0].get("message")
        if not isinstance(message, dict):
            raise self._http.unexpected("no message in the completion")
        text = _content_text(message.get("content"))
        usage = _usage(payload.get("usage")) or Usage.of(
            count_message_tokens(messages), count_tokens(text), estimated=True
        )
        model = payload.get("model")
        finish_reason = choices[0].get("finish_reason")
        return ChatResult(
            text=text,
            usage=usage,
            model=model if isinstance(model, str) and model else self._model,
            finish_reason=finish_reason if isinstance(finish_reason, str) else None,
        )

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
        """The answer piece by piece, then a final item with usage and finish reason.

        The request is sent on the first ``next()``. A stream that breaks raises
        ``UpstreamUnavailable`` after the pieces already yielded; ``close()`` releases
        the connection at any point.
        """
        body = self._body(messages, temperature, top_p, max_tokens, stop, extra)
        body["stream"] = True
        if self._stream_usage:
            body["stream_options"] = {"include_usage": True}
        events = self._http.stream_events("chat/completions", body)
        pieces: list[str] = []
        usage: Usage | None = None
        finish_reason: str | None = None
        model = self._model
        try:
            for event in events:
                if isinstance(event.get("model"), str) and event["model"]:
                    model = event["model"]
                usage = _usage(event.get("usage")) or usage
                choices = event.get("choices")
                if not isinstance(choices, list) or not choices:
                    continue
                choice = choices[0]
                if not isinstance(choice, dict):
                    raise self._http.unexpected("a stream chunk has a malformed choice")
                # "message" instead of "delta": a server that answered the JSON way.
                delta = choice.get("delta") or choice.get("message") or {}
                piece = _content_text(delta.get("content")) if isinstance(delta, dict) else ""
                if piece:
                    yield ChatDelta(text=piece, first=not pieces)
                    pieces.append(piece)
                if isinstance(choice.get("finish_reason"), str):
                    finish_reason = choice["finish_reason"]
        finally:
            events.close()
        if usage is None:
            usage = Usage.of(
                count_message_tokens(messages), count_tokens("".join(pieces)), estimated=True
            )
        yield ChatDelta(usage=usage, finish_reason=finish_reason, model=model)

    def close(self) -> None:
        """Close the provider's connections."""
        self._http.close()


class OpenAICompatibleEmbedding:
    """Embeddings (``POST {base}/embeddings``), sent in batches."""

    def __init__(
        self,
        model: str,
        endpoint: ProviderEndpoint,
        *,
        dimension: int | None = None,
        batch_size: int = 16,
        query_prefix: str = "",
    ) -> None:
        """``dimension``: known vector length (else learned from the first answer);
        ``query_prefix``: prepended to queries, for models trained with one (e5, bge)."""
        if batch_size < 1:
            raise InvalidArgument("batch_size: must be at least 1")
        self._model = model
        self._http = OpenAIHTTPClient(endpoint)
        self._dimension = dimension
        self._batch_size = batch_size
        self._query_prefix = query_prefix

    @property
    def model_name(self) -> str:
        """The model as configured."""
        return self._model

    @property
    def dimension(self) -> int:
        """Vector length: configured, learned from an earlier call, or asked for once."""
        if self._dimension is None:
            self.embed_query("dimension")
        assert self._dimension is not None  # set by any successful call
        return self._dimension

    def embed(self, texts: Sequence[str]) -> EmbeddingResult:
        """Vectors for ``texts`` in order; usage summed over the batches."""
        vectors: list[list[float]] = []
        usage = Usage.of(0, estimated=False)
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start : start + self._batch_size])
            batch_vectors, batch_usage = self._batch(batch)
            vectors.extend(batch_vectors)
            usage += batch_usage or Usage.of(count_all(batch), estimated=True)
        if not texts:
            usage = Usage.of(0, estimated=True)
        return EmbeddingResult(vectors, usage)

    def embed_query(self, text: str) -> EmbeddingResult:
        """The vector of a query, ``query_prefix`` prepended."""
        return self.embed([self._query_prefix + text])

    def _batch(self, batch: list[str]) -> tuple[list[list[float]], Usage | None]:
        # OpenAI refuses empty strings; a blank chunk still needs a vector.
        body = {
            "model": self._model,
            "input": [t or " " for t in batch],
            "encoding_format": "float",
        }
        payload = self._http.post_json("embeddings", body)
        data = payload.get("data")
        if not isinstance(data, list) or len(data) != len(batch):
            raise self._http.unexpected(f"expected {len(batch)} embeddings")
        vectors = [self._vector(item) for item in sorted(data, key=_index)]
        for vector in vectors:
            if self._dimension is None:
                self._dimension = len(vector)
            elif len(vector) != self._dimension:
                raise self._http.unexpected(
                    f"{len(vector)}-dimensional vectors from a model configured "
                    f"for {self._dimension} dimensions"
                )
        return vectors, _usage(payload.get("usage"))

    def _vector(self, item: Any) -> list[float]:
        embedding = item.get("embedding") if isinstance(item, dict) else None
        if isinstance(embedding, str):  # base64 little-endian float32
            try:
                return [float(x) for x in np.frombuffer(base64.b64decode(embedding), "<f4")]
            except ValueError:
                raise self._http.unexpected("an embedding is not valid base64") from None
        if (
            not isinstance(embedding, list)
            or not embedding
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in embedding)
        ):
            raise self._http.unexpected("an embedding is not a list of numbers")
        return [float(x) for x in embedding]

    def close(self) -> None:
        """Close the provider's connections."""
        self._http.close()


class OpenAICompatibleRerank:
    """Reranking (``POST {base}/rerank``), Jina or Cohere shaped answers."""

    def __init__(self, model: str, endpoint: ProviderEndpoint) -> None:
        """A reranker at ``endpoint``."""
        self._model = model
        self._http = OpenAIHTTPClient(endpoint)

    @property
    def model_name(self) -> str:
        """The model as configured."""
        return self._model

    def rerank(
        self, query: str, documents: Sequence[str], top_n: int | None = None
    ) -> RerankResult:
        """Relevance of each document, best first, at most ``top_n``."""
        if not documents:
            return RerankResult([], Usage.of(0, estimated=True))
        body: JSONObject = {"model": self._model, "query": query, "documents": list(documents)}
        if top_n is not None:
            body["top_n"] = top_n
        payload = self._http.post_json("rerank", body)
        items = payload.get("results", payload.get("data"))
        if not isinstance(items, list):
            raise self._http.unexpected("no results in the rerank answer")
        results: list[tuple[int, float]] = []
        for item in items:
            index = _int(item.get("index")) if isinstance(item, dict) else None
            score = item.get("relevance_score", item.get("score")) if index is not None else None
            if index is None or index >= len(documents) or not isinstance(score, int | float):
                raise self._http.unexpected("a rerank result lacks a valid index or score")
            results.append((index, float(score)))
        results.sort(key=lambda pair: -pair[1])
        if top_n is not None:
            results = results[:top_n]
        usage = _usage(payload.get("usage")) or Usage.of(
            count_tokens(query) * len(documents) + count_all(documents), estimated=True
        )
        return RerankResult(results, usage)

    def close(self) -> None:
        """Close the provider's connections."""
        self._http.close()


class OpenAICompatibleImage2Text:
    """Image description through a vision chat model (the image as a ``data:`` URL)."""

    def __init__(
        self, model: str, endpoint: ProviderEndpoint, *, max_tokens: int | None = None
    ) -> None:
        """``max_tokens`` caps every description."""
        self._chat = OpenAICompatibleChat(model, endpoint)
        self._max_tokens = max_tokens

    @property
    def model_name(self) -> str:
        """The model as configured."""
        return self._chat.model_name

    def describe(self, image: bytes, mime: str, prompt: str | None = None) -> ChatResult:
        """A description of ``image`` (``prompt`` replaces the default instruction)."""
        if not mime.startswith("image/"):
            raise InvalidArgument(f"mime: {mime!r} is not an image type")
        url = f"data:{mime};base64,{base64.b64encode(image).decode()}"
        content = [
            {"type": "text", "text": prompt or DEFAULT_IMAGE_PROMPT},
            {"type": "image_url", "image_url": {"url": url}},
        ]
        return self._chat.chat([{"role": "user", "content": content}], max_tokens=self._max_tokens)

    def close(self) -> None:
        """Close the provider's connections."""
        self._chat.close()


class OpenAICompatibleSpeech2Text:
    """Transcription (multipart ``POST {base}/audio/transcriptions``)."""

    def __init__(
        self, model: str, endpoint: ProviderEndpoint, *, language: str | None = None
    ) -> None:
        """``language``: ISO-639-1 hint for the provider, if known."""
        self._model = model
        self._http = OpenAIHTTPClient(endpoint)
        self._language = language

    @property
    def model_name(self) -> str:
        """The model as configured."""
        return self._model

    def transcribe(self, audio: bytes, filename: str, mime: str) -> TranscriptionResult:
        """The transcript; usage only when the provider reports tokens (not duration)."""
        data = {"model": self._model, "response_format": "json"}
        if self._language:
            data["language"] = self._language
        payload = self._http.post_multipart(
            "audio/transcriptions", data, {"file": (filename, audio, mime)}
        )
        text = payload.get("text")
        if not isinstance(text, str):
            raise self._http.unexpected("no text in the transcription")
        return TranscriptionResult(text, _usage(payload.get("usage")), self._model)

    def close(self) -> None:
        """Close the provider's connections."""
        self._http.close()


def list_models(endpoint: ProviderEndpoint) -> list[str]:
    """The model ids the provider lists (``GET {base}/models``): a connection check."""
    http = OpenAIHTTPClient(endpoint)
    try:
        payload = http.get_json("models")
    finally:
        http.close()
    data = payload.get("data", payload.get("models"))
    if not isinstance(data, list):
        raise http.unexpected("no model list")
    ids = [item.get("id") or item.get("name") for item in data if isinstance(item, dict)]
    return [model for model in ids if isinstance(model, str)]
