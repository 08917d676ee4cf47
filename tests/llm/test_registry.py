"""Building models from stored provider settings."""

from __future__ import annotations

import pytest

from ragprism.errors import InvalidArgument
from ragprism.llm import (
    ExtractiveChat,
    HashingEmbedding,
    build_chat,
    build_embedding,
    build_image2text,
    build_rerank,
    build_speech2text,
)
from ragprism.llm.openai_compat import (
    OpenAICompatibleChat,
    OpenAICompatibleEmbedding,
    OpenAICompatibleImage2Text,
    OpenAICompatibleRerank,
    OpenAICompatibleSpeech2Text,
)
from tests.llm.conftest import API_KEY, RETRY, Sleeps
from tests.support.openai_server import FakeOpenAI


def test_builtin_models_need_no_url_or_key() -> None:
    chat = build_chat("builtin", "builtin-extractive", None, None, timeout=5.0)
    assert isinstance(chat, ExtractiveChat)
    embedding = build_embedding("builtin", "builtin-hashing", None, None)
    assert isinstance(embedding, HashingEmbedding)
    assert embedding.dimension == 384
    assert build_embedding("builtin", "builtin-hashing-64", None, None).dimension == 64


@pytest.mark.parametrize(
    ("build", "model", "field"),
    [
        (build_chat, "gpt-4o", "model"),
        (build_embedding, "builtin-hashing-x", "model"),
        (build_embedding, "builtin-hashing-8", "model"),
        (build_rerank, "any", "provider"),
        (build_image2text, "any", "provider"),
        (build_speech2text, "any", "provider"),
    ],
)
def test_unknown_builtin_models_are_refused(build: object, model: str, field: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{field}:") as caught:
        build("builtin", model, None, None)  # type: ignore[operator]
    assert caught.value.code == 101


def test_provider_and_model_are_checked() -> None:
    with pytest.raises(InvalidArgument, match="provider: 'anthropic' is not one of"):
        build_chat("anthropic", "claude", "https://example.com", "key")
    with pytest.raises(InvalidArgument, match="model: must not be blank"):
        build_chat("openai-compatible", " ", "https://example.com", "key")
    with pytest.raises(InvalidArgument, match="base_url: required"):
        build_chat("openai-compatible", "gpt-4o", None, "key")


def test_openai_compatible_models_of_every_kind_work() -> None:
    sleeps = Sleeps()
    with FakeOpenAI(api_key=API_KEY) as fake:
        options = {"retry": RETRY, "sleep": sleeps, "timeout": 5.0}
        chat = build_chat("openai-compatible", "fake-chat", fake.url, API_KEY, **options)
        embedding = build_embedding(
            "openai-compatible", "fake-embedding", fake.url, API_KEY, batch_size=4, **options
        )
        rerank = build_rerank("openai-compatible", "fake-rerank", fake.url, API_KEY, **options)
        vision = build_image2text("openai-compatible", "fake-vision", fake.url, API_KEY)
        speech = build_speech2text("openai-compatible", "fake-whisper", fake.url, API_KEY)
        try:
            assert isinstance(chat, OpenAICompatibleChat)
            assert isinstance(embedding, OpenAICompatibleEmbedding)
            assert isinstance(rerank, OpenAICompatibleRerank)
            assert isinstance(vision, OpenAICompatibleImage2Text)
            assert isinstance(speech, OpenAICompatibleSpeech2Text)
            fake.fail_next(1, 503)
            assert chat.chat([{"role": "user", "content": "hi"}]).text == "Echo: hi"
            assert len(sleeps) == 1  # the endpoint options reached the client
            assert len(embedding.embed(["a", "b"]).vectors) == 2
            assert rerank.rerank("a", ["a", "b"]).results[0][0] == 0
            assert vision.describe(b"img", "image/png").text.startswith("Echo:")
            assert speech.transcribe(b"abc", "x.wav", "audio/wav").text.startswith("transcribed")
        finally:
            for model in (chat, embedding, rerank, vision, speech):
                model.close()
