"""Datasets (RAGFlow's knowledge bases): create, list, update, delete (SPEC §4).

Any member of a tenant may read and write the tenant's datasets, as with RAGFlow's API
keys; another tenant's dataset behaves exactly like a missing one.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ragprism.errors import DataError, InvalidArgument, NotFound
from ragprism.llm.builtin import HASHING_MODEL
from ragprism.models import Dataset, Document, Tenant
from ragprism.models.dataset import (
    DEFAULT_EMBEDDING_DIMENSION,
    DocumentRun,
    default_parser_config,
)
from ragprism.rag.chunking import MAX_CHUNK_TOKEN_NUM
from ragprism.repositories import datasets as repo
from ragprism.repositories.datasets import DatasetFields, OrderBy
from ragprism.services.accounts.accounts import Principal
from ragprism.services.models.model_settings import split_model_id

if TYPE_CHECKING:
    from ragprism.services.context import ServiceContext

CHUNK_METHODS = (
    "naive",
    "book",
    "email",
    "laws",
    "manual",
    "one",
    "paper",
    "picture",
    "presentation",
    "qa",
    "table",
    "tag",
)
# parser_config keys whose values are checked: (type, minimum, maximum).
_PARSER_LIMITS: dict[str, tuple[type, float, float]] = {
    "chunk_token_num": (int, 1, MAX_CHUNK_TOKEN_NUM),
    "auto_keywords": (int, 0, 32),
    "auto_questions": (int, 0, 10),
    "task_page_size": (int, 1, 10_000),
    "topn_tags": (int, 1, 10),
    "overlapped_percent": (float, 0, 90),
    "filename_embd_weight": (float, 0, 1),
}


def check_parser_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` if its known keys have valid types and ranges; ``InvalidArgument`` naming
    the key otherwise. Unknown keys are kept, as RAGFlow keeps them."""
    for key, (kind, low, high) in _PARSER_LIMITS.items():
        if key not in config:
            continue
        value = config[key]
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric or (kind is int and not isinstance(value, int)) or not low <= value <= high:
            shown = "an integer" if kind is int else "a number"
            raise InvalidArgument(f"parser_config.{key}: must be {shown} from {low:g} to {high:g}")
    if "delimiter" in config and (
        not isinstance(config["delimiter"], str) or not config["delimiter"]
    ):
        raise InvalidArgument("parser_config.delimiter: must be a non-empty string")
    return config


def merged_parser_config(base: dict[str, Any] | None, update: dict[str, Any]) -> dict[str, Any]:
    """``update`` deep-merged into ``base`` (RAGFlow merges partial parser configs)."""
    merged = copy.deepcopy(base) if base else default_parser_config()
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merged_parser_config(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return check_parser_config(merged)


def _embedding(
    session: Session, state: ServiceContext, tenant_id: str, model_id: str | None
) -> tuple[str, int]:
    """The embedding model id to use (default: the tenant's ``embd_id``), checked to
    resolve for the tenant, and its dimension when known without a request."""
    if model_id is None:
        tenant = session.get(Tenant, tenant_id)
        model_id = tenant.embd_id if tenant is not None else ""
    name, sep, factory = model_id.strip().rpartition("@")
    if not sep or not name or not factory:
        raise InvalidArgument(
            f"embedding_model: {model_id!r} must follow the model_name@model_factory format"
        )
    try:
        state.models.embedding(session, tenant_id, model_id.strip())
    except DataError as exc:
        raise InvalidArgument(f"embedding_model: {exc.message}") from exc
    model_name, _ = split_model_id(model_id)
    dimension = DEFAULT_EMBEDDING_DIMENSION
    if model_name.startswith(f"{HASHING_MODEL}-"):
        dimension = int(model_name.rsplit("-", 1)[1])
    return model_id.strip(), dimension


def create(
    session: Session, state: ServiceContext, principal: Principal, fields: dict[str, Any]
) -> Dataset:
    """Create a dataset from RAGFlow's create body (already type-checked)."""
    values: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    model_id, dimension = _embedding(
        session, state, principal.tenant_id, values.pop("embedding_model", None)
    )
    values["parser_config"] = merged_parser_config(None, values.get("parser_config") or {})
    values["embedding_model"], values["embedding_dimension"] = model_id, dimension
    typed: DatasetFields = values  # type: ignore[assignment]
    return repo.create_dataset(session, principal.tenant_id, created_by=principal.user.id, **typed)


def get(session: Session, tenant_id: str, dataset_id: str) -> Dataset:
    """The tenant's dataset; ``NotFound`` with RAGFlow's wording otherwise."""
    dataset = repo.get_dataset(session, tenant_id, dataset_id)
    if dataset is None:
        raise NotFound(f"You don't own the dataset {dataset_id}.")
    return dataset


def list_page(
    session: Session,
    tenant_id: str,
    *,
    page: int,
    page_size: int,
    orderby: OrderBy,
    desc: bool,
    name: str | None,
    dataset_id: str | None,
) -> tuple[list[Dataset], int]:
    """A page of datasets; naming a missing ``id`` or ``name`` is an error, as in RAGFlow."""
    datasets, total = repo.list_datasets(
        session,
        tenant_id,
        page=page,
        page_size=page_size,
        orderby=orderby,
        desc=desc,
        name=name,
        dataset_id=dataset_id,
    )
    if total == 0 and (dataset_id or name):
        raise DataError(f"User '{tenant_id}' lacks permission for dataset '{dataset_id or name}'")
    return datasets, total


def update(
    session: Session,
    state: ServiceContext,
    principal: Principal,
    dataset_id: str,
    fields: dict[str, Any],
) -> Dataset:
    """Change a dataset; the embedding model only while it has no chunks."""
    dataset = get(session, principal.tenant_id, dataset_id)
    values: dict[str, Any] = dict(fields)
    if "embedding_model" in values:
        model_id = values.pop("embedding_model")
        if model_id is not None and model_id.strip() != dataset.embedding_model:
            if dataset.chunk_count > 0:
                raise DataError(
                    f"When chunk_num ({dataset.chunk_count}) > 0, embedding_model must "
                    f"remain {dataset.embedding_model}"
                )
            values["embedding_model"], values["embedding_dimension"] = _embedding(
                session, state, principal.tenant_id, model_id
            )
    if "parser_config" in values:
        config = values.pop("parser_config") or {}
        values["parser_config"] = merged_parser_config(dataset.parser_config, config)
    for key in ("name", "permission", "chunk_method", "pagerank", "language"):
        if key in values and values[key] is None:
            raise InvalidArgument(f"{key}: must not be null")
    typed: DatasetFields = values  # type: ignore[assignment]
    updated = repo.update_dataset(session, principal.tenant_id, dataset_id, **typed)
    if updated is None:  # deleted meanwhile
        raise NotFound(f"You don't own the dataset {dataset_id}.")
    return updated


def delete(
    session: Session, state: ServiceContext, principal: Principal, dataset_ids: Sequence[str] | None
) -> list[str]:
    """Delete datasets (all of the tenant's for ``None``) with their documents and chunks.

    Every id must be the tenant's dataset, else nothing is deleted.
    """
    owned = set(session.scalars(select(Dataset.id).where(Dataset.tenant_id == principal.tenant_id)))
    wanted = sorted(owned) if dataset_ids is None else list(dict.fromkeys(dataset_ids))
    missing = [i for i in wanted if i not in owned]
    if missing:
        raise DataError(f"You don't own the dataset {', '.join(missing)}.")
    # The store writes on its own connection: its deletes go first, then ours, so no
    # transaction waits on a lock the other holds.
    for dataset_id in wanted:
        state.store.delete_dataset(principal.tenant_id, dataset_id)
    return repo.delete_datasets(session, principal.tenant_id, wanted)


def parsing_status(
    session: Session, tenant_id: str, dataset_ids: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Per dataset, how many of its documents are in each parsing state, under RAGFlow's
    names (``unstart_count``, ``running_count``, ``cancel_count``, ``done_count``,
    ``fail_count``)."""
    counts = {i: {f"{run.value.lower()}_count": 0 for run in DocumentRun} for i in dataset_ids}
    rows = session.execute(
        select(Document.dataset_id, Document.run, func.count())
        .where(Document.tenant_id == tenant_id, Document.dataset_id.in_(list(dataset_ids)))
        .group_by(Document.dataset_id, Document.run)
    )
    for dataset_id, run, count in rows:
        counts[dataset_id][f"{str(run).lower()}_count"] = int(count)
    return counts
