"""``/v1/llm`` and the tenant's default models (RAGFlow's model settings routes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ragprism.api.deps import CurrentPrincipal, SessionDep, StateDep
from ragprism.api.envelope import ok
from ragprism.api.serialize import times
from ragprism.models import Tenant
from ragprism.services.models.model_settings import (
    BUILTIN_FACTORY,
    DEFAULT_COLUMNS,
    FACTORIES,
    MODEL_TYPES,
    masked_api_base,
)

router = APIRouter(tags=["models"])


class AddLlmIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    llm_factory: str = Field(max_length=64)
    llm_name: str = Field(max_length=128)
    model_type: str = Field(max_length=16)
    api_base: str | None = Field(default=None, max_length=512)
    api_key: str | None = Field(default=None, max_length=1024)
    max_tokens: int | None = Field(default=None, ge=1, le=10_000_000)
    verify: bool = True
    # Not in RAGFlow: USD per 1M tokens, for the cost of traced calls.
    input_price: float | None = Field(default=None, strict=True)
    output_price: float | None = Field(default=None, strict=True)


class DeleteLlmIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    llm_factory: str = Field(max_length=64)
    llm_name: str = Field(max_length=128)


class TenantInfoIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    tenant_id: str | None = Field(default=None, max_length=32)
    llm_id: str | None = Field(default=None, max_length=256)
    embd_id: str | None = Field(default=None, max_length=256)
    rerank_id: str | None = Field(default=None, max_length=256)
    img2txt_id: str | None = Field(default=None, max_length=256)
    asr_id: str | None = Field(default=None, max_length=256)


def _tenant_json(tenant: Tenant, role: str) -> dict[str, Any]:
    return {
        "tenant_id": tenant.id,
        "name": tenant.name,
        "role": role,
        **{column: getattr(tenant, column) for column in DEFAULT_COLUMNS.values()},
        **times(tenant.create_time, tenant.update_time),
    }


@router.get("/v1/llm/factories")
def factories(principal: CurrentPrincipal) -> dict[str, Any]:
    """Providers a tenant can add models of (the built-in ones need no setup)."""
    rows = [{"name": BUILTIN_FACTORY, "model_types": ["chat", "embedding"], "api_base": None}]
    rows += [
        {"name": name, "model_types": list(MODEL_TYPES), "api_base": base}
        for name, base in FACTORIES.items()
    ]
    return ok(rows)


@router.post("/v1/llm/add_llm")
def add_llm(
    body: AddLlmIn, principal: CurrentPrincipal, session: SessionDep, state: StateDep
) -> dict[str, Any]:
    """Add a provider model; it is checked with one real call unless ``verify`` is false."""
    row = state.models.add_model(
        session,
        principal,
        llm_factory=body.llm_factory,
        llm_name=body.llm_name,
        model_type=body.model_type,
        api_base=body.api_base,
        api_key=body.api_key,
        max_tokens=body.max_tokens,
        verify=body.verify,
        input_price=body.input_price,
        output_price=body.output_price,
    )
    return ok({"llm_id": f"{row.llm_name}@{row.llm_factory}", "model_type": row.model_type})


@router.get("/v1/llm/my_llms")
def my_llms(principal: CurrentPrincipal, session: SessionDep, state: StateDep) -> dict[str, Any]:
    """The tenant's models by provider, with their prices (USD per 1M tokens; the built-in
    models are free); API keys are never returned."""
    free = {"used_token": 0, "input_price": 0.0, "output_price": 0.0}
    grouped: dict[str, dict[str, Any]] = {
        BUILTIN_FACTORY: {
            "tags": "LLM,TEXT EMBEDDING",
            "llm": [
                {"type": "chat", "name": "builtin-extractive", **free},
                {"type": "embedding", "name": "builtin-hashing", **free},
            ],
        }
    }
    for row in state.models.list_models(session, principal.tenant_id):
        entry = grouped.setdefault(row.llm_factory, {"tags": "", "llm": []})
        entry["llm"].append(
            {
                "type": row.model_type,
                "name": row.llm_name,
                "api_base": masked_api_base(row.api_base),
                "has_api_key": row.api_key_enc is not None,
                "used_token": row.used_tokens,
                "max_tokens": row.max_tokens,
                "input_price": row.input_price,
                "output_price": row.output_price,
            }
        )
    for entry in grouped.values():
        entry["tags"] = ",".join(sorted({item["type"] for item in entry["llm"]})).upper()
    return ok(grouped)


@router.post("/v1/llm/delete_llm")
def delete_llm(
    body: DeleteLlmIn, principal: CurrentPrincipal, session: SessionDep, state: StateDep
) -> dict[str, Any]:
    state.models.delete_model(session, principal, body.llm_factory, body.llm_name)
    return ok(True)


@router.get("/v1/user/tenant_info")
def tenant_info(principal: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """The acting tenant and its default models."""
    tenant = session.get(Tenant, principal.tenant_id)
    assert tenant is not None
    return ok(_tenant_json(tenant, principal.role.value))


@router.post("/v1/user/set_tenant_info")
def set_tenant_info(
    body: TenantInfoIn, principal: CurrentPrincipal, session: SessionDep, state: StateDep
) -> dict[str, Any]:
    """Set default models (``llm_id``, ``embd_id``, ``rerank_id``, ``img2txt_id``, ``asr_id``)."""
    values = {
        column: value.strip()
        for column in DEFAULT_COLUMNS.values()
        if (value := getattr(body, column)) is not None
    }
    tenant = state.models.set_defaults(session, principal, values)
    return ok(_tenant_json(tenant, principal.role.value))
