"""Documents: upload, list, update, download, delete, and background parsing (SPEC §4)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ragprism.runtime import Runtime
from ragprism.settings import Settings
from tests.api.rag_support import MISSING_ID, Rag, docx_bytes, pdf_bytes
from tests.conftest import Accounts

FILES: dict[str, bytes] = {
    "notes.txt": b"Aardvarks dig burrows at night.\nThey eat termites and ants.",
    "guide.md": b"# Aardvarks\n\nAardvarks dig burrows at night.\n\n## Food\n\nTermites.",
    "page.html": b"<html><body><h1>Aardvarks</h1><p>Aardvarks dig burrows at night.</p>"
    b"<script>ignored()</script></body></html>",
    "table.csv": b"animal,habit\naardvark,digs burrows at night\nowl,hunts at night\n",
}


@pytest.fixture
def rag(client: TestClient, accounts: Accounts, state: Runtime) -> Rag:
    return Rag(client, accounts.user("ann@example.com"), state)


@pytest.mark.parametrize("name", [*FILES, "paper.pdf", "letter.docx"])
def test_upload_parse_and_retrieve_every_format(rag: Rag, name: str) -> None:
    data = FILES.get(name)
    if name.endswith(".pdf"):
        data = pdf_bytes("Aardvarks dig burrows at night.", "Second page about owls.")
    elif name.endswith(".docx"):
        data = docx_bytes("Aardvarks dig burrows at night.", "They eat termites.")
    assert data is not None
    dataset_id, document_id = rag.ingest(name, data)

    document = rag.document(dataset_id, document_id)
    assert document["run"] == "DONE"
    assert document["progress"] == 1.0
    assert document["chunk_count"] >= 1
    assert document["token_count"] > 0
    assert "Task has been received" in document["progress_msg"]
    assert "Done:" in document["progress_msg"]
    assert document["process_begin_at"] is not None

    found = rag.retrieve(question="aardvark burrows", dataset_ids=[dataset_id])
    assert found["total"] >= 1
    top = found["chunks"][0]
    assert "burrows" in top["content"]
    assert top["document_id"] == document_id
    assert top["document_keyword"] == name
    assert top["dataset_id"] == top["kb_id"] == dataset_id
    assert found["doc_aggs"] == [{"doc_name": name, "doc_id": document_id, "count": found["total"]}]

    dataset = rag.ok("GET", "/datasets", params={"id": dataset_id})[0]
    assert dataset["document_count"] == 1
    assert dataset["chunk_count"] == document["chunk_count"]
    assert dataset["token_num"] == document["token_count"]


def test_upload_several_files_and_list_them(rag: Rag) -> None:
    dataset_id = rag.dataset()["id"]
    uploaded = rag.upload(dataset_id, ("a.txt", b"alpha"), ("b.md", b"# beta"), ("a.txt", b"x"))
    assert [d["name"] for d in uploaded] == ["a.txt", "b.md", "a(1).txt"]
    first = uploaded[0]
    assert first["run"] == "UNSTART"
    assert first["size"] == 5
    assert first["type"] == "doc"
    assert first["chunk_method"] == "naive"
    assert first["dataset_id"] == dataset_id
    assert first["parser_config"]["chunk_token_num"] == 512

    listing = rag.ok("GET", f"/datasets/{dataset_id}/documents")
    assert listing["total"] == 3
    assert len(listing["docs"]) == 3
    page = rag.ok(
        "GET",
        f"/datasets/{dataset_id}/documents",
        params={"page": 2, "page_size": 2, "orderby": "create_time", "desc": "false"},
    )
    assert page["total"] == 3
    assert len(page["docs"]) == 1
    by_keyword = rag.ok("GET", f"/datasets/{dataset_id}/documents", params={"keywords": "B.M"})
    assert [d["name"] for d in by_keyword["docs"]] == ["b.md"]
    by_run = rag.ok("GET", f"/datasets/{dataset_id}/documents", params={"run": ["DONE"]})
    assert by_run["total"] == 0
    by_run = rag.ok("GET", f"/datasets/{dataset_id}/documents", params={"run": ["0", "DONE"]})
    assert by_run["total"] == 3
    bad = rag.call("GET", f"/datasets/{dataset_id}/documents", params={"run": "SLEEPING"})
    assert bad["code"] == 101
    assert "run" in bad["message"]


def test_upload_refuses_unsupported_empty_and_missing_files(rag: Rag) -> None:
    dataset_id = rag.dataset()["id"]
    path = f"/datasets/{dataset_id}/documents"
    body = rag.call("POST", path, files=[("file", ("photo.exe", b"MZ..."))])
    assert body["code"] == 101
    assert "photo.exe" in body["message"]
    body = rag.call("POST", path, files=[("file", ("ok.txt", b"fine")), ("file", ("e.txt", b""))])
    assert body["code"] == 102
    assert "e.txt" in body["message"]
    body = rag.call("POST", path, files=[("file", ("blank.md", b"  \n "))])
    assert body["code"] == 102
    assert "blank.md" in body["message"]
    body = rag.call("POST", path, data={"other": "x"})
    assert body["code"] == 101
    assert body["message"] == "No file part!"
    # Nothing of a refused batch was stored.
    assert rag.ok("GET", path)["total"] == 0


def test_upload_strips_directories_from_names(rag: Rag) -> None:
    dataset_id = rag.dataset()["id"]
    (document,) = rag.upload(dataset_id, ("../../etc/secret.txt", b"text"))
    assert document["name"] == "secret.txt"


@pytest.fixture
def small_uploads(settings: Settings) -> None:
    """Limits read when the app is built (the ``client`` fixture must come after)."""
    settings.max_body_bytes = 1024
    settings.max_upload_bytes = 4096


def test_upload_size_limit(small_uploads: None, rag: Rag) -> None:
    dataset_id = rag.dataset()["id"]
    path = f"/api/v1/datasets/{dataset_id}/documents"
    response = rag.client.post(
        path, headers=rag.headers, files=[("file", ("big.txt", b"x" * 10_000))]
    )
    assert response.status_code == 413
    assert response.json()["code"] == 101
    assert "4096" in response.json()["message"]
    # Bigger than a JSON body may be, within the upload limit.
    rag.upload(dataset_id, ("mid.txt", b"y" * 2048))
    assert rag.ok("GET", f"/datasets/{dataset_id}/documents")["total"] == 1


@pytest.fixture
def upload_limit_100k(settings: Settings) -> None:
    settings.max_upload_bytes = 100_000


def test_upload_limits_name_the_accepted_types_and_the_largest_file(
    upload_limit_100k: None, rag: Rag
) -> None:
    """What the web app refuses before uploading comes from the server (GET
    /v1/system/upload_limits): the extensions the upload route accepts and the largest
    file one request carries with its multipart framing."""
    assert rag.client.get("/v1/system/upload_limits").status_code == 401
    body = rag.client.get("/v1/system/upload_limits", headers=rag.headers).json()
    assert body["code"] == 0, body
    limits = body["data"]
    assert limits["max_request_bytes"] == 100_000
    assert 0 < limits["max_file_bytes"] < 100_000
    assert {".txt", ".pdf", ".docx", ".md", ".png"} <= set(limits["extensions"])
    assert ".doc" not in limits["extensions"]

    # A file of the largest size, alone in a request, is accepted.
    dataset_id = rag.dataset()["id"]
    rag.upload(dataset_id, ("largest.txt", b"z" * limits["max_file_bytes"]))
    for extension in limits["extensions"]:
        if extension in (".txt",):
            continue
        # Every listed extension passes the type check (content errors are 102, not 101).
        response = rag.client.post(
            f"/api/v1/datasets/{dataset_id}/documents",
            headers=rag.headers,
            files=[("file", (f"x{extension}", b"not really"))],
        )
        assert response.json()["code"] != 101, (extension, response.json())


def test_download_returns_the_original_bytes(rag: Rag) -> None:
    dataset_id = rag.dataset()["id"]
    (document,) = rag.upload(dataset_id, ("résumé.md", b"# Hello\n"))
    response = rag.client.get(
        f"/api/v1/datasets/{dataset_id}/documents/{document['id']}", headers=rag.headers
    )
    assert response.status_code == 200
    assert response.content == b"# Hello\n"
    assert response.headers["content-type"].startswith("text/markdown")
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9.md" in response.headers["content-disposition"]
    missing = rag.call("GET", f"/datasets/{dataset_id}/documents/{MISSING_ID}")
    assert missing["code"] == 102


def test_update_document(rag: Rag) -> None:
    dataset_id = rag.dataset()["id"]
    first, _second = rag.upload(dataset_id, ("a.txt", b"alpha words"), ("b.txt", b"beta"))
    path = f"/datasets/{dataset_id}/documents/{first['id']}"
    updated = rag.ok(
        "PUT",
        path,
        json={
            "name": "renamed.txt",
            "meta_fields": {"author": "ann", "year": 2024, "tags": ["x", "y"]},
            "parser_config": {"chunk_token_num": 64},
        },
    )
    assert updated["name"] == "renamed.txt"
    assert updated["meta_fields"] == {"author": "ann", "year": 2024, "tags": ["x", "y"]}
    assert updated["parser_config"]["chunk_token_num"] == 64
    assert updated["parser_config"]["delimiter"] == "\n"  # merged, not replaced

    assert rag.call("PUT", path, json={"name": "renamed.pdf"})["code"] == 101
    assert rag.call("PUT", path, json={"name": "b.txt"})["code"] == 102
    assert rag.call("PUT", path, json={"meta_fields": {"k": {"nested": 1}}})["code"] == 101
    assert rag.call("PUT", path, json={"parser_config": {"chunk_token_num": 0}})["code"] == 101
    assert rag.call("PUT", path, json={"chunk_method": "nonsense"})["code"] == 101
    assert rag.call("PUT", path, json={"surprise": 1})["code"] == 101

    rag.parse(dataset_id, first["id"])
    assert rag.document(dataset_id, first["id"])["chunk_count"] >= 1
    reset = rag.ok("PUT", path, json={"chunk_method": "one"})
    assert reset["run"] == "UNSTART"
    assert reset["chunk_count"] == 0
    assert rag.chunks(dataset_id, first["id"])["total"] == 0


def test_disabled_document_is_not_retrieved(rag: Rag) -> None:
    dataset_id, document_id = rag.ingest("a.txt", b"Aardvarks dig burrows.")
    rag.ok("PUT", f"/datasets/{dataset_id}/documents/{document_id}", json={"enabled": 0})
    assert rag.retrieve(question="aardvarks", dataset_ids=[dataset_id])["total"] == 0
    assert rag.parse(dataset_id, document_id) == {document_id: "DONE"}  # re-parsed: still off
    assert rag.retrieve(question="aardvarks", dataset_ids=[dataset_id])["total"] == 0
    doc = rag.ok("PUT", f"/datasets/{dataset_id}/documents/{document_id}", json={"enabled": 1})
    assert doc["status"] == "1"
    assert rag.retrieve(question="aardvarks", dataset_ids=[dataset_id])["total"] == 1


def test_delete_documents(rag: Rag) -> None:
    dataset_id = rag.dataset()["id"]
    a, b, _c = rag.upload(dataset_id, ("a.txt", b"apple"), ("b.txt", b"banana"), ("c.txt", b"c"))
    rag.parse(dataset_id, a["id"])
    path = f"/datasets/{dataset_id}/documents"
    missing = rag.call("DELETE", path, json={"ids": [b["id"], MISSING_ID]})
    assert missing["code"] == 102
    assert MISSING_ID in missing["message"]
    assert rag.ok("GET", path)["total"] == 3  # all or nothing
    rag.ok("DELETE", path, json={"ids": [a["id"]]})
    assert rag.retrieve(question="apple", dataset_ids=[dataset_id])["total"] == 0
    dataset = rag.ok("GET", "/datasets", params={"id": dataset_id})[0]
    assert dataset["document_count"] == 2
    assert dataset["chunk_count"] == 0
    rag.ok("DELETE", path, json={"ids": None})
    assert rag.ok("GET", path)["total"] == 0


def test_later_sdks_patch_and_delete_all(rag: Rag) -> None:
    """ragflow-sdk after 0.24 updates with PATCH and always sends ``delete_all``."""
    dataset_id = rag.dataset()["id"]
    a, _b = rag.upload(dataset_id, ("a.txt", b"apple"), ("b.txt", b"banana"))
    path = f"/datasets/{dataset_id}/documents"
    assert rag.ok("PATCH", f"{path}/{a['id']}", json={"name": "apple.txt"})["name"] == "apple.txt"
    assert rag.ok("DELETE", path, json={"ids": None, "delete_all": False}) == {"success_count": 0}
    body = {"ids": [a["id"]], "delete_all": False}
    assert rag.ok("DELETE", path, json=body) == {"success_count": 1}
    assert rag.ok("DELETE", path, json={"ids": None, "delete_all": True}) == {"success_count": 1}
    assert rag.ok("GET", path)["total"] == 0
