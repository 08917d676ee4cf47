"""A tenant's model providers and default models, and turning them into model objects.

Model ids follow RAGFlow: ``<model name>@<factory>``, e.g. ``gpt-4o-mini@OpenAI`` or the
built-in ``builtin-extractive@Builtin``. Built-in models need no row; every other model is
a ``tenant_llm`` row whose API key is encrypted with the master key.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ragprism.errors import DataError, InvalidArgument, NotFound, OperatingError
from ragprism.llm import registry
from ragprism.llm.base import (
    ChatModel,
    EmbeddingModel,
    Image2TextModel,
    RerankModel,
    Speech2TextModel,
)
from ragprism.llm.builtin import EXTRACTIVE_MODEL, HASHING_MODEL
from ragprism.llm.pricing import FREE, ModelPrice, check_price, price_of
from ragprism.models import Tenant
from ragprism.models.llm import TenantLlm
from ragprism.security.host_policy import HostPolicy, guarded_transport
from ragprism.security.keyring import Keyring, KeyringError
from ragprism.services.accounts import audit
from ragprism.services.accounts.accounts import Principal
from ragprism.services.tenant_slots import LimitedTransport, TenantSlots

ModelType = Literal["chat", "embedding", "rerank", "image2text", "speech2text"]
MODEL_TYPES: tuple[ModelType, ...] = ("chat", "embedding", "rerank", "image2text", "speech2text")
BUILTIN_FACTORY = "Builtin"
_HASHING = re.compile(rf"{re.escape(HASHING_MODEL)}(?:-\d+)?")

# Factories speaking OpenAI's HTTP API, with their usual base URL (None: must be given).
FACTORIES: dict[str, str | None] = {
    "OpenAI": "https://api.openai.com/v1",
    "OpenAI-API-Compatible": None,
    "Azure-OpenAI": None,
    "Ollama": "http://127.0.0.1:11434/v1",
    "LM-Studio": "http://127.0.0.1:1234/v1",
    "VLLM": None,
    "Jina": "https://api.jina.ai/v1",
}
# Tenant columns holding the default model of each kind.
DEFAULT_COLUMNS: dict[ModelType, str] = {
    "chat": "llm_id",
    "embedding": "embd_id",
    "rerank": "rerank_id",
    "image2text": "img2txt_id",
    "speech2text": "asr_id",
}
M = TypeVar("M")


_ASCII_KEY = re.compile(r"[\x21-\x7e]+")
_SECRET_PARAM = re.compile(r"key|token|secret|sig|pass|auth", re.IGNORECASE)


def check_api_base(base: str) -> None:
    """Refuse a base URL that is not plain http(s), or that carries credentials (which
    would be shown to every member and stored unencrypted: the key goes in ``api_key``)."""
    if not base.isprintable() or any(ch.isspace() for ch in base) or len(base) > 512:
        raise InvalidArgument("api_base: at most 512 printable characters, no spaces")
    try:
        parts = urlsplit(base)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise InvalidArgument(f"api_base: not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidArgument("api_base: must be an absolute http:// or https:// URL")
    if "@" in parts.netloc:
        raise InvalidArgument("api_base: must not contain credentials; put the key in api_key")
    if any(_SECRET_PARAM.search(name) for name, _ in parse_qsl(parts.query)):
        raise InvalidArgument("api_base: must not carry a key in its query; use api_key")


def masked_api_base(base: str | None) -> str | None:
    """``base`` as members may see it: credentials and key-like query values masked (rows
    stored before ``check_api_base`` existed may hold them)."""
    if not base:
        return base
    parts = urlsplit(base)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = "&".join(
        f"{name}={'***' if _SECRET_PARAM.search(name) else value}"
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _audited(row: TenantLlm) -> dict[str, Any]:
    """What the audit log shows of a model: no key, and the base URL masked."""
    return {
        "model_type": row.model_type,
        "api_base": masked_api_base(row.api_base),
        "has_api_key": row.api_key_enc is not None,
        "max_tokens": row.max_tokens,
        "input_price": row.input_price,
        "output_price": row.output_price,
    }


def builtin_kind(name: str) -> ModelType | None:
    """The kind of a built-in model name (``builtin-hashing-256`` sets a dimension)."""
    if name == EXTRACTIVE_MODEL:
        return "chat"
    if _HASHING.fullmatch(name):
        return "embedding"
    return None


def split_model_id(model_id: str) -> tuple[str, str]:
    """``name@Factory`` → (name, factory); a bare name is a built-in model."""
    name, sep, factory = model_id.strip().rpartition("@")
    if not sep:
        return model_id.strip(), BUILTIN_FACTORY
    if not name or not factory:
        raise InvalidArgument(f"model id {model_id!r}: expected <model name>@<factory>")
    return name, factory


def _factory_name(value: str) -> str:
    for name in (BUILTIN_FACTORY, *FACTORIES):
        if name.lower() == value.strip().lower():
            return name
    known = ", ".join(FACTORIES)
    raise InvalidArgument(f"llm_factory: unknown factory {value!r} (known: {known})")


def _builders() -> dict[ModelType, Callable[..., Any]]:
    return {
        "chat": registry.build_chat,
        "embedding": registry.build_embedding,
        "rerank": registry.build_rerank,
        "image2text": registry.build_image2text,
        "speech2text": registry.build_speech2text,
    }


def _fingerprint(row: TenantLlm | None) -> str:
    """What identifies a stored model's settings in the model cache: its update time and
    the settings themselves (MariaDB may keep whole seconds only, so two changes in one
    second share an update time)."""
    if row is None:
        return ""
    settings = (row.api_base, row.api_key_enc, row.max_tokens, row.input_price, row.output_price)
    digest = hashlib.sha256(repr(settings).encode()).hexdigest()[:16]
    return f"{row.update_time.isoformat()}:{digest}"


@dataclass
class ModelSettingsService:
    """Stores tenants' providers and builds (and caches) their models."""

    keyring: Keyring
    policy: HostPolicy
    # Concurrent provider requests per tenant (verification and use): a hanging provider
    # must not hold every server thread.
    call_slots: TenantSlots = field(default_factory=lambda: TenantSlots(0, "model calls"))
    cache_size: int = 256
    _cache: OrderedDict[tuple[str, ...], Any] = field(default_factory=OrderedDict)
    # id(model) -> (model, its price) for every cached model; the model is kept to tell a
    # cached model from a new object that happens to get the id of an evicted one.
    _prices: dict[int, tuple[Any, ModelPrice | None]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- provider rows ---------------------------------------------------------------------
    def add_model(
        self,
        session: Session,
        principal: Principal,
        *,
        llm_factory: str,
        llm_name: str,
        model_type: str,
        api_base: str | None,
        api_key: str | None,
        max_tokens: int | None,
        verify: bool = True,
        input_price: float | None = None,
        output_price: float | None = None,
    ) -> TenantLlm:
        """Add (or replace) a model of a provider; by default checked with one real call.

        ``input_price``/``output_price`` (USD per 1M tokens, optional) give the cost of
        every traced call of the model.
        """
        principal.require_manager()
        factory = _factory_name(llm_factory)
        if factory == BUILTIN_FACTORY:
            raise InvalidArgument("llm_factory: built-in models are always available")
        if model_type not in MODEL_TYPES:
            raise InvalidArgument(f"model_type: must be one of {', '.join(MODEL_TYPES)}")
        name = llm_name.strip()
        if not name or len(name) > 128 or not name.isprintable() or "@" in name:
            raise InvalidArgument("llm_name: 1-128 printable characters, no '@'")
        base = (api_base or "").strip() or FACTORIES[factory]
        if not base:
            raise InvalidArgument(f"api_base: required for {factory}")
        check_api_base(base)
        key = (api_key or "").strip() or None
        # It travels in an HTTP header, which carries ASCII only: anything else would fail
        # on every later use of the model.
        if key is not None and (len(key) > 1024 or not _ASCII_KEY.fullmatch(key)):
            raise InvalidArgument("api_key: at most 1024 printable ASCII characters")
        input_price = check_price("input_price", input_price)
        output_price = check_price("output_price", output_price)
        if verify:
            self._verify(principal.tenant_id, model_type, name, base, key)
        identity = {
            "tenant_id": principal.tenant_id,
            "llm_factory": factory,
            "llm_name": name,
            "model_type": model_type,
        }
        values = {
            "api_base": base,
            "api_key_enc": self.keyring.encrypt(key) if key else None,
            "max_tokens": max_tokens or 8192,
            "input_price": input_price,
            "output_price": output_price,
        }
        row = self._find(session, identity)
        before = _audited(row) if row is not None else {}
        if row is None:
            try:
                with session.begin_nested():
                    row = TenantLlm(**identity, **values)
                    session.add(row)
            except IntegrityError:
                # The same model was added concurrently: replace that row's settings.
                row = self._find(session, identity)
                if row is None:
                    raise
        for column, value in values.items():
            setattr(row, column, value)
        session.flush()
        changes = audit.diff(before, _audited(row))
        if key:
            changes["api_key"] = "replaced"
        action = "model.update" if before else "model.add"
        audit.record(session, principal, action, f"{name}@{factory}", changes)
        return row

    @staticmethod
    def _find(session: Session, identity: dict[str, str]) -> TenantLlm | None:
        return session.scalars(
            select(TenantLlm).where(
                *(getattr(TenantLlm, column) == value for column, value in identity.items())
            )
        ).first()

    def _verify(
        self, tenant_id: str, model_type: ModelType, name: str, base: str, key: str | None
    ) -> None:
        options = self._connection_options(tenant_id, verify=True)
        model = _builders()[model_type](registry.OPENAI_COMPATIBLE, name, base, key, **options)
        try:
            if model_type == "chat":
                model.chat([{"role": "user", "content": "Say OK."}], max_tokens=4)
            elif model_type == "embedding":
                model.embed(["ragprism connection check"])
            elif model_type == "rerank":
                model.rerank("check", ["ragprism connection check"])
            # Vision and speech models need a real image or audio: checked on first use.
        finally:
            model.close()

    def _connection_options(self, tenant_id: str, *, verify: bool = False) -> dict[str, Any]:
        transport = LimitedTransport(guarded_transport(self.policy), self.call_slots, tenant_id)
        options: dict[str, Any] = {"transport": transport}
        if verify:
            options.update(timeout=15.0)
        return options

    def list_models(self, session: Session, tenant_id: str) -> list[TenantLlm]:
        return list(
            session.scalars(
                select(TenantLlm)
                .where(TenantLlm.tenant_id == tenant_id)
                .order_by(TenantLlm.llm_factory, TenantLlm.llm_name)
            )
        )

    def delete_model(
        self, session: Session, principal: Principal, llm_factory: str, llm_name: str
    ) -> None:
        principal.require_manager()
        factory = _factory_name(llm_factory)
        result = session.execute(
            delete(TenantLlm).where(
                TenantLlm.tenant_id == principal.tenant_id,
                TenantLlm.llm_factory == factory,
                TenantLlm.llm_name == llm_name.strip(),
            )
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFound(f"model {llm_name}@{factory} not found")
        audit.record(session, principal, "model.delete", f"{llm_name.strip()}@{factory}")

    # -- defaults --------------------------------------------------------------------------
    def set_defaults(
        self, session: Session, principal: Principal, values: dict[str, str]
    ) -> Tenant:
        """Set the tenant's default model ids (``llm_id``, ``embd_id``, …); each must resolve."""
        principal.require_manager()
        tenant = session.get(Tenant, principal.tenant_id)
        if tenant is None:
            raise NotFound("tenant not found")
        by_column = {column: kind for kind, column in DEFAULT_COLUMNS.items()}
        for column, model_id in values.items():
            kind = by_column[column]
            if model_id:
                self._row_for(session, principal.tenant_id, kind, model_id)  # must exist
            setattr(tenant, column, model_id)
        session.flush()
        return tenant

    # -- resolution ------------------------------------------------------------------------
    def model_id_for(
        self, session: Session, tenant_id: str, kind: ModelType, model_id: str | None
    ) -> str:
        """``model_id`` or the tenant's default of ``kind``; DataError if there is none."""
        if model_id:
            return model_id
        tenant = session.get(Tenant, tenant_id)
        chosen = getattr(tenant, DEFAULT_COLUMNS[kind], "") if tenant else ""
        if not chosen:
            raise DataError(f"no default {kind} model is set for this tenant")
        return str(chosen)

    def _row_for(
        self, session: Session, tenant_id: str, kind: ModelType, model_id: str
    ) -> TenantLlm | None:
        name, factory = split_model_id(model_id)
        if factory.lower() == BUILTIN_FACTORY.lower():
            if builtin_kind(name) != kind:
                raise DataError(f"{model_id} is not a built-in {kind} model")
            return None
        try:
            factory = _factory_name(factory)
        except InvalidArgument:  # the caller names its field; the factory is part of it
            raise DataError(f"model {model_id} ({kind}): unknown factory {factory!r}") from None
        row = session.scalars(
            select(TenantLlm).where(
                TenantLlm.tenant_id == tenant_id,
                TenantLlm.llm_factory == factory,
                TenantLlm.llm_name == name,
                TenantLlm.model_type == kind,
            )
        ).first()
        if row is None:
            raise DataError(f"model {model_id} ({kind}) is not configured for this tenant")
        return row

    def _build(
        self, session: Session, tenant_id: str, kind: ModelType, model_id: str | None
    ) -> Any:
        resolved = self.model_id_for(session, tenant_id, kind, model_id)
        row = self._row_for(session, tenant_id, kind, resolved)
        cache_key = (tenant_id, kind, resolved, _fingerprint(row))
        with self._lock:
            cached = self._cache.get(cache_key)
            if cached is not None:
                self._cache.move_to_end(cache_key)
                return cached
        name, _ = split_model_id(resolved)
        if row is None:
            model = _builders()[kind](registry.BUILTIN, name, None, None)
        else:
            try:
                key = self.keyring.decrypt(row.api_key_enc) if row.api_key_enc else None
            except KeyringError:
                raise OperatingError(
                    f"the stored API key of model {resolved} cannot be decrypted with the "
                    "server's master key; add the model again with its key"
                ) from None
            model = _builders()[kind](
                registry.OPENAI_COMPATIBLE,
                name,
                row.api_base,
                key,
                **self._connection_options(tenant_id),
            )
        price = FREE if row is None else price_of(row.input_price, row.output_price)
        with self._lock:
            raced = self._cache.get(cache_key)
            if raced is None:
                self._cache[cache_key] = model
                self._prices[id(model)] = (model, price)
            evicted = []
            while len(self._cache) > self.cache_size:
                _, old = self._cache.popitem(last=False)
                self._prices.pop(id(old), None)
                evicted.append(old)
        for old in evicted:
            old.close()
        if raced is not None:  # another thread built it meanwhile: use that one
            model.close()
            return raced
        return model

    def price(self, model: object) -> ModelPrice | None:
        """The price of a model this service built: ``FREE`` for the built-in models, the
        tenant's configured price otherwise, None when it has none."""
        with self._lock:
            entry = self._prices.get(id(model))
        return entry[1] if entry is not None and entry[0] is model else None

    def chat(self, session: Session, tenant_id: str, model_id: str | None = None) -> ChatModel:
        model: ChatModel = self._build(session, tenant_id, "chat", model_id)
        return model

    def embedding(
        self, session: Session, tenant_id: str, model_id: str | None = None
    ) -> EmbeddingModel:
        model: EmbeddingModel = self._build(session, tenant_id, "embedding", model_id)
        return model

    def rerank(self, session: Session, tenant_id: str, model_id: str | None = None) -> RerankModel:
        model: RerankModel = self._build(session, tenant_id, "rerank", model_id)
        return model

    def image2text(
        self, session: Session, tenant_id: str, model_id: str | None = None
    ) -> Image2TextModel:
        model: Image2TextModel = self._build(session, tenant_id, "image2text", model_id)
        return model

    def speech2text(
        self, session: Session, tenant_id: str, model_id: str | None = None
    ) -> Speech2TextModel:
        model: Speech2TextModel = self._build(session, tenant_id, "speech2text", model_id)
        return model

    def close(self) -> None:
        with self._lock:
            models, self._cache = list(self._cache.values()), OrderedDict()
            self._prices.clear()
        for model in models:
            model.close()
