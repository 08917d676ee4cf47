"""Datasets, their documents (with the uploaded bytes) and the chunks parsing makes (SPEC §4).

Field names follow RAGFlow's HTTP API reference (``chunk_method``, ``parser_config``,
``similarity_threshold``, ``vector_similarity_weight``, ``run``, ``progress_msg``, …).
"""

from __future__ import annotations

import copy
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column, validates

from ragprism.db.base import Base, IdMixin, TimestampMixin, UTCDateTime

DEFAULT_EMBEDDING_MODEL = "builtin-hashing@Builtin"
DEFAULT_EMBEDDING_DIMENSION = 384

_DEFAULT_PARSER_CONFIG: dict[str, Any] = {
    "chunk_token_num": 512,
    "delimiter": "\n",
    "overlapped_percent": 0,
    "auto_keywords": 0,
    "auto_questions": 0,
    "html4excel": False,
    "layout_recognize": "DeepDOC",
    "task_page_size": 12,
    "raptor": {"use_raptor": False},
    "graphrag": {"use_graphrag": False},
}

# MariaDB's TEXT/BLOB stop at 64 KiB: uploads and long texts need the bigger variants.
LONG_TEXT = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
LONG_BLOB = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
# The case-folded name must compare byte-wise on MariaDB too (its default collation also
# folds accents, which would make "café" and "cafe" collide).
_NAME_KEY = String(128).with_variant(
    mysql.VARCHAR(128, collation="utf8mb4_bin"), "mysql", "mariadb"
)


def default_parser_config() -> dict[str, Any]:
    """A fresh copy of the ``naive`` chunk method's default ``parser_config``."""
    return copy.deepcopy(_DEFAULT_PARSER_CONFIG)


def name_key(name: str) -> str:
    """The form dataset names are compared in: RAGFlow treats them case-insensitively."""
    return name.strip().casefold()


class Permission(StrEnum):
    """Who may manage a dataset: its creator only, or every member of the tenant."""

    ME = "me"
    TEAM = "team"


class DocumentRun(StrEnum):
    """A document's parsing state; RAGFlow also accepts the digits ``"0"``..``"4"``."""

    UNSTART = "UNSTART"
    RUNNING = "RUNNING"
    CANCEL = "CANCEL"
    DONE = "DONE"
    FAIL = "FAIL"

    @classmethod
    def parse(cls, value: str) -> DocumentRun:
        """``"RUNNING"``, ``"running"`` or ``"1"`` → ``RUNNING``; ``ValueError`` otherwise."""
        text = value.strip()
        if text.isdigit() and int(text) < len(_RUN_ORDER):
            return _RUN_ORDER[int(text)]
        return cls(text.upper())


_RUN_ORDER = list(DocumentRun)


class Dataset(IdMixin, TimestampMixin, Base):
    """A knowledge base: documents sharing one embedding model and retrieval defaults."""

    __tablename__ = "dataset"
    __table_args__ = (UniqueConstraint("tenant_id", "name_key", name="uq_dataset_tenant_name"),)

    tenant_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(128))
    # Set from ``name`` by the validator below; unique per tenant.
    name_key: Mapped[str] = mapped_column(_NAME_KEY)
    avatar: Mapped[str | None] = mapped_column(Text, default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    language: Mapped[str] = mapped_column(String(32), default="English")
    embedding_model: Mapped[str] = mapped_column(String(255), default=DEFAULT_EMBEDDING_MODEL)
    embedding_dimension: Mapped[int] = mapped_column(Integer, default=DEFAULT_EMBEDDING_DIMENSION)
    permission: Mapped[str] = mapped_column(String(16), default=Permission.ME.value)
    chunk_method: Mapped[str] = mapped_column(String(32), default="naive")
    parser_config: Mapped[dict[str, Any]] = mapped_column(JSON, default=default_parser_config)
    pagerank: Mapped[int] = mapped_column(Integer, default=0)
    similarity_threshold: Mapped[float] = mapped_column(Float, default=0.2)
    vector_similarity_weight: Mapped[float] = mapped_column(Float, default=0.3)
    document_count: Mapped[int] = mapped_column(Integer, default=0)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    token_num: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str] = mapped_column(String(32))

    @validates("name")
    def _keep_name_key(self, _key: str, value: str) -> str:
        self.name_key = name_key(value)
        return value


# RAGFlow's ``FileType.VIRTUAL``: a document created empty (``type=empty``), with no file;
# its chunks are added and edited by hand, it is never parsed.
VIRTUAL_DOCUMENT_TYPE = "virtual"


class Document(IdMixin, TimestampMixin, Base):
    """An uploaded file and its parsing state; also the parse queue's unit of work.

    A *virtual* document (``type`` ``"virtual"``) has no file: no ``DocumentBlob``, size 0.
    """

    __tablename__ = "document"
    __table_args__ = (Index("ix_document_parse_queue", "run", "claim_expires_at"),)

    tenant_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    dataset_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("dataset.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16), default="doc")
    suffix: Mapped[str] = mapped_column(String(16), default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    content_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of the bytes
    chunk_method: Mapped[str] = mapped_column(String(32), default="naive")
    parser_config: Mapped[dict[str, Any]] = mapped_column(JSON, default=default_parser_config)
    meta_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # RAGFlow's ``status``/``enabled``: whether the document takes part in retrieval.
    enabled: Mapped[bool] = mapped_column(default=True)
    run: Mapped[str] = mapped_column(String(16), default=DocumentRun.UNSTART.value)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    progress_msg: Mapped[str] = mapped_column(LONG_TEXT, default="")
    process_begin_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    process_duration: Mapped[float] = mapped_column(Float, default=0.0)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    token_count: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str] = mapped_column(String(32))
    # The parse queue's lease: which worker holds the document, and until when.
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    parse_attempts: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def is_virtual(self) -> bool:
        """Created empty, without a file: its chunks are made by hand, never by parsing."""
        return self.type == VIRTUAL_DOCUMENT_TYPE


class DocumentBlob(Base):
    """The uploaded bytes of a document, apart so listing documents never loads them."""

    __tablename__ = "document_blob"

    document_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("document.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LONG_BLOB)


class Chunk(IdMixin, TimestampMixin, Base):
    """A piece of a document, as retrieval returns it.

    ``content_tokens``/``keyword_tokens`` hold the text analysed for full-text search
    (``ragprism.retrieval.analysis``) and ``embedding`` the vector as little-endian
    float32 bytes; ``ragprism.retrieval`` writes all three. The search indexes over them
    are per backend (SQLite FTS5, a PostgreSQL tsvector, pgvector tables).
    """

    __tablename__ = "chunk"

    tenant_id: Mapped[str] = mapped_column(String(32))
    dataset_id: Mapped[str] = mapped_column(String(32), index=True)
    document_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("document.id", ondelete="CASCADE"), index=True
    )
    content: Mapped[str] = mapped_column(LONG_TEXT)
    content_tokens: Mapped[str] = mapped_column(LONG_TEXT, default="", deferred=True)
    keyword_tokens: Mapped[str] = mapped_column(LONG_TEXT, default="", deferred=True)
    important_keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    token_count: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    page: Mapped[int | None] = mapped_column(Integer, default=None)
    available: Mapped[bool] = mapped_column(default=True)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, default=None, deferred=True)


class ChunkIndexVersion(Base):
    """A counter per dataset that database triggers bump on every chunk write.

    Search caches (the in-memory embedding matrices of ``ragprism.retrieval``) compare it
    to notice writes made by any process, including cascaded deletes.
    """

    __tablename__ = "chunk_index_version"

    dataset_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(BigInteger, default=0)
