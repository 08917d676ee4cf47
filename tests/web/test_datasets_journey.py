"""The Datasets page of issue 11 in the browser: create a dataset, upload a txt (dropped),
a PDF and a DOCX (picked), parse them and watch them reach done, disable a chunk, and test
retrieval."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest

from tests.support.answer_corpus import PARAGRAPHS, docx_bytes, pdf_bytes
from tests.web.conftest import (
    WebServer,
    assert_accessible,
    register,
    screenshot,
    unique_email,
)
from tests.web.journeys import expect, login_token

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]


def drop_file(page: Any, target: Any, name: str, data: bytes) -> None:
    """Drops a file on ``target`` as a drag from the desktop does (a DataTransfer with it)."""
    transfer = page.evaluate_handle(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, {type: 'text/plain'}));
            return transfer;
        }""",
        [name, base64.b64encode(data).decode()],
    )
    target.dispatch_event("dragover", {"dataTransfer": transfer})
    target.dispatch_event("drop", {"dataTransfer": transfer})


def test_dataset_upload_parse_chunks_and_retrieval(context: Any, web_server: WebServer) -> None:
    email = unique_email("datasets")
    register(web_server, email)
    token = login_token(web_server, email)
    context.add_init_script(f"localStorage.setItem('ragprism.token', {token!r})")
    page = context.new_page()
    page.goto(web_server.url + "/settings")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Datasets").click()
    expect(page.get_by_role("heading", name="Datasets", level=1)).to_be_visible()
    expect(page.get_by_text("Create a dataset to upload documents.")).to_be_visible()

    # Create, with small chunks so that each file gives several.
    page.get_by_role("button", name="New dataset").click()
    dialog = page.get_by_role("dialog", name="New dataset")
    dialog.get_by_label("Name").fill("Handbook")
    dialog.get_by_label("Chunk size (tokens)").fill("64")
    dialog.get_by_role("button", name="Create dataset").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", name="Handbook", level=2)).to_be_visible()

    # One file dropped, two picked; a file of an unsupported type is refused before upload.
    drop_file(page, page.get_by_text("Drop files here, or").locator(".."), "notes.txt",
              "\n\n".join(PARAGRAPHS).encode())  # fmt: skip
    page.get_by_label("Files to upload").set_input_files(
        [
            {"name": "handbook.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()},
            {
                "name": "handbook.docx",
                "mimeType": "application/vnd.openxmlformats-officedocument"
                ".wordprocessingml.document",
                "buffer": docx_bytes(),
            },
            {"name": "legacy.doc", "mimeType": "application/msword", "buffer": b"old"},
        ]
    )
    uploads = page.get_by_role("list", name="Uploads")
    expect(uploads.get_by_role("alert")).to_have_text(re.compile(r"Refused: \.doc files"))
    documents = page.get_by_role("table", name="Documents of this dataset")
    for name in ("notes.txt", "handbook.pdf", "handbook.docx"):
        expect(documents.get_by_role("row", name=re.compile(re.escape(name)))).to_contain_text(
            "Not parsed"
        )
    expect(uploads.get_by_text("Uploaded")).to_have_count(3)
    assert_accessible(page, "datasets page with uploads")

    page.get_by_role("button", name="Parse all new").click()
    for name in ("notes.txt", "handbook.pdf", "handbook.docx"):
        expect(documents.get_by_role("row", name=re.compile(re.escape(name)))).to_contain_text(
            re.compile(r"Done · \d+ chunks"), timeout=120_000
        )
    screenshot(page, "datasets")

    # The chunks of one document: search, then disable the first hit.
    page.get_by_role("button", name="Chunks of notes.txt").click()
    drawer = page.get_by_role("dialog", name="Chunks of notes.txt")
    drawer.get_by_label("Search chunks").fill("laptops")
    drawer.get_by_role("button", name="Search").click()
    expect(drawer.get_by_role("status")).to_contain_text("matching “laptops”")
    first = drawer.get_by_role("listitem", name="Chunk 1")
    expect(first).to_contain_text("encrypted")
    expect(first).to_contain_text("Keywords:")
    enabled = first.get_by_role("checkbox", name="Enabled (chunk 1)")
    expect(enabled).to_be_checked()
    enabled.uncheck()
    expect(enabled).not_to_be_checked()
    # Edit its text: the server re-embeds and re-indexes it.
    first.get_by_role("button", name="Edit chunk 1").click()
    editor = first.get_by_label("Text of chunk 1")
    editor.fill(editor.input_value() + " Aardvarks guard the server room.")
    first.get_by_role("button", name="Save chunk 1").click()
    expect(first).to_contain_text("Aardvarks guard the server room.")
    expect(first.get_by_role("button", name="Edit chunk 1")).to_be_focused()
    assert_accessible(page, "chunk browser")
    screenshot(page, "datasets-chunks")
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()

    # The server took the chunk out of retrieval.
    headers = {"Authorization": f"Bearer {token}"}
    dataset = httpx.get(web_server.url + "/api/v1/datasets", headers=headers).json()["data"][0]
    docs = httpx.get(
        f"{web_server.url}/api/v1/datasets/{dataset['id']}/documents", headers=headers
    ).json()["data"]["docs"]
    notes = next(doc for doc in docs if doc["name"] == "notes.txt")
    chunks = httpx.get(
        f"{web_server.url}/api/v1/datasets/{dataset['id']}/documents/{notes['id']}/chunks",
        headers=headers,
        params={"keywords": "laptops"},
    ).json()["data"]["chunks"]
    assert chunks[0]["available"] is False
    assert "Aardvarks guard the server room." in chunks[0]["content"]

    # Retrieval test: a hit with its similarity split and the matched terms marked.
    panel = page.get_by_role("region", name="Retrieval test")
    panel.get_by_label("Question").fill("How many days of paid vacation per year?")
    panel.get_by_role("button", name="Test retrieval").click()
    hits = panel.get_by_role("list", name="Hits")
    first_hit = hits.get_by_role("listitem").first
    split = re.compile(r"similarity [\d.]+ \(vector [\d.]+, term [\d.]+\)")
    expect(first_hit).to_contain_text(split)
    expect(first_hit.locator("mark").first).to_be_visible()
    expect(hits).to_contain_text("twenty-five days")
    screenshot(page, "datasets-retrieval")

    # Rename, then delete after confirming.
    datasets = page.get_by_role("navigation", name="Datasets")
    datasets.get_by_role("button", name="Edit Handbook").click()
    dialog = page.get_by_role("dialog", name="Edit Handbook")
    expect(dialog.get_by_label("Chunk size (tokens)")).to_have_value("64")
    expect(dialog.get_by_label("Embedding model")).to_be_disabled()  # it has chunks
    dialog.get_by_label("Name").fill("Staff handbook")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Staff handbook", level=2)).to_be_visible()
    datasets.get_by_role("button", name="Delete Staff handbook").click()
    confirm = page.get_by_role("alertdialog", name="Delete Staff handbook?")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    confirm.get_by_role("button", name="Delete dataset").click()
    expect(page.get_by_text("Create a dataset to upload documents.")).to_be_visible()
    assert httpx.get(web_server.url + "/api/v1/datasets", headers=headers).json()["data"] == []
