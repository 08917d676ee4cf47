"""repositories/datasets.py on SQLite, PostgreSQL and MariaDB: datasets, documents,
chunks, counters and the parse queue (including concurrent claiming)."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from ragprism.db import Database, new_id, utcnow
from ragprism.errors import Conflict, NotFound
from ragprism.models import Chunk, Dataset, Document, DocumentBlob, DocumentRun, Tenant
from ragprism.repositories import datasets as repo
from ragprism.retrieval import ChunkRecord, make_store


def make_tenant(database: Database) -> str:
    tenant_id = new_id()
    with database.session() as session:
        session.add(Tenant(id=tenant_id, name="t"))
    return tenant_id


def make_dataset(database: Database, tenant_id: str, name: str | None = None) -> str:
    with database.session() as session:
        return repo.create_dataset(
            session, tenant_id, name=name or new_id(), created_by=tenant_id
        ).id


def make_document(database: Database, tenant_id: str, dataset_id: str, name: str = "a.txt") -> str:
    with database.session() as session:
        return repo.create_document(
            session, tenant_id, dataset_id, name=name, data=b"hello", created_by=tenant_id
        ).id


# -- datasets ----------------------------------------------------------------------------


def test_create_dataset_with_ragflow_defaults(database: Database) -> None:
    tenant_id = make_tenant(database)
    with database.session() as session:
        dataset = repo.create_dataset(session, tenant_id, name="Manuals", created_by=tenant_id)
    with database.session() as session:
        stored = repo.get_dataset(session, tenant_id, dataset.id)
    assert stored is not None
    assert len(stored.id) == 32
    assert (stored.name, stored.permission, stored.chunk_method) == ("Manuals", "me", "naive")
    assert stored.embedding_model == "builtin-hashing@Builtin"
    assert stored.embedding_dimension == 384
    assert stored.parser_config["chunk_token_num"] == 512
    assert stored.parser_config["delimiter"] == "\n"
    assert stored.parser_config["overlapped_percent"] == 0
    assert (stored.similarity_threshold, stored.vector_similarity_weight) == (0.2, 0.3)
    assert (stored.document_count, stored.chunk_count, stored.token_num) == (0, 0, 0)
    assert stored.create_time.tzinfo is not None


def test_dataset_names_are_unique_per_tenant_in_any_case(database: Database) -> None:
    tenant_id, other_tenant = make_tenant(database), make_tenant(database)
    first = make_dataset(database, tenant_id, "Ünïcode Manuals")
    make_dataset(database, other_tenant, "Ünïcode Manuals")  # another tenant: fine
    with database.session() as session, pytest.raises(Conflict):
        repo.create_dataset(session, tenant_id, name="üNÏCODE manuals", created_by=tenant_id)
    second = make_dataset(database, tenant_id, "Other")
    with database.session() as session, pytest.raises(Conflict):
        repo.update_dataset(session, tenant_id, second, name="ünïcode MANUALS")
    with database.session() as session:
        renamed = repo.update_dataset(session, tenant_id, first, name="ÜNÏCODE MANUALS")
        assert renamed is not None
        assert renamed.name == "ÜNÏCODE MANUALS"
        found = repo.get_dataset_by_name(session, tenant_id, "ünïcode manuals")
        assert found is not None
        assert found.id == first


def test_list_datasets_pages_orders_and_filters(database: Database) -> None:
    tenant_id, other_tenant = make_tenant(database), make_tenant(database)
    ids = [make_dataset(database, tenant_id, f"set {i}") for i in range(5)]
    make_dataset(database, other_tenant, "set 0")
    start = utcnow() - timedelta(days=1)
    with database.session() as session:  # distinct times, even at MariaDB's 1 s precision
        for i, dataset_id in enumerate(ids):
            session.execute(
                update(Dataset)
                .where(Dataset.id == dataset_id)
                .values(
                    create_time=start + timedelta(minutes=i),
                    update_time=start - timedelta(minutes=i),
                )
            )
    with database.session() as session:
        page, total = repo.list_datasets(session, tenant_id, page=1, page_size=2)
        assert total == 5
        assert [d.id for d in page] == [ids[4], ids[3]]
        page, _ = repo.list_datasets(session, tenant_id, page=3, page_size=2)
        assert [d.id for d in page] == [ids[0]]
        page, _ = repo.list_datasets(session, tenant_id, desc=False, page_size=2)
        assert [d.id for d in page] == [ids[0], ids[1]]
        page, _ = repo.list_datasets(session, tenant_id, orderby="update_time", page_size=1)
        assert [d.id for d in page] == [ids[0]]
        page, total = repo.list_datasets(session, tenant_id, name="SET 3")
        assert ([d.id for d in page], total) == ([ids[3]], 1)
        page, total = repo.list_datasets(session, tenant_id, dataset_id=ids[2])
        assert ([d.id for d in page], total) == ([ids[2]], 1)
        assert repo.list_datasets(session, tenant_id, page=9)[0] == []


def test_another_tenants_dataset_behaves_as_missing(database: Database) -> None:
    owner, stranger = make_tenant(database), make_tenant(database)
    dataset_id = make_dataset(database, owner, "private")
    with database.session() as session:
        assert repo.get_dataset(session, stranger, dataset_id) is None
        assert repo.get_dataset_by_name(session, stranger, "private") is None
        assert repo.update_dataset(session, stranger, dataset_id, name="mine") is None
        assert repo.delete_datasets(session, stranger, [dataset_id]) == []
        assert repo.list_datasets(session, stranger, dataset_id=dataset_id) == ([], 0)
        assert repo.refresh_counts(session, stranger, dataset_id) is False
        with pytest.raises(NotFound):
            repo.create_document(
                session, stranger, dataset_id, name="x.txt", data=b"x", created_by=stranger
            )
    with database.session() as session:
        dataset = repo.get_dataset(session, owner, dataset_id)
        assert dataset is not None
        assert dataset.name == "private"


def test_delete_datasets_takes_their_documents_along(database: Database) -> None:
    tenant_id, other_tenant = make_tenant(database), make_tenant(database)
    kept = make_dataset(database, other_tenant)
    first, second = make_dataset(database, tenant_id), make_dataset(database, tenant_id)
    document_id = make_document(database, tenant_id, first)
    with database.session() as session:
        assert repo.delete_datasets(session, tenant_id, [first, kept, "f" * 32]) == [first]
    with database.session() as session:
        assert session.get(Document, document_id) is None
        assert session.get(DocumentBlob, document_id) is None
        assert sorted(repo.delete_datasets(session, tenant_id, None)) == [second]
        assert repo.get_dataset(session, other_tenant, kept) is not None


# -- documents ---------------------------------------------------------------------------


def test_documents_store_their_bytes(database: Database) -> None:
    tenant_id, stranger = make_tenant(database), make_tenant(database)
    dataset_id = make_dataset(database, tenant_id)
    data = bytes(range(256)) * 4096  # 1 MiB, every byte value
    with database.session() as session:
        document = repo.create_document(
            session,
            tenant_id,
            dataset_id,
            name="Report.PDF",
            data=data,
            created_by=tenant_id,
            meta_fields={"author": "bob"},
        )
    with database.session() as session:
        stored = repo.get_document(session, tenant_id, document.id, dataset_id=dataset_id)
        assert stored is not None
        assert (stored.name, stored.suffix, stored.type, stored.size) == (
            "Report.PDF",
            "pdf",
            "pdf",
            len(data),
        )
        assert stored.content_hash == hashlib.sha256(data).hexdigest()
        assert (stored.run, stored.progress, stored.chunk_method) == ("UNSTART", 0.0, "naive")
        assert stored.meta_fields == {"author": "bob"}
        assert stored.parser_config["chunk_token_num"] == 512
        assert repo.get_document_blob(session, tenant_id, document.id) == data
        assert repo.get_document_blob(session, stranger, document.id) is None
        assert repo.get_document(session, stranger, document.id) is None
        assert repo.get_document(session, tenant_id, document.id, dataset_id=new_id()) is None
        dataset = repo.get_dataset(session, tenant_id, dataset_id)
        assert dataset is not None
        assert dataset.document_count == 1


def test_virtual_documents_have_no_file_and_are_never_queued(database: Database) -> None:
    tenant_id = make_tenant(database)
    dataset_id = make_dataset(database, tenant_id)
    real = make_document(database, tenant_id, dataset_id, "notes.txt")
    with database.session() as session:
        virtual = repo.create_document(
            session, tenant_id, dataset_id, name="notes.txt", data=None, created_by=tenant_id
        ).id
    with database.session() as session:
        document = repo.get_document(session, tenant_id, virtual)
        assert document is not None
        assert (document.name, document.type, document.size) == ("notes(1).txt", "virtual", 0)
        assert document.is_virtual
        assert repo.get_document_blob(session, tenant_id, virtual) is None
        dataset = repo.get_dataset(session, tenant_id, dataset_id)
        assert dataset is not None
        assert dataset.document_count == 2
        assert repo.start_parsing(session, tenant_id, dataset_id, [real, virtual]) == [real]
    assert claim(database, "w1") == real
    assert claim(database, "w2") is None
    with database.session() as session:
        assert session.get(Document, virtual).run == "UNSTART"  # type: ignore[union-attr]


def test_duplicate_document_names_are_numbered(database: Database) -> None:
    tenant_id = make_tenant(database)
    dataset_id = make_dataset(database, tenant_id)
    names = [_document_name(database, tenant_id, dataset_id, "notes.txt") for _ in range(3)]
    assert names == ["notes.txt", "notes(1).txt", "notes(2).txt"]
    assert _document_name(database, tenant_id, dataset_id, "100%_done") == "100%_done"
    assert _document_name(database, tenant_id, dataset_id, "100%_done") == "100%_done(1)"


def _document_name(database: Database, tenant_id: str, dataset_id: str, name: str) -> str:
    document_id = make_document(database, tenant_id, dataset_id, name)
    with database.session() as session:
        document = repo.get_document(session, tenant_id, document_id)
        assert document is not None
        return document.name


def test_list_documents_filters_and_pages(database: Database) -> None:
    tenant_id = make_tenant(database)
    dataset_id = make_dataset(database, tenant_id)
    names = ["alpha.txt", "Beta.pdf", "gamma_ALPHA.md", "50% off.txt"]
    ids = [make_document(database, tenant_id, dataset_id, name) for name in names]
    start = (utcnow() - timedelta(days=1)).replace(microsecond=0)  # MariaDB keeps seconds
    with database.session() as session:
        for i, document_id in enumerate(ids):
            session.execute(
                update(Document)
                .where(Document.id == document_id)
                .values(create_time=start + timedelta(minutes=i))
            )
        session.execute(update(Document).where(Document.id == ids[1]).values(run="DONE"))
    with database.session() as session:

        def listed(**filters: object) -> list[str]:
            found, total = repo.list_documents(session, tenant_id, dataset_id, **filters)  # type: ignore[arg-type]
            assert total >= len(found)
            return [d.name for d in found]

        assert listed() == list(reversed(names))
        assert listed(desc=False, page=2, page_size=3) == ["50% off.txt"]
        assert listed(keywords="alpha") == ["gamma_ALPHA.md", "alpha.txt"]
        assert listed(keywords="%") == ["50% off.txt"]
        assert listed(keywords="_") == ["gamma_ALPHA.md"]
        assert listed(suffixes=["txt", ".PDF"]) == ["50% off.txt", "Beta.pdf", "alpha.txt"]
        assert listed(runs=[DocumentRun.DONE]) == ["Beta.pdf"]
        assert listed(runs=[DocumentRun.parse("0")]) == [
            "50% off.txt",
            "gamma_ALPHA.md",
            "alpha.txt",
        ]
        assert listed(name="Beta.pdf", document_id=ids[1]) == ["Beta.pdf"]
        assert listed(created_from=start + timedelta(minutes=2)) == [
            "50% off.txt",
            "gamma_ALPHA.md",
        ]
        assert listed(created_to=start) == ["alpha.txt"]
        assert repo.list_documents(session, tenant_id, new_id()) == ([], 0)
        assert repo.list_documents(session, new_id(), dataset_id) == ([], 0)


def test_update_and_delete_documents(database: Database) -> None:
    tenant_id, stranger = make_tenant(database), make_tenant(database)
    dataset_id = make_dataset(database, tenant_id)
    first = make_document(database, tenant_id, dataset_id, "first.txt")
    second = make_document(database, tenant_id, dataset_id, "second.txt")
    with database.session() as session:
        with pytest.raises(Conflict):
            repo.update_document(session, tenant_id, first, name="second.txt")
        assert repo.update_document(session, stranger, first, name="x.md") is None
        updated = repo.update_document(
            session, tenant_id, first, name="first.md", meta_fields={"k": "v"}, enabled=False
        )
        assert updated is not None
        assert (updated.name, updated.suffix, updated.meta_fields, updated.enabled) == (
            "first.md",
            "md",
            {"k": "v"},
            False,
        )
        assert repo.delete_documents(session, stranger, dataset_id, [first]) == []
        assert repo.delete_documents(session, tenant_id, dataset_id, [first, new_id()]) == [first]
    with database.session() as session:
        dataset = repo.get_dataset(session, tenant_id, dataset_id)
        assert dataset is not None
        assert dataset.document_count == 1
        assert repo.get_document_blob(session, tenant_id, first) is None
        assert repo.delete_documents(session, tenant_id, dataset_id, None) == [second]


# -- chunks and counters -----------------------------------------------------------------


def test_chunks_list_in_document_order_with_keyword_filter(database: Database) -> None:
    tenant_id, stranger = make_tenant(database), make_tenant(database)
    dataset_id = make_dataset(database, tenant_id)
    document_id = make_document(database, tenant_id, dataset_id)
    contents = ["First Section", "second section", "appendix", "100% coverage"]
    records = [
        ChunkRecord(
            id=new_id(),
            tenant_id=tenant_id,
            dataset_id=dataset_id,
            document_id=document_id,
            content=content,
            embedding=[1.0, float(i)],
            position=len(contents) - i,
            token_count=10 * (i + 1),
        )
        for i, content in enumerate(contents)
    ]
    make_store(database).add(records)
    with database.session() as session:
        chunks, total = repo.list_chunks(session, tenant_id, dataset_id, document_id)
        assert total == 4
        assert [c.content for c in chunks] == list(reversed(contents))
        page, total = repo.list_chunks(
            session, tenant_id, dataset_id, document_id, keywords="SECTION", page=2, page_size=1
        )
        assert ([c.content for c in page], total) == (["First Section"], 2)
        assert repo.list_chunks(session, tenant_id, dataset_id, document_id, keywords="%")[1] == 1
        one = repo.list_chunks(session, tenant_id, dataset_id, document_id, chunk_id=records[2].id)
        assert [c.content for c in one[0]] == ["appendix"]
        assert repo.list_chunks(session, stranger, dataset_id, document_id) == ([], 0)
        chunk = repo.get_chunk(session, tenant_id, records[0].id, document_id=document_id)
        assert chunk is not None
        assert (chunk.token_count, chunk.available, chunk.important_keywords) == (10, True, [])
        assert repo.get_chunk(session, stranger, records[0].id) is None

        assert repo.add_chunk_counts(session, tenant_id, document_id, chunks=4, tokens=100)
        assert not repo.add_chunk_counts(session, stranger, document_id, chunks=4, tokens=100)
    with database.session() as session:
        document = repo.get_document(session, tenant_id, document_id)
        dataset = repo.get_dataset(session, tenant_id, dataset_id)
        assert document is not None
        assert dataset is not None
        assert (document.chunk_count, document.token_count) == (4, 100)
        assert (dataset.document_count, dataset.chunk_count, dataset.token_num) == (1, 4, 100)
        session.execute(update(Dataset).values(chunk_count=99, document_count=7))
        assert repo.refresh_counts(session, tenant_id, dataset_id)
    with database.session() as session:
        dataset = repo.get_dataset(session, tenant_id, dataset_id)
        assert dataset is not None
        assert (dataset.document_count, dataset.chunk_count, dataset.token_num) == (1, 4, 100)
        assert repo.delete_documents(session, tenant_id, dataset_id, [document_id]) == [document_id]
    with database.session() as session:
        assert session.scalars(select(Chunk.id)).all() == []
        dataset = repo.get_dataset(session, tenant_id, dataset_id)
        assert dataset is not None
        assert (dataset.document_count, dataset.chunk_count, dataset.token_num) == (0, 0, 0)


# -- parse queue -------------------------------------------------------------------------


def queued_documents(database: Database, count: int) -> tuple[str, str, list[str]]:
    tenant_id = make_tenant(database)
    dataset_id = make_dataset(database, tenant_id)
    ids = [make_document(database, tenant_id, dataset_id, f"{i}.txt") for i in range(count)]
    with database.session() as session:
        assert sorted(repo.start_parsing(session, tenant_id, dataset_id, ids)) == sorted(ids)
    return tenant_id, dataset_id, ids


def claim(database: Database, worker: str, lease: float = 60) -> str | None:
    with database.session() as session:
        document = repo.claim_next_document(session, worker, lease)
        return None if document is None else document.id


def test_only_running_unclaimed_documents_are_claimed(database: Database) -> None:
    tenant_id, dataset_id, ids = queued_documents(database, 2)
    idle = make_document(database, tenant_id, dataset_id, "idle.txt")  # UNSTART

    first, second = claim(database, "w1"), claim(database, "w2")
    assert {first, second} == set(ids)
    assert claim(database, "w3") is None
    with database.session() as session:
        document = session.get(Document, first)
        assert document is not None
        assert (document.claimed_by, document.parse_attempts) == ("w1", 1)
        assert document.claim_expires_at is not None
        assert document.claim_expires_at > utcnow()
        assert session.get(Document, idle).claimed_by is None  # type: ignore[union-attr]


def test_expired_claims_are_taken_over(database: Database) -> None:
    _, _, [document_id] = queued_documents(database, 1)
    assert claim(database, "crashed") == document_id
    with database.session() as session:
        assert repo.renew_claim(session, "crashed", document_id, 60)
        session.execute(
            update(Document)
            .where(Document.id == document_id)
            .values(claim_expires_at=utcnow() - timedelta(seconds=5))
        )
    assert claim(database, "rescuer") == document_id
    with database.session() as session:
        assert not repo.renew_claim(session, "crashed", document_id, 60)
        assert not repo.release_claim(session, "crashed", document_id, run=DocumentRun.FAIL)
        assert repo.renew_claim(session, "rescuer", document_id, 60)
        assert repo.release_claim(session, "rescuer", document_id, run=DocumentRun.DONE)
    with database.session() as session:
        document = session.get(Document, document_id)
        assert document is not None
        assert (document.run, document.claimed_by, document.claim_expires_at) == (
            "DONE",
            None,
            None,
        )
        assert document.parse_attempts == 2
    assert claim(database, "anyone") is None


def test_stopping_and_restarting_revoke_the_claim(database: Database) -> None:
    tenant_id, dataset_id, [document_id] = queued_documents(database, 1)
    stranger = make_tenant(database)
    assert claim(database, "worker") == document_id
    with database.session() as session:
        assert repo.stop_parsing(session, stranger, dataset_id, [document_id]) == []
        assert repo.stop_parsing(session, tenant_id, dataset_id, [document_id]) == [document_id]
        assert not repo.renew_claim(session, "worker", document_id, 60)
    assert claim(database, "worker") is None
    with database.session() as session:
        repo.start_parsing(session, tenant_id, dataset_id, [document_id])
    assert claim(database, "second") == document_id


def test_concurrent_workers_claim_each_document_exactly_once(database: Database) -> None:
    _, _, ids = queued_documents(database, 40)
    claimed: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def work(worker: str) -> None:
        try:
            start.wait()
            while (document_id := claim(database, worker)) is not None:
                with lock:
                    claimed.append(document_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"worker-{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert Counter(claimed) == Counter(ids)  # all claimed, none twice
    with database.session() as session:
        attempts = session.scalars(select(Document.parse_attempts).where(Document.id.in_(ids)))
        assert set(attempts) == {1}
