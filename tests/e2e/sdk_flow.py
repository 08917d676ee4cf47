"""The whole ``ragflow-sdk`` flow against a live server, run as a script so that each SDK
release imports in its own process::

    python -m tests.e2e.sdk_flow URL API_KEY

Both releases under test (0.24.0 and the latest) run the same steps; where the later
release's API differs (the chat assistant's fields and list), the step says so. Prints the
SDK's version when the flow passed.
"""

from __future__ import annotations

import itertools
import sys
import time
from importlib.metadata import version
from typing import Any

from tests.api.rag_support import docx_bytes, pdf_bytes

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


def _wait_parsed(dataset: Any, document_ids: list[str]) -> dict[str, Any]:
    """Poll the documents through the SDK until none is queued or running."""
    deadline = time.monotonic() + PARSE_DEADLINE_SECONDS
    while True:
        docs = {doc.id: doc for doc in dataset.list_documents(page_size=100)}
        if all(docs[i].run not in ("UNSTART", "RUNNING") for i in document_ids):
            return docs
        assert time.monotonic() < deadline, {i: docs[i].progress_msg for i in document_ids}
        time.sleep(0.2)


def run(rag: Any, later_api: bool) -> None:
    """Every step a user takes; ``later_api`` for ``ragflow-sdk`` after 0.24."""
    # The later SDK reads the chat list as {"chats": [...]}; ragprism answers so when the
    # query carries one of the later API's parameters (an empty ``keywords`` filters nothing).
    list_args: dict[str, Any] = {"keywords": ""} if later_api else {}

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
    assert found[0].document_name == "leave.txt"  # both releases read this field
    in_pdf = rag.retrieve(
        dataset_ids=[dataset.id], document_ids=[ids["parking.pdf"]], question="car park"
    )
    assert [chunk.document_id for chunk in in_pdf] == [ids["parking.pdf"]] * len(in_pdf)
    assert in_pdf
    assert "car park" in in_pdf[0].content

    # A chat assistant and its sessions, on the tenant's default (built-in) models.
    chat = rag.create_chat("helpdesk", dataset_ids=[dataset.id])
    assert chat.dataset_ids == [dataset.id]
    assert [c.id for c in rag.list_chats(name="helpdesk", **list_args)] == [chat.id]
    session = chat.create_session("vacation questions")
    assert session.name == "vacation questions"
    assert session.chat_id == chat.id

    answers = list(session.ask("How many days of paid vacation do employees get?"))
    assert len(answers) == 1
    answer = answers[0]
    assert "25 days" in answer.content
    assert answer.reference
    assert any(ref["document_id"] == txt.id for ref in answer.reference)

    # Current RAGFlow streams deltas: a client adds up the messages' content; the last
    # message has no text, only the reference.
    travel = "When are travel expenses reimbursed?"
    full = ""
    streamed = []
    for message in session.ask(travel, stream=True):
        full += message.content
        streamed.append(message)
    assert len(streamed) > 2
    assert "30 days" in full
    assert streamed[-1].content == ""
    assert any(ref["document_id"] == ids["travel.md"] for ref in streamed[-1].reference or [])
    # Callers written for earlier RAGFlow read each message as the answer so far: the SDK
    # forwards ``legacy=True`` to the server, which then sends that form.
    legacy = list(session.ask(travel, stream=True, legacy=True))
    assert len(legacy) > 1
    assert "30 days" in legacy[-1].content
    assert all(len(a.content) <= len(b.content) for a, b in itertools.pairwise(legacy))
    assert any(ref["document_id"] == ids["travel.md"] for ref in legacy[-1].reference or [])

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

    if later_api:  # RAGFlow's stored names, top-level retrieval settings
        chat.update({"name": "front desk", "top_n": 3, "llm_setting": {"temperature": 0.2}})
        (renamed,) = rag.list_chats(id=chat.id, **list_args)
        assert renamed.top_n == 3
        assert renamed.llm_setting.temperature == 0.2
        assert rag.get_chat(chat.id).name == "front desk"
    else:
        chat.update({"name": "front desk", "prompt": {"top_n": 3}})
        (renamed,) = rag.list_chats(id=chat.id)
        assert renamed.prompt.top_n == 3
    assert renamed.name == "front desk"
    rag.delete_chats(ids=[chat.id])
    assert rag.list_chats(**list_args) == []

    # Documents and datasets go.
    dataset.delete_documents(ids=[ids["printer.docx"]])
    assert ids["printer.docx"] not in {doc.id for doc in dataset.list_documents()}
    rag.delete_datasets(ids=[dataset.id])
    assert rag.list_datasets() == []


def main(url: str, api_key: str) -> None:
    from ragflow_sdk import RAGFlow  # whichever release this process's path holds

    sdk_version = version("ragflow-sdk")
    later_api = tuple(int(part) for part in sdk_version.split(".")[:2]) > (0, 24)
    run(RAGFlow(api_key=api_key, base_url=url), later_api)
    print(sdk_version)


if __name__ == "__main__":
    main(*sys.argv[1:3])
