"""Turn a stored provider row (provider, model, base URL, API key) into a model.

Providers: ``builtin`` (offline, no base URL or key) and ``openai-compatible``
(anything speaking OpenAI's HTTP API). ``options`` are passed to the provider class
(e.g. ``dimension``, ``batch_size``, ``stream_usage``) and to its ``ProviderEndpoint``
(``timeout``, ``connect_timeout``, ``retry``, ``headers``, ``transport``, ``sleep``);
built-in models ignore connection options.
"""

from __future__ import annotations

import re
from typing import Any, Final

from ragprism.errors import InvalidArgument
from ragprism.llm.base import (
    ChatModel,
    EmbeddingModel,
    Image2TextModel,
    RerankModel,
    Speech2TextModel,
)
from ragprism.llm.builtin import (
    DEFAULT_DIMENSION,
    EXTRACTIVE_MODEL,
    HASHING_MODEL,
    ExtractiveChat,
    HashingEmbedding,
)
from ragprism.llm.openai_compat import (
    OpenAICompatibleChat,
    OpenAICompatibleEmbedding,
    OpenAICompatibleImage2Text,
    OpenAICompatibleRerank,
    OpenAICompatibleSpeech2Text,
)
from ragprism.llm.openai_http import ProviderEndpoint

BUILTIN: Final = "builtin"
OPENAI_COMPATIBLE: Final = "openai-compatible"
PROVIDERS: Final = (BUILTIN, OPENAI_COMPATIBLE)

_ENDPOINT_OPTIONS = frozenset(
    {"timeout", "connect_timeout", "retry", "headers", "transport", "sleep"}
)
_HASHING_NAME = re.compile(rf"^{re.escape(HASHING_MODEL)}(?:-(\d+))?$")


def _endpoint(
    base_url: str | None, api_key: str | None, options: dict[str, Any]
) -> tuple[ProviderEndpoint, dict[str, Any]]:
    if not base_url:
        raise InvalidArgument(f"base_url: required for provider {OPENAI_COMPATIBLE!r}")
    endpoint_options = {k: v for k, v in options.items() if k in _ENDPOINT_OPTIONS}
    model_options = {k: v for k, v in options.items() if k not in _ENDPOINT_OPTIONS}
    return ProviderEndpoint(base_url, api_key, **endpoint_options), model_options


def _check(provider: str, model: str) -> None:
    if provider not in PROVIDERS:
        raise InvalidArgument(f"provider: {provider!r} is not one of {', '.join(PROVIDERS)}")
    if not model.strip():
        raise InvalidArgument("model: must not be blank")


def _no_builtin(kind: str) -> InvalidArgument:
    return InvalidArgument(
        f"provider: there is no built-in {kind} model; configure {OPENAI_COMPATIBLE!r}"
    )


def build_chat(
    provider: str, model: str, base_url: str | None, api_key: str | None, **options: Any
) -> ChatModel:
    """A chat model: ``builtin``/``builtin-extractive`` or an OpenAI-compatible one."""
    _check(provider, model)
    if provider == BUILTIN:
        if model != EXTRACTIVE_MODEL:
            raise InvalidArgument(f"model: the built-in chat model is {EXTRACTIVE_MODEL!r}")
        # Connection options mean nothing to an offline model.
        return ExtractiveChat(**{k: v for k, v in options.items() if k not in _ENDPOINT_OPTIONS})
    endpoint, rest = _endpoint(base_url, api_key, options)
    return OpenAICompatibleChat(model, endpoint, **rest)


def build_embedding(
    provider: str, model: str, base_url: str | None, api_key: str | None, **options: Any
) -> EmbeddingModel:
    """An embedding model: ``builtin``/``builtin-hashing[-<dimension>]`` or OpenAI-compatible."""
    _check(provider, model)
    if provider == BUILTIN:
        match = _HASHING_NAME.match(model)
        if match is None:
            raise InvalidArgument(
                f"model: the built-in embedding model is {HASHING_MODEL!r} "
                f"(or {HASHING_MODEL}-<dimension>)"
            )
        dimension = int(match.group(1) or DEFAULT_DIMENSION)
        if dimension < 16:
            raise InvalidArgument("model: the dimension must be at least 16")
        return HashingEmbedding(dimension)
    endpoint, rest = _endpoint(base_url, api_key, options)
    return OpenAICompatibleEmbedding(model, endpoint, **rest)


def build_rerank(
    provider: str, model: str, base_url: str | None, api_key: str | None, **options: Any
) -> RerankModel:
    """A rerank model (OpenAI-compatible ``/rerank``; there is no built-in one)."""
    _check(provider, model)
    if provider == BUILTIN:
        raise _no_builtin("rerank")
    endpoint, rest = _endpoint(base_url, api_key, options)
    return OpenAICompatibleRerank(model, endpoint, **rest)


def build_image2text(
    provider: str, model: str, base_url: str | None, api_key: str | None, **options: Any
) -> Image2TextModel:
    """An image description model (an OpenAI-compatible vision chat model)."""
    _check(provider, model)
    if provider == BUILTIN:
        raise _no_builtin("image description")
    endpoint, rest = _endpoint(base_url, api_key, options)
    return OpenAICompatibleImage2Text(model, endpoint, **rest)


def build_speech2text(
    provider: str, model: str, base_url: str | None, api_key: str | None, **options: Any
) -> Speech2TextModel:
    """A speech-to-text model (OpenAI-compatible ``/audio/transcriptions``)."""
    _check(provider, model)
    if provider == BUILTIN:
        raise _no_builtin("speech-to-text")
    endpoint, rest = _endpoint(base_url, api_key, options)
    return OpenAICompatibleSpeech2Text(model, endpoint, **rest)
