"""OpenAI-compatible embeddings, rerank, image description, speech to text, model list."""

from __future__ import annotations

import math

import pytest

from ragprism.errors import DataError, InvalidArgument
from ragprism.llm import (
    EmbeddingModel,
    Image2TextModel,
    RerankModel,
    Speech2TextModel,
    list_models,
)
from ragprism.llm.openai_compat import (
    DEFAULT_IMAGE_PROMPT,
    OpenAICompatibleEmbedding,
    OpenAICompatibleImage2Text,
    OpenAICompatibleRerank,
    OpenAICompatibleSpeech2Text,
)
from tests.llm.conftest import EndpointFactory
from tests.support.openai_server import FakeOpenAI, fake_vector

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
WAV = b"RIFF" + bytes(1000)


# -- embeddings ------------------------------------------------------------------------


def test_embeddings_in_batches_keep_order_and_sum_usage(
    endpoint: EndpointFactory, fake: FakeOpenAI
) -> None:
    texts = ["alpha beta", "gamma", "delta epsilon zeta", "eta", "theta"]
    model: EmbeddingModel = OpenAICompatibleEmbedding("fake-embedding", endpoint(), batch_size=2)
    try:
        result = model.embed(texts)
        assert model.dimension == fake.dimension
    finally:
        model.close()
    for vector, text in zip(result.vectors, texts, strict=True):
        assert vector == pytest.approx(fake_vector(text, fake.dimension))
    assert [r.json["input"] for r in fake.requests_to("embeddings")] == [
        ["alpha beta", "gamma"],
        ["delta epsilon zeta", "eta"],
        ["theta"],
    ]
    assert result.usage.input_tokens == 8  # words, as FakeOpenAI counts them
    assert result.usage.total_tokens == 8
    assert result.usage.output_tokens == 0
    assert not result.usage.estimated


def test_blank_texts_still_get_vectors(endpoint: EndpointFactory, fake: FakeOpenAI) -> None:
    model = OpenAICompatibleEmbedding("fake-embedding", endpoint())
    try:
        result = model.embed(["", "text"])
    finally:
        model.close()
    assert len(result.vectors) == 2
    assert fake.requests_to("embeddings")[0].json["input"] == [" ", "text"]


def test_query_prefix_and_dimension_discovery(endpoint: EndpointFactory, fake: FakeOpenAI) -> None:
    model = OpenAICompatibleEmbedding("fake-embedding", endpoint(), query_prefix="query: ")
    try:
        assert model.dimension == fake.dimension  # asked once
        vector = model.embed_query("refund").vectors[0]
    finally:
        model.close()
    assert vector == pytest.approx(fake_vector("query: refund", fake.dimension))
    assert math.isclose(sum(x * x for x in vector), 1.0)
    assert fake.request_count("embeddings") == 2


def test_a_wrong_dimension_is_refused(endpoint: EndpointFactory) -> None:
    model = OpenAICompatibleEmbedding("fake-embedding", endpoint(), dimension=1536)
    try:
        with pytest.raises(DataError, match="8-dimensional vectors"):
            model.embed(["text"])
    finally:
        model.close()


def test_no_texts_no_request(endpoint: EndpointFactory, fake: FakeOpenAI) -> None:
    model = OpenAICompatibleEmbedding("fake-embedding", endpoint())
    try:
        assert model.embed([]).vectors == []
    finally:
        model.close()
    assert fake.request_count() == 0


# -- rerank ----------------------------------------------------------------------------

DOCUMENTS = [
    "The office cat sleeps all day.",
    "Refunds are issued within 14 days.",
    "Refund requests for opened software are refused within days.",
]


def test_rerank_jina_shape(endpoint: EndpointFactory, fake: FakeOpenAI) -> None:
    model: RerankModel = OpenAICompatibleRerank("fake-rerank", endpoint())
    try:
        result = model.rerank("refund within days", DOCUMENTS, top_n=2)
    finally:
        model.close()
    assert [index for index, _ in result.results] == [2, 1]
    assert result.results[0][1] == pytest.approx(1.0)
    assert not result.usage.estimated
    assert result.usage.total_tokens > 0
    body = fake.requests_to("rerank")[0].json
    assert body == {
        "model": "fake-rerank",
        "query": "refund within days",
        "documents": DOCUMENTS,
        "top_n": 2,
    }


def test_rerank_cohere_shape(endpoint: EndpointFactory, fake: FakeOpenAI) -> None:
    cohere = {
        "id": "abc",
        "results": [{"index": 0, "relevance_score": 0.1}, {"index": 1, "relevance_score": 0.9}],
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
    }
    fake.status(200, cohere, endpoints="rerank", times=1)
    model = OpenAICompatibleRerank("rerank-v3.5", endpoint())
    try:
        result = model.rerank("query", DOCUMENTS[:2])
    finally:
        model.close()
    assert result.results == [(1, 0.9), (0, 0.1)]
    assert result.usage.estimated


def test_rerank_refuses_an_out_of_range_index(endpoint: EndpointFactory, fake: FakeOpenAI) -> None:
    fake.status(200, {"results": [{"index": 9, "relevance_score": 1}]}, endpoints="rerank")
    model = OpenAICompatibleRerank("fake-rerank", endpoint())
    try:
        with pytest.raises(DataError, match="unexpected response from"):
            model.rerank("query", DOCUMENTS)
        assert model.rerank("query", []).results == []
    finally:
        model.close()


# -- image description -----------------------------------------------------------------


def test_describe_sends_the_image_as_a_data_url(
    endpoint: EndpointFactory, fake: FakeOpenAI
) -> None:
    model: Image2TextModel = OpenAICompatibleImage2Text("fake-vision", endpoint(), max_tokens=200)
    try:
        result = model.describe(PNG, "image/png")
        custom = model.describe(PNG, "image/png", prompt="Read the text.")
        with pytest.raises(InvalidArgument, match="mime"):
            model.describe(PNG, "application/pdf")
    finally:
        model.close()
    assert result.text == f"Echo: {DEFAULT_IMAGE_PROMPT[:50]} [image/png {len(PNG)} bytes]"
    assert custom.text == f"Echo: Read the text. [image/png {len(PNG)} bytes]"
    assert result.usage.input_tokens >= 85
    assert result.model == "fake-vision"
    body = fake.requests_to("chat")[0].json
    assert body["max_tokens"] == 200
    (part,) = [p for p in body["messages"][0]["content"] if p["type"] == "image_url"]
    assert part["image_url"]["url"].startswith("data:image/png;base64,")


# -- speech to text --------------------------------------------------------------------


def test_transcribe_posts_multipart(endpoint: EndpointFactory, fake: FakeOpenAI) -> None:
    model: Speech2TextModel = OpenAICompatibleSpeech2Text("fake-whisper", endpoint(), language="en")
    try:
        result = model.transcribe(WAV, "memo.wav", "audio/wav")
    finally:
        model.close()
    assert result.text == f"transcribed memo.wav ({len(WAV)} bytes)"
    assert result.usage is None
    assert result.model == "fake-whisper"
    form = fake.requests_to("transcriptions")[0].form
    assert form is not None
    assert form["model"] == "fake-whisper"
    assert form["language"] == "en"
    assert form["file"]["content_type"] == "audio/wav"
    assert form["file"]["content"] == WAV


def test_transcription_token_usage_is_reported(endpoint: EndpointFactory, fake: FakeOpenAI) -> None:
    answer = {
        "text": "hello",
        "usage": {"type": "tokens", "input_tokens": 14, "output_tokens": 2, "total_tokens": 16},
    }
    fake.status(200, answer, endpoints="transcriptions", times=1)
    model = OpenAICompatibleSpeech2Text("gpt-4o-transcribe", endpoint())
    try:
        usage = model.transcribe(WAV, "a.wav", "audio/wav").usage
    finally:
        model.close()
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (14, 2, 16)
    assert not usage.estimated


# -- model list ------------------------------------------------------------------------


def test_list_models(endpoint: EndpointFactory, fake: FakeOpenAI) -> None:
    assert list_models(endpoint()) == fake.models
