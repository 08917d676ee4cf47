"""Chat assistants (RAGFlow's ``/api/v1/chats``): defaults, validation and their JSON.

Callers pass the body's fields as given (nested ``llm``/``prompt`` objects holding only
the keys the client sent, or the later SDKs' ``llm_id``/``llm_setting``/``prompt_config``
spelling, see :mod:`ragprism.services.chat.chat_dialects`); unset fields take RAGFlow's defaults
on create and keep their value on update. The earlier SDK's names map onto the stored
ones: ``prompt.prompt`` → system, ``opener`` → prologue, ``variables`` → parameters,
``show_quote`` → quote, ``rerank_model`` → rerank_id and ``keywords_similarity_weight`` =
1 − vector weight.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ragprism.errors import DataError, InvalidArgument, NotFound
from ragprism.models import Chat
from ragprism.repositories import chats as repo
from ragprism.repositories.common import flush_unique
from ragprism.services.accounts.accounts import Principal
from ragprism.services.chat.chat_dialects import fold_later_fields, later_json
from ragprism.services.knowledge.retrieval import owned_datasets

if TYPE_CHECKING:
    from ragprism.services.models.model_settings import ModelSettingsService

DEFAULT_SYSTEM_PROMPT = (
    "You are an intelligent assistant. Please summarize the content of the knowledge base "
    "to answer the question. Please list the data in the knowledge base and answer in "
    "detail. When all knowledge base content is irrelevant to the question, your answer "
    'must include the sentence "The answer you are looking for is not found in the '
    'knowledge base!" Answers need to consider chat history.\n'
    "      Here is the knowledge base:\n"
    "      {knowledge}\n"
    "      The above is the knowledge base."
)
DEFAULT_OPENER = "Hi! I'm your assistant. What can I do for you?"
DEFAULT_EMPTY_RESPONSE = "Sorry! No relevant content was found in the knowledge base!"
DEFAULT_LLM_SETTING: dict[str, float] = {
    "temperature": 0.1,
    "top_p": 0.3,
    "presence_penalty": 0.4,
    "frequency_penalty": 0.7,
}
LLM_KEYS = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "max_tokens")


def _default_prompt_config() -> dict[str, Any]:
    return {
        "system": DEFAULT_SYSTEM_PROMPT,
        "prologue": DEFAULT_OPENER,
        "parameters": [{"key": "knowledge", "optional": False}],
        "empty_response": DEFAULT_EMPTY_RESPONSE,
        "quote": True,
    }


def _clean_name(value: Any) -> str:
    name = str(value or "").strip()
    if not name:
        raise InvalidArgument("`name` is required.")
    if len(name) > 255:
        raise InvalidArgument("`name`: at most 255 characters")
    if not name.isprintable():
        raise InvalidArgument("`name`: must not contain control characters")
    return name


def _check_datasets(session: Session, tenant_id: str, dataset_ids: Sequence[str]) -> list[str]:
    ids = list(dict.fromkeys(dataset_ids))
    datasets = owned_datasets(session, tenant_id, ids)  # DataError naming a foreign id
    if len({d.embedding_model for d in datasets}) > 1:
        raise DataError("Datasets use different embedding models.")
    return ids


def _check_model(
    session: Session, models: ModelSettingsService, tenant_id: str, model_name: str | None
) -> str:
    try:
        model_id = models.model_id_for(session, tenant_id, "chat", model_name)
        models.chat(session, tenant_id, model_id)  # resolves it; no network call
    except (DataError, InvalidArgument):
        raise DataError(f"`model_name` {model_name or '(tenant default)'} doesn't exist") from None
    return model_id


def _apply_prompt(chat: Chat, prompt: dict[str, Any]) -> None:
    config = dict(chat.prompt_config or _default_prompt_config())
    renamed = {
        "prompt": "system",
        "opener": "prologue",
        "variables": "parameters",
        "empty_response": "empty_response",
        "show_quote": "quote",
    }
    for sdk_key, stored_key in renamed.items():
        if sdk_key in prompt and prompt[sdk_key] is not None:
            value = prompt[sdk_key]
            config[stored_key] = (
                [{"key": v["key"], "optional": bool(v.get("optional", True))} for v in value]
                if sdk_key == "variables"
                else value
            )
    for variable in config["parameters"]:
        key = variable.get("key", "")
        if not variable.get("optional") and "{" + key + "}" not in config["system"]:
            raise InvalidArgument(f"prompt.prompt: parameter '{key}' is not used")
    chat.prompt_config = config
    if prompt.get("similarity_threshold") is not None:
        chat.similarity_threshold = float(prompt["similarity_threshold"])
    if prompt.get("keywords_similarity_weight") is not None:
        chat.vector_similarity_weight = round(1.0 - float(prompt["keywords_similarity_weight"]), 6)
    if prompt.get("top_n") is not None:
        chat.top_n = int(prompt["top_n"])
    if prompt.get("top_k") is not None:
        chat.top_k = int(prompt["top_k"])
    if "rerank_model" in prompt:
        chat.rerank_id = str(prompt["rerank_model"] or "")


def _apply(
    session: Session,
    models: ModelSettingsService,
    principal: Principal,
    chat: Chat,
    fields: dict[str, Any],
    *,
    creating: bool,
) -> None:
    tenant_id = principal.tenant_id
    fields = fold_later_fields(fields)
    if creating or "name" in fields:
        name = _clean_name(fields.get("name"))
        existing = repo.get_chat_by_name(session, tenant_id, name)
        if existing is not None and existing.id != chat.id:
            verb = "creating" if creating else "updating"
            raise DataError(f"Duplicated chat name in {verb} chat.")
        chat.name = name
    if "avatar" in fields:
        chat.avatar = fields["avatar"] or ""
    if fields.get("dataset_ids") is not None:
        chat.dataset_ids = _check_datasets(session, tenant_id, fields["dataset_ids"])
    llm = dict(fields.get("llm") or {})
    if creating or "model_name" in llm:
        chat.llm_id = _check_model(session, models, tenant_id, llm.get("model_name"))
    setting = dict(chat.llm_setting if chat.llm_setting is not None else DEFAULT_LLM_SETTING)
    for key in LLM_KEYS:
        if key in llm:
            setting[key] = llm[key]
    chat.llm_setting = {k: v for k, v in setting.items() if v is not None}
    _apply_prompt(chat, dict(fields.get("prompt") or {}))
    if chat.rerank_id:
        try:
            models.rerank(session, tenant_id, chat.rerank_id)
        except (DataError, InvalidArgument):
            raise DataError(f"`rerank_model` {chat.rerank_id} doesn't exist") from None


def create_chat(
    session: Session, models: ModelSettingsService, principal: Principal, fields: dict[str, Any]
) -> Chat:
    """A new assistant; ``InvalidArgument`` (101) or ``DataError`` (102) naming the problem."""
    chat = Chat(
        tenant_id=principal.tenant_id,
        created_by=principal.user.id,
        dataset_ids=[],
        llm_setting=None,
        prompt_config=None,
    )
    _apply(session, models, principal, chat, fields, creating=True)
    flush_unique(session, "Duplicated chat name in creating chat.", chat)
    return chat


def get_chat(session: Session, tenant_id: str, chat_id: str) -> Chat:
    """The tenant's assistant, or ``NotFound`` (102) — also for another tenant's id."""
    chat = repo.get_chat(session, tenant_id, chat_id)
    if chat is None:
        raise NotFound("You do not own the chat.")
    return chat


def update_chat(
    session: Session,
    models: ModelSettingsService,
    principal: Principal,
    chat_id: str,
    fields: dict[str, Any],
) -> Chat:
    """Change the given fields only (``llm`` and ``prompt`` are merged key by key)."""
    chat = get_chat(session, principal.tenant_id, chat_id)
    _apply(session, models, principal, chat, fields, creating=False)
    flush_unique(session, "Duplicated chat name in updating chat.", chat)
    return chat


def delete_chats(
    session: Session, principal: Principal, ids: Sequence[str] | None, delete_all: bool
) -> int:
    """Delete the listed assistants (all of the tenant's with ``delete_all``); nothing is
    deleted when one of the ids is unknown."""
    if not ids:
        if not delete_all:
            return 0
        ids = [c.id for c in repo.list_chats(session, principal.tenant_id, page_size=1_000_000)]
    wanted = list(dict.fromkeys(ids))
    found = repo.existing_chat_ids(session, principal.tenant_id, wanted)
    for chat_id in wanted:
        if chat_id not in found:
            raise NotFound(f"Assistant({chat_id}) not found.")
    return repo.delete_chats(session, principal.tenant_id, wanted)


def list_chats(
    session: Session,
    tenant_id: str,
    *,
    page: int,
    page_size: int,
    orderby: repo.OrderBy,
    desc: bool,
    chat_id: str | None,
    name: str | None,
) -> list[Chat]:
    """One page of assistants; ``NotFound`` when filtering by an id or name that matches none."""
    chats = repo.list_chats(
        session,
        tenant_id,
        page=page,
        page_size=page_size,
        orderby=orderby,
        desc=desc,
        chat_id=chat_id,
        name=name,
    )
    if not chats and (chat_id or name):
        raise NotFound("The chat doesn't exist")
    return chats


def search_chats(
    session: Session,
    tenant_id: str,
    *,
    page: int,
    page_size: int,
    orderby: repo.OrderBy,
    desc: bool,
    chat_id: str | None,
    name: str | None,
    keywords: str | None,
    owner_ids: Sequence[str] | None,
) -> tuple[list[Chat], int]:
    """The later API's listing: one page and the total matching; no match is no error.

    ``keywords`` matches part of the name (ignored with ``id`` or ``name``, as RAGFlow
    does); ``owner_ids`` keeps the assistants of those tenants, and a key sees only its own.
    """
    if owner_ids and tenant_id not in owner_ids:
        return [], 0
    if chat_id or name:
        keywords = None
    filters: dict[str, Any] = {"chat_id": chat_id, "name": name, "keywords": keywords or None}
    chats = repo.list_chats(
        session, tenant_id, page=page, page_size=page_size, orderby=orderby, desc=desc, **filters
    )
    return chats, repo.count_chats(session, tenant_id, **filters)


def chat_json(chat: Chat) -> dict[str, Any]:
    """An assistant in both SDK shapes (``llm`` and ``prompt`` objects up to
    ``ragflow-sdk`` 0.24; ``llm_id``, ``llm_setting``, ``prompt_config``… later)."""
    config = chat.prompt_config or _default_prompt_config()
    setting = chat.llm_setting or {}
    return {
        "id": chat.id,
        "name": chat.name,
        "avatar": chat.avatar or "",
        "description": chat.description,
        "language": chat.language,
        "dataset_ids": list(chat.dataset_ids or []),
        "llm": {"model_name": chat.llm_id, **{k: setting[k] for k in LLM_KEYS if k in setting}},
        "prompt": {
            "similarity_threshold": chat.similarity_threshold,
            "keywords_similarity_weight": round(1.0 - chat.vector_similarity_weight, 6),
            "top_n": chat.top_n,
            "top_k": chat.top_k,
            "variables": config.get("parameters", []),
            "rerank_model": chat.rerank_id,
            "empty_response": config.get("empty_response", ""),
            "opener": config.get("prologue", ""),
            "show_quote": bool(config.get("quote", True)),
            "prompt": config.get("system", ""),
        },
        "prompt_type": "simple",
        "do_refer": "1",
        "status": "1",
        "top_k": chat.top_k,
        "tenant_id": chat.tenant_id,
        **later_json(
            avatar=chat.avatar or "",
            llm_id=chat.llm_id,
            llm_setting=setting,
            prompt_config=config,
            similarity_threshold=chat.similarity_threshold,
            vector_similarity_weight=chat.vector_similarity_weight,
            top_n=chat.top_n,
            rerank_id=chat.rerank_id,
        ),
    }
