"""Image documents are described by the tenant's image-to-text model; each description is
a ``ragflow-image2text`` trace linked both ways with the document's ``ragflow-ingest``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ragprism.llm import DEFAULT_IMAGE_PROMPT
from ragprism.runtime import Runtime
from tests.api.rag_support import Rag, fail_fast_models
from tests.api.trace_support import (
    COST,
    INPUT,
    LEVEL,
    MODEL,
    OUTPUT,
    STATUS,
    TYPE,
    USAGE,
    add_model,
    attr,
    set_defaults,
    trace_of,
    trace_spans,
    traced,
    value,
)
from tests.conftest import Accounts
from tests.support.langfuse_server import FakeLangfuse
from tests.support.openai_server import IMAGE_TOKENS, FakeOpenAI

VISION = "fake-vision@OpenAI-API-Compatible"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(56)
JPEG = b"\xff\xd8\xff\xe0" + bytes(60)
GIF = b"GIF89a" + bytes(58)
WEBP = b"RIFF\x38\x00\x00\x00WEBPVP8 " + bytes(48)
INGEST_TREE = {
    "name": "ragflow-ingest",
    "children": [
        {"name": "parse", "children": []},
        {"name": "chunk", "children": []},
        {"name": "embed", "children": []},
        {"name": "index", "children": []},
    ],
}


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key="sk-test") as server:  # echoes the prompt and the image
        yield server


@pytest.fixture
def api(
    client: TestClient, accounts: Accounts, state: Runtime, monkeypatch: pytest.MonkeyPatch
) -> Rag:
    fail_fast_models(state, monkeypatch)
    return Rag(client, accounts.user("owner@example.com"), state)


@pytest.fixture
def vision(api: Rag, openai_server: FakeOpenAI) -> str:
    """The test server's vision model, priced, as the tenant's image-to-text default."""
    add_model(
        api.client,
        api.headers,
        openai_server.url,
        "fake-vision",
        "image2text",
        input_price=0.15,
        output_price=0.6,
    )
    assert set_defaults(api.client, api.headers, img2txt_id=VISION)["code"] == 0
    return VISION


def expected_description(mime: str, size: int) -> str:
    """What the test server answers for an image (it echoes the prompt's start)."""
    return f"Echo: {DEFAULT_IMAGE_PROMPT[:50]} [{mime} {size} bytes]"


def test_an_image_is_described_chunked_and_found(api: Rag, vision: str) -> None:
    dataset_id, document_id = api.ingest("diagram.png", PNG)
    (chunk,) = api.chunks(dataset_id, document_id)["chunks"]
    assert chunk["content"] == expected_description("image/png", len(PNG))
    document = api.document(dataset_id, document_id)
    assert document["type"] == "visual"
    assert document["chunk_count"] == 1
    found = api.retrieve(question="Describe this image", dataset_ids=[dataset_id])
    assert [c["id"] for c in found["chunks"]] == [chunk["id"]]


@pytest.mark.parametrize(
    ("name", "data", "mime"),
    [
        ("photo.jpg", JPEG, "image/jpeg"),
        ("photo.JPEG", JPEG, "image/jpeg"),
        ("anim.gif", GIF, "image/gif"),
        ("pic.webp", WEBP, "image/webp"),
        ("misnamed.jpg", PNG, "image/png"),  # the magic bytes decide the type sent
    ],
)
def test_each_image_type_is_sent_as_its_magic_bytes_say(
    api: Rag, vision: str, openai_server: FakeOpenAI, name: str, data: bytes, mime: str
) -> None:
    dataset_id, document_id = api.ingest(name, data)
    (chunk,) = api.chunks(dataset_id, document_id)["chunks"]
    assert chunk["content"] == expected_description(mime, len(data))
    (sent,) = openai_server.requests_to("chat")
    assert sent.json["model"] == "fake-vision"
    image = sent.json["messages"][0]["content"][1]["image_url"]["url"]
    assert image.startswith(f"data:{mime};base64,")


def test_image2text_trace_and_the_ingest_trace_link_both_ways(
    api: Rag, state: Runtime, fake_langfuse: FakeLangfuse, vision: str
) -> None:
    project_id = traced(api, fake_langfuse)
    uploader = api.client.get("/v1/user/info", headers=api.headers).json()["data"]["id"]
    dataset_id, document_id = api.ingest("diagram.png", PNG)
    description = expected_description("image/png", len(PNG))

    image_trace = trace_of(state, fake_langfuse, project_id, "ragflow-image2text")
    ingest_trace = trace_of(state, fake_langfuse, project_id, "ragflow-ingest")
    image = trace_spans(state, fake_langfuse, project_id, image_trace, 2)
    assert fake_langfuse.span_tree(image_trace, project_id) == {
        "name": "ragflow-image2text",
        "children": [{"name": "image2text", "children": []}],
    }
    root, generation = image["ragflow-image2text"], image["image2text"]
    assert attr(root, TYPE) == "span"
    assert attr(generation, TYPE) == "generation"
    assert attr(generation, MODEL) == "fake-vision"
    described = {"file": "diagram.png", "bytes": len(PNG), "content_type": "image/png"}
    assert value(root, INPUT) == described
    assert value(generation, INPUT) == {**described, "prompt": DEFAULT_IMAGE_PROMPT}
    assert value(generation, OUTPUT) == value(root, OUTPUT) == description
    # The test server counts words, plus 85 tokens per image, and reports the usage.
    prompt_tokens = len(DEFAULT_IMAGE_PROMPT.split()) + IMAGE_TOKENS
    output_tokens = len(description.split())
    assert value(generation, USAGE) == {
        "input": prompt_tokens,
        "output": output_tokens,
        "total": prompt_tokens + output_tokens,
    }
    input_cost, output_cost = prompt_tokens * 0.15 / 1e6, output_tokens * 0.6 / 1e6
    assert value(generation, COST) == pytest.approx(
        {"input": input_cost, "output": output_cost, "total": input_cost + output_cost}
    )
    assert attr(generation, LEVEL) is None
    for span in image.values():  # image2text → ingest: the document, dataset, ingest trace
        assert attr(span, "langfuse.trace.name") == "ragflow-image2text"
        assert value(span, "langfuse.trace.metadata.document_id") == document_id
        assert value(span, "langfuse.trace.metadata.dataset_ids") == [dataset_id]
        assert value(span, "langfuse.trace.metadata.ingest_trace_id") == ingest_trace
        assert list(attr(span, "langfuse.trace.tags")) == [VISION]
        assert attr(span, "user.id") == uploader  # who uploaded the image, by id

    ingest = trace_spans(state, fake_langfuse, project_id, ingest_trace, 5)
    for span in ingest.values():  # tagged with both models the ingestion used
        assert VISION in attr(span, "langfuse.trace.tags")
        assert len(attr(span, "langfuse.trace.tags")) == 2  # and the embedding model
        assert attr(span, "user.id") == uploader
    assert fake_langfuse.span_tree(ingest_trace, project_id) == INGEST_TREE
    parse = ingest["parse"]  # ingest → image2text
    assert value(parse, "langfuse.observation.metadata.image2text_trace_id") == image_trace
    assert value(parse, OUTPUT) == {"sections": 1, "chars": len(description)}
    assert value(ingest["embed"], INPUT) == [description]
    # The built-in embedding model runs locally: free, its usage counted offline.
    assert value(ingest["embed"], COST) == {"input": 0.0, "output": 0.0, "total": 0.0}
    assert value(ingest["embed"], "langfuse.observation.metadata.usage_estimated") is True


def test_without_an_image_to_text_model_the_document_fails_clearly(
    api: Rag, state: Runtime, fake_langfuse: FakeLangfuse
) -> None:
    project_id = traced(api, fake_langfuse)
    dataset_id = api.dataset("pictures")["id"]
    image, text = api.upload(dataset_id, ("scan.png", PNG), ("notes.txt", b"plain text notes"))
    runs = api.parse(dataset_id, image["id"], text["id"])
    assert runs == {image["id"]: "FAIL", text["id"]: "DONE"}  # nothing else breaks
    failed = api.document(dataset_id, image["id"])
    assert failed["progress"] == -1
    assert "scan.png is an image" in failed["progress_msg"]
    assert "img2txt_id" in failed["progress_msg"]
    assert state.tracing.flush(5.0)
    assert not fake_langfuse.spans(project_id, name="ragflow-image2text")


def test_provider_failure_fails_the_document_and_marks_the_generation(
    api: Rag,
    state: Runtime,
    fake_langfuse: FakeLangfuse,
    vision: str,
    openai_server: FakeOpenAI,
) -> None:
    project_id = traced(api, fake_langfuse)
    openai_server.status(503, endpoints="chat")
    dataset_id = api.dataset("pictures")["id"]
    (document,) = api.upload(dataset_id, ("scan.png", PNG))
    assert api.parse(dataset_id, document["id"]) == {document["id"]: "FAIL"}
    assert openai_server.url in api.document(dataset_id, document["id"])["progress_msg"]

    image_trace = trace_of(state, fake_langfuse, project_id, "ragflow-image2text")
    image = trace_spans(state, fake_langfuse, project_id, image_trace, 2)
    generation = image["image2text"]
    assert attr(generation, LEVEL) == "ERROR"
    assert openai_server.url in attr(generation, STATUS)
    assert attr(generation, USAGE) is None
    assert generation["end_time_unix_nano"] >= generation["start_time_unix_nano"] > 0
    ingest_trace = trace_of(state, fake_langfuse, project_id, "ragflow-ingest")
    fake_langfuse.wait_for_spans(4, project_id=project_id)  # the image trace, root and parse
    parse = next(
        s for s in fake_langfuse.spans(project_id, trace_id=ingest_trace) if s["name"] == "parse"
    )
    assert value(parse, "langfuse.observation.metadata.image2text_trace_id") == image_trace
    assert attr(parse, LEVEL) == "ERROR"


@pytest.mark.parametrize("name", ["fake.png", "fake.jpg", "fake.webp"])
def test_an_image_name_over_other_bytes_is_refused_at_upload(api: Rag, name: str) -> None:
    dataset_id = api.dataset("pictures")["id"]
    body = api.call(
        "POST", f"/datasets/{dataset_id}/documents", files=[("file", (name, b"not an image"))]
    )
    assert body["code"] == 102
    assert body["message"] == (
        f"could not read {name} as an image: it is not a PNG, JPEG, GIF or WebP image"
    )


def test_unsupported_types_name_the_image_types_too(api: Rag) -> None:
    dataset_id = api.dataset("pictures")["id"]
    body = api.call(
        "POST", f"/datasets/{dataset_id}/documents", files=[("file", ("x.bmp", b"BM..."))]
    )
    assert body["code"] == 101
    assert ".pdf" in body["message"]
    assert ".png" in body["message"]
    assert ".webp" in body["message"]


def test_another_tenant_cannot_use_the_image_model(
    api: Rag, accounts: Accounts, state: Runtime, vision: str, openai_server: FakeOpenAI
) -> None:
    other = Rag(api.client, accounts.user("other@example.com"), state)
    refused = set_defaults(other.client, other.headers, img2txt_id=VISION)
    assert refused["code"] == 102
    dataset_id = other.dataset("pictures")["id"]
    (document,) = other.upload(dataset_id, ("scan.png", PNG))
    assert other.parse(dataset_id, document["id"]) == {document["id"]: "FAIL"}
    assert (
        "none is configured for this tenant"
        in (other.document(dataset_id, document["id"])["progress_msg"])
    )
    assert openai_server.request_count("chat") == 0
