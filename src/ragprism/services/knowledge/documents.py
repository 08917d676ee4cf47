"""A dataset's documents: upload (or create empty), list, update, download, delete; queue
and stop parsing.

Parsing itself runs in the background (``services.parse_worker``); this module only
moves documents in and out of the queue.
"""

from __future__ import annotations

import mimetypes
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ragprism.errors import DataError, InvalidArgument, NotFound
from ragprism.models import Document, DocumentRun
from ragprism.rag.images import IMAGE_EXTENSIONS, IMAGE_TYPES_LABEL, image_mime, is_image_name
from ragprism.rag.parsing import (
    SUPPORTED_EXTENSIONS,
    CorruptDocument,
    UnsupportedFormat,
    document_kind,
)
from ragprism.repositories import datasets as repo
from ragprism.repositories.datasets import DocumentFields, OrderBy
from ragprism.services.accounts.accounts import Principal
from ragprism.services.knowledge.chunks import document_in_dataset, drop_document_chunks
from ragprism.services.knowledge.datasets import CHUNK_METHODS, get, merged_parser_config
from ragprism.services.knowledge.metadata_filter import MetadataCondition, matching_document_ids

if TYPE_CHECKING:
    from ragprism.services.context import ServiceContext

MAX_NAME_BYTES = 255
UPLOAD_FRAMING_BYTES = 8192
"""Room left in a one-file multipart request for its boundaries and part headers."""
_META_SCALARS = (str, int, float, bool)


@dataclass(frozen=True)
class Upload:
    """One uploaded file as the route received it."""

    filename: str
    data: bytes


def clean_filename(raw: str, field: str | None = None) -> str:
    """The file's own name: no directories, no control characters, at most 255 bytes.

    The refusals (101) name ``field`` when the name came in one (not a file part)."""
    name = PurePosixPath(raw.replace("\\", "/")).name
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    if not name or name in (".", ".."):
        raise InvalidArgument(f"`{field}` must name a file" if field else "No file selected!")
    if len(name.encode()) > MAX_NAME_BYTES:
        prefix = f"`{field}`: " if field else ""
        raise InvalidArgument(
            f"{prefix}File name must be {MAX_NAME_BYTES} bytes or less: {name[:64]}…"
        )
    return name


def upload_limits(max_upload_bytes: int) -> dict[str, Any]:
    """What an upload may be, for clients that refuse files before sending them: the
    extensions read here (documents and images) and the largest file one request
    (``RAGPRISM_MAX_UPLOAD_BYTES``) carries with room for its multipart framing."""
    return {
        "extensions": sorted({*SUPPORTED_EXTENSIONS, *IMAGE_EXTENSIONS}),
        "max_file_bytes": max(1, max_upload_bytes - UPLOAD_FRAMING_BYTES),
        "max_request_bytes": max_upload_bytes,
    }


def _check_type(name: str) -> None:
    """``UnsupportedFormat`` (101), naming the file and the supported types, unless
    ``name`` is a document we can read or an image we can have described."""
    if is_image_name(name):
        return
    try:
        document_kind(name)
    except UnsupportedFormat as exc:
        raise UnsupportedFormat(name, exc.extension, also=IMAGE_EXTENSIONS) from None


def upload(
    session: Session, principal: Principal, dataset_id: str, files: Sequence[Upload]
) -> list[Document]:
    """Store the files as documents of the dataset; all of them or none.

    A file of an unsupported type (101), an empty one (102) or an image whose bytes are
    not one (102) is refused, naming it.
    """
    get(session, principal.tenant_id, dataset_id)
    if not files:
        raise InvalidArgument("No file part!")
    checked: list[Upload] = []
    for item in files:
        name = clean_filename(item.filename)
        _check_type(name)
        if not item.data.strip():
            raise DataError(f"{name}: the file is empty.")
        if is_image_name(name) and image_mime(item.data) is None:
            raise CorruptDocument(name, "image", f"it is not a {IMAGE_TYPES_LABEL} image")
        checked.append(Upload(name, item.data))
    return [
        repo.create_document(
            session,
            principal.tenant_id,
            dataset_id,
            name=u.filename,
            data=u.data,
            created_by=principal.user.id,
        )
        for u in checked
    ]


def create_empty(session: Session, principal: Principal, dataset_id: str, name: str) -> Document:
    """A virtual document (RAGFlow's ``type=empty``): a name without a file, whose chunks
    are added by hand. Upload's name rules apply (a taken name gets ``(1)``…), not its
    checks of the file's type and content: there is no file to parse."""
    get(session, principal.tenant_id, dataset_id)
    return repo.create_document(
        session,
        principal.tenant_id,
        dataset_id,
        name=clean_filename(name, "name"),
        data=None,
        created_by=principal.user.id,
    )


def list_page(
    session: Session,
    tenant_id: str,
    dataset_id: str,
    *,
    page: int,
    page_size: int,
    orderby: OrderBy,
    desc: bool,
    keywords: str | None,
    document_id: str | None,
    name: str | None,
    suffixes: Sequence[str],
    runs: Sequence[str],
    created_from: datetime | None,
    created_to: datetime | None,
    metadata_condition: MetadataCondition | None = None,
) -> tuple[list[Document], int]:
    """A page of the dataset's documents and the total; with a ``metadata_condition``
    only the documents whose ``meta_fields`` meet it."""
    get(session, tenant_id, dataset_id)
    among = None
    if metadata_condition is not None:
        among = matching_document_ids(session, tenant_id, [dataset_id], metadata_condition)
    try:
        parsed_runs = [DocumentRun.parse(r) for r in runs]
    except ValueError as exc:
        raise InvalidArgument(
            "run: each value must be one of UNSTART, RUNNING, CANCEL, DONE, FAIL or 0-4"
        ) from exc
    documents, total = repo.list_documents(
        session,
        tenant_id,
        dataset_id,
        page=page,
        page_size=page_size,
        orderby=orderby,
        desc=desc,
        keywords=keywords,
        document_id=document_id,
        name=name,
        suffixes=suffixes or None,
        runs=parsed_runs or None,
        created_from=created_from,
        created_to=created_to,
        among=among,
    )
    if total == 0 and document_id:
        raise NotFound(f"You don't own the document {document_id}.")
    return documents, total


def _check_meta_fields(meta: dict[str, Any]) -> dict[str, Any]:
    for key, value in meta.items():
        values = value if isinstance(value, list) else [value]
        if not key.strip() or not all(isinstance(v, _META_SCALARS) for v in values):
            raise InvalidArgument(
                f"meta_fields.{key}: values must be strings, numbers, booleans or lists of them"
            )
    return meta


def update(
    session: Session,
    state: ServiceContext,
    tenant_id: str,
    dataset_id: str,
    document_id: str,
    fields: dict[str, Any],
) -> Document:
    """Rename, set metadata, change the chunk method or parser config, enable/disable.

    A new chunk method makes the document unparsed again (its chunks are dropped) — not
    a virtual one, whose chunks were made by hand and would not come back.
    """
    _, document = document_in_dataset(session, tenant_id, dataset_id, document_id)
    values: DocumentFields = {}
    if fields.get("name") is not None:
        name = clean_filename(fields["name"], "name")
        if PurePosixPath(name).suffix.lower() != PurePosixPath(document.name).suffix.lower():
            raise InvalidArgument("The extension of file can't be changed")
        values["name"] = name
    if fields.get("meta_fields") is not None:
        values["meta_fields"] = _check_meta_fields(fields["meta_fields"])
    if fields.get("parser_config") is not None:
        values["parser_config"] = merged_parser_config(
            document.parser_config, fields["parser_config"]
        )
    method = fields.get("chunk_method")
    reset = method is not None and method != document.chunk_method and not document.is_virtual
    if method is not None:
        if method not in CHUNK_METHODS:
            raise InvalidArgument(f"chunk_method: must be one of {', '.join(CHUNK_METHODS)}")
        values["chunk_method"] = method
    if reset:
        if document.run == DocumentRun.RUNNING.value:
            raise DataError("Can't change the chunk method of a document being parsed.")
        values |= {"run": DocumentRun.UNSTART.value, "progress": 0.0, "progress_msg": ""}
    enabled = fields.get("enabled")
    if enabled is not None:
        values["enabled"] = bool(enabled)
    repo.update_document(session, tenant_id, document_id, **values)
    if reset:
        drop_document_chunks(session, state, tenant_id, document_id)
    if enabled is not None:
        session.commit()
        state.store.set_available(tenant_id, available=bool(enabled), document_id=document_id)
    refreshed = repo.get_document(session, tenant_id, document_id)
    if refreshed is None:
        raise NotFound(f"You don't own the document {document_id}.")
    return refreshed


def download(
    session: Session, tenant_id: str, dataset_id: str, document_id: str
) -> tuple[Document, bytes, str]:
    """The document, its uploaded bytes (none for a virtual document) and their content
    type."""
    _, document = document_in_dataset(session, tenant_id, dataset_id, document_id)
    data = b"" if document.is_virtual else repo.get_document_blob(session, tenant_id, document_id)
    if data is None:
        raise NotFound(f"You don't own the document {document_id}.")
    content_type = mimetypes.guess_type(document.name)[0] or "application/octet-stream"
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    return document, data, content_type


def _owned_documents(
    session: Session, tenant_id: str, dataset_id: str, document_ids: Sequence[str]
) -> list[Document]:
    wanted = list(dict.fromkeys(document_ids))
    found = [repo.get_document(session, tenant_id, i, dataset_id=dataset_id) for i in wanted]
    missing = [i for i, d in zip(wanted, found, strict=True) if d is None]
    if missing:
        raise NotFound(f"You don't own the document {', '.join(missing)}.")
    return [d for d in found if d is not None]


def delete(
    session: Session,
    state: ServiceContext,
    tenant_id: str,
    dataset_id: str,
    document_ids: Sequence[str] | None,
) -> list[str]:
    """Delete documents (all of the dataset's for ``None``) with their bytes and chunks."""
    get(session, tenant_id, dataset_id)
    if document_ids is None:
        ids = [
            d.id for d in repo.list_documents(session, tenant_id, dataset_id, page_size=10**6)[0]
        ]
    else:
        ids = [d.id for d in _owned_documents(session, tenant_id, dataset_id, document_ids)]
    for document_id in ids:
        state.store.delete_document(tenant_id, document_id)
    return repo.delete_documents(session, tenant_id, dataset_id, ids)


def start_parsing(
    session: Session,
    state: ServiceContext,
    tenant_id: str,
    dataset_id: str,
    document_ids: Sequence[str],
) -> list[str]:
    """Queue documents for parsing (``RUNNING``, progress 0) and wake the workers."""
    get(session, tenant_id, dataset_id)
    if not document_ids:
        raise DataError("`document_ids` is required")
    documents = _owned_documents(session, tenant_id, dataset_id, document_ids)
    for document in documents:
        if document.is_virtual:
            raise DataError(
                f"Can't parse document {document.id} ({document.name}): it is an empty "
                "document with no file to parse; its chunks are added by hand "
                f"(POST /datasets/{dataset_id}/documents/{document.id}/chunks)."
            )
        if document.run == DocumentRun.RUNNING.value and 0.0 < document.progress < 1.0:
            raise DataError(f"Can't parse document {document.id}: it is being parsed.")
    queued = repo.start_parsing(session, tenant_id, dataset_id, [d.id for d in documents])
    for document_id in queued:
        repo.update_document(session, tenant_id, document_id, progress_msg="Queued for parsing.")
    session.commit()  # the workers must see the queue before they are woken
    if state.parse_worker is not None:
        state.parse_worker.wake()
    return queued


def stop_parsing(
    session: Session,
    state: ServiceContext,
    tenant_id: str,
    dataset_id: str,
    document_ids: Sequence[str],
) -> list[str]:
    """Cancel parsing (``CANCEL``) and drop the chunks made so far."""
    get(session, tenant_id, dataset_id)
    if not document_ids:
        raise DataError("`document_ids` is required")
    documents = _owned_documents(session, tenant_id, dataset_id, document_ids)
    for document in documents:
        if document.run != DocumentRun.RUNNING.value:
            raise DataError(
                f"Can't stop parsing document {document.id}: it is not being parsed "
                f"(run {document.run})."
            )
    stopped = repo.stop_parsing(session, tenant_id, dataset_id, [d.id for d in documents])
    for document_id in stopped:
        current = repo.get_document(session, tenant_id, document_id)
        message = "Parsing stopped."
        if current is not None and current.progress_msg:
            message = f"{current.progress_msg}\n{message}"
        repo.update_document(session, tenant_id, document_id, progress=0.0, progress_msg=message)
        drop_document_chunks(session, state, tenant_id, document_id)
    return stopped
