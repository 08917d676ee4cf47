"""Real clients against the real server: RAGFlow's ``ragflow-sdk`` through the whole flow,
and OpenAI's ``openai`` package on the OpenAI-compatible route.

``ragflow-sdk`` is installed by ``make install`` outside the lock file (see the Makefile); a
bare ``uv sync`` removes it, in which case its test is skipped, not failed.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.api.rag_support import docx_bytes, pdf_bytes

if TYPE_CHECKING:
    from ragflow_sdk import DataSet, Document, RAGFlow

pytestmark = pytest.mark.slow

VACATION = "Employees get 25 days of paid vacation per year."
TRAVEL = "Travel expenses are reimbursed within 30 days of submitting the receipts."
PARKING = "The office car park opens at seven and visitors park on level two."
PRINTER = "The third floor printer needs a badge before it prints anything."
BIKES = "Bicycles are stored in the basement cage behind the loading dock."
FILES: dict[str, bytes] = {
    "vacation.txt": f"{VACATION}\n".encode(),
    "travel.md": f"# Travel\n\n{TRAVEL}\n".encode(),
    "parking.pdf": pdf_bytes(PARKING),
    "printer.docx": docx_bytes(PRINTER),
}
PARSE_DEADLINE_SECONDS = 60.0


def _wait_parsed(dataset: DataSet, document_ids: list[str]) -> dict[str, Document]:
    """Poll the documents through the SDK until none is queued or running."""
    deadline = time.monotonic() + PARSE_DEADLINE_SECONDS
    while True:
        docs = {doc.id: doc for doc in dataset.list_documents(page_size=100)}
        if all(docs[i].run not in ("UNSTART", "RUNNING") for i in document_ids):
            return docs
        assert time.monotonic() < deadline, {i: docs[i].progress_msg for i in document_ids}
        time.sleep(0.2)


@pytest.fixture
def rag(live_server: tuple[str, Path], api_key: str) -> RAGFlow:
    sdk = pytest.importorskip("ragflow_sdk", reason="ragflow-sdk is installed by `make install`")
    url, _ = live_server
    client: RAGFlow = sdk.RAGFlow(api_key=api_key, base_url=url)
    return client


def test_ragflow_sdk_whole_flow(rag: RAGFlow) -> None:
    # Datasets.
    dataset = rag.create_dataset(name="handbook", description="company rules")
    assert dataset.embedding_model == "builtin-hashing@Builtin"
    assert dataset.chunk_method == "naive"
    assert [d.id for d in rag.list_datasets(name="handbook")] == [dataset.id]
    dataset.update({"description": "the company handbook"})
    assert rag.list_datasets(id=dataset.id)[0].description == "the company handbook"

    # Documents: upload, parse, wait through list calls.
    uploaded = dataset.upload_documents(
        [{"display_name": name, "blob": blob} for name, blob in FILES.items()]
    )
    assert sorted(doc.name for doc in uploaded) == sorted(FILES)
    ids = {doc.name: doc.id for doc in uploaded}
    dataset.async_parse_documents(list(ids.values()))
    docs = _wait_parsed(dataset, list(ids.values()))
    for name, doc_id in ids.items():
        assert docs[doc_id].run == "DONE", (name, docs[doc_id].progress_msg)
        assert docs[doc_id].progress == 1.0
        assert docs[doc_id].chunk_count >= 1
    assert rag.list_datasets(id=dataset.id)[0].document_count == len(FILES)
    txt = docs[ids["vacation.txt"]]
    assert txt.download() == FILES["vacation.txt"]
    txt.update({"name": "leave.txt"})
    assert dataset.list_documents(id=txt.id)[0].name == "leave.txt"

    # Chunks: list, add, update, delete.
    chunks = txt.list_chunks()
    assert any(VACATION in chunk.content for chunk in chunks), [c.to_json() for c in chunks]
    added = txt.add_chunk(content=BIKES, important_keywords=["bicycle"])
    assert added.content == BIKES
    assert added.document_id == txt.id
    listed = {chunk.id: chunk for chunk in txt.list_chunks(page_size=100)}
    assert added.id in listed
    added.update({"content": BIKES + " Helmets stay with their owners."})
    assert "Helmets" in txt.list_chunks(id=added.id)[0].content
    txt.delete_chunks(ids=[added.id])
    assert added.id not in {chunk.id for chunk in txt.list_chunks(page_size=100)}

    # Retrieval.
    found = rag.retrieve(dataset_ids=[dataset.id], question="How many vacation days?")
    assert found
    assert VACATION in found[0].content
    assert found[0].document_id == txt.id
    in_pdf = rag.retrieve(
        dataset_ids=[dataset.id], document_ids=[ids["parking.pdf"]], question="car park"
    )
    assert [chunk.document_id for chunk in in_pdf] == [ids["parking.pdf"]] * len(in_pdf)
    assert in_pdf
    assert "car park" in in_pdf[0].content

    # A chat assistant and its sessions, on the tenant's default (built-in) models.
    chat = rag.create_chat("helpdesk", dataset_ids=[dataset.id])
    assert chat.dataset_ids == [dataset.id]
    assert [c.id for c in rag.list_chats(name="helpdesk")] == [chat.id]
    session = chat.create_session("vacation questions")
    assert session.name == "vacation questions"
    assert session.chat_id == chat.id

    answers = list(session.ask("How many days of paid vacation do employees get?"))
    assert len(answers) == 1
    answer = answers[0]
    assert "25 days" in answer.content
    assert answer.reference
    assert any(ref["document_id"] == txt.id for ref in answer.reference)

    streamed = list(session.ask("When are travel expenses reimbursed?", stream=True))
    assert len(streamed) > 1
    assert "30 days" in streamed[-1].content
    assert all(len(a.content) <= len(b.content) for a, b in itertools.pairwise(streamed))
    assert any(ref["document_id"] == ids["travel.md"] for ref in streamed[-1].reference or [])

    (stored,) = chat.list_sessions(id=session.id)
    contents = [message["content"] for message in stored.messages]
    assert "How many days of paid vacation do employees get?" in contents
    assert any("30 days" in content for content in contents)
    session.update({"name": "leave and travel"})
    assert chat.list_sessions(id=session.id)[0].name == "leave and travel"
    other = chat.create_session()
    assert {s.id for s in chat.list_sessions()} == {session.id, other.id}
    chat.delete_sessions(ids=[other.id])
    assert [s.id for s in chat.list_sessions()] == [session.id]

    chat.update({"name": "front desk", "prompt": {"top_n": 3}})
    (renamed,) = rag.list_chats(id=chat.id)
    assert renamed.name == "front desk"
    assert renamed.prompt.top_n == 3
    rag.delete_chats(ids=[chat.id])
    assert rag.list_chats() == []

    # Documents and datasets go.
    dataset.delete_documents(ids=[ids["printer.docx"]])
    assert ids["printer.docx"] not in {doc.id for doc in dataset.list_documents()}
    rag.delete_datasets(ids=[dataset.id])
    assert rag.list_datasets() == []


def _knowledge_chat(url: str, api_key: str) -> str:
    """An assistant over a parsed handbook, set up over raw HTTP; its id."""
    with httpx.Client(
        base_url=url + "/api/v1", headers={"Authorization": f"Bearer {api_key}"}
    ) as http:

        def ok(method: str, path: str, **kwargs: Any) -> Any:
            body = http.request(method, path, **kwargs).json()
            assert body["code"] == 0, body
            return body["data"]

        dataset_id = ok("POST", "/datasets", json={"name": "handbook"})["id"]
        files = [("file", ("handbook.txt", f"{VACATION}\n\n{TRAVEL}\n".encode()))]
        (document,) = ok("POST", f"/datasets/{dataset_id}/documents", files=files)
        ok("POST", f"/datasets/{dataset_id}/chunks", json={"document_ids": [document["id"]]})
        deadline = time.monotonic() + PARSE_DEADLINE_SECONDS
        while True:
            params = {"id": document["id"]}
            (doc,) = ok("GET", f"/datasets/{dataset_id}/documents", params=params)["docs"]
            if doc["run"] not in ("UNSTART", "RUNNING"):
                break
            assert time.monotonic() < deadline, doc["progress_msg"]
            time.sleep(0.2)
        assert doc["run"] == "DONE", doc["progress_msg"]
        chat_id: str = ok("POST", "/chats", json={"name": "helpdesk", "dataset_ids": [dataset_id]})[
            "id"
        ]
        return chat_id


def test_openai_client(live_server: tuple[str, Path], api_key: str) -> None:
    url, _ = live_server
    chat_id = _knowledge_chat(url, api_key)
    question: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": "How many days of paid vacation?"}
    ]
    with openai.OpenAI(api_key=api_key, base_url=f"{url}/api/v1/openai/{chat_id}") as client:
        completion = client.chat.completions.create(model="model", messages=question, stream=False)
        with client.chat.completions.create(
            model="model", messages=question, stream=True, stream_options={"include_usage": True}
        ) as stream:
            chunks = list(stream)

    assert completion.object == "chat.completion"
    assert "25 days" in (completion.choices[0].message.content or "")
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )

    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk.id for chunk in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "25 days" in text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    assert chunks[-1].usage.total_tokens == completion.usage.total_tokens

    # RAGFlow's spelling of the route, and the reference asked for through extra_body.
    base_url = f"{url}/api/v1/chats_openai/{chat_id}"
    with openai.OpenAI(api_key=api_key, base_url=base_url) as client:
        with_reference = client.chat.completions.create(
            model="model", messages=question, stream=False, extra_body={"reference": True}
        )
    extra = with_reference.choices[0].message.model_extra or {}
    assert any(VACATION in chunk["content"] for chunk in extra["reference"]["chunks"])

    missing_chat = f"{url}/api/v1/openai/{'0' * 32}"
    with openai.OpenAI(api_key=api_key, base_url=missing_chat, max_retries=0) as client:
        with pytest.raises(openai.NotFoundError, match="own the chat"):
            client.chat.completions.create(model="model", messages=question, stream=False)
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="model", messages=question, stream=True)
        with pytest.raises(openai.BadRequestError, match="messages"):
            client.chat.completions.create(model="model", messages=[], stream=False)
    base_url = f"{url}/api/v1/openai/{chat_id}"
    with (
        openai.OpenAI(api_key="ragflow-wrong", base_url=base_url, max_retries=0) as client,
        pytest.raises(openai.AuthenticationError),
    ):
        client.chat.completions.create(model="model", messages=question, stream=False)
