"""The one settings object. Every knob is a ``RAGPRISM_*`` environment variable."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

HostPolicyMode = Literal["any", "no-private", "allowlist"]


class Settings(BaseSettings):
    """Server configuration, read once from the environment (and an optional ``.env``)."""

    model_config = SettingsConfigDict(
        env_prefix="RAGPRISM_", env_file=".env", extra="ignore", validate_default=True
    )

    data_dir: Path = Field(
        default=Path("data"), description="Where the SQLite file, key file and spool live."
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means sqlite:///<data_dir>/ragprism.db.",
    )
    host: str = Field(default="127.0.0.1", description="Address `ragprism serve` binds to.")
    port: int = Field(default=9380, ge=1, le=65535, description="Port `ragprism serve` listens on.")

    master_key: str = Field(
        default="",
        description="Comma-separated Fernet keys (newest first) used to encrypt stored secrets. "
        "Empty: use/create the key file.",
        repr=False,
    )
    master_key_file: Path | None = Field(
        default=None, description="Key file; default <data_dir>/master.key, created with mode 0600."
    )

    web_dist_dir: Path | None = Field(
        default=None,
        description="The built web app served at `/`; default web/dist of the source tree.",
    )

    accept_lost_secrets: bool = Field(
        default=False,
        description="Start although stored secrets cannot be decrypted with the master key "
        "(tenants re-enter them); without it the server refuses to start.",
    )
    register_enabled: bool = Field(default=True, description="Allow POST /v1/user/register.")
    login_token_ttl_seconds: int = Field(
        default=7 * 24 * 3600, ge=60, description="Lifetime of a web login token."
    )
    login_max_failures_per_account: int = Field(
        default=10,
        ge=0,
        description="Failed logins an account may take within the window before further "
        "attempts get HTTP 429 (0: no limit).",
    )
    login_max_failures_per_address: int = Field(
        default=50,
        ge=0,
        description="Failed logins one client address may make within the window before "
        "further attempts get HTTP 429 (0: no limit).",
    )
    login_failure_window_seconds: float = Field(
        default=900.0, gt=0, description="The sliding window of the login failure limits."
    )
    password_hash_concurrency: int = Field(
        default=4,
        ge=1,
        le=256,
        description="Password hashes (login, registration) computed at once; each Argon2 "
        "hash takes 64 MiB.",
    )
    password_hash_wait_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a login waits for a hashing slot before it gets HTTP 429.",
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest JSON request body accepted."
    )

    langfuse_default_host: str = Field(
        default="https://cloud.langfuse.com",
        description="Host used when a configuration omits `host`; empty makes it required.",
    )
    langfuse_host_policy: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["no-private"],
        description="Which hosts tenants may make the server call, for Langfuse hosts and "
        "model providers' base URLs alike: `no-private` (default), `any`, or a comma-separated "
        "allowlist of host names.",
    )
    host_allowlist: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names let through although they resolve to private or loopback "
        "addresses (a local Langfuse or model server), under `no-private`.",
    )
    langfuse_allow_http: bool = Field(
        default=False,
        description="Accept `http://` Langfuse hosts that are not loopback (the secret key "
        "then crosses the network in clear).",
    )
    langfuse_validate_timeout: float = Field(
        default=5.0, gt=0, le=60, description="Seconds allowed for the credential check."
    )
    langfuse_validations_per_tenant: int = Field(
        default=2,
        ge=0,
        description="Concurrent Langfuse key checks per tenant; more get code 103 at once "
        "(0: no limit).",
    )
    provider_calls_per_tenant: int = Field(
        default=8,
        ge=0,
        description="Concurrent requests to model providers per tenant (verification, chat, "
        "embedding, …); more get code 103 at once (0: no limit).",
    )
    langfuse_revalidate_seconds: int = Field(
        default=300, ge=0, description="Minimum seconds between background re-validations."
    )
    trace_prefix: str = Field(default="ragflow-", description="Prefix of every trace name.")
    metrics_token: str = Field(
        default="",
        description="Bearer token `GET /metrics` requires; empty: no token (restrict it at "
        "the network edge).",
        repr=False,
    )
    trace_flush_interval: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description="Longest wait, in seconds, before a tenant's pending spans are sent.",
    )
    trace_config_refresh_seconds: float = Field(
        default=2.0,
        gt=0,
        le=300,
        description="Seconds between reloads of tenants' tracing configuration (changes made "
        "by other server processes show up within this time).",
    )
    trace_spool_max_bytes_per_tenant: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="On-disk spool budget per tenant for undeliverable spans; the oldest "
        "batches beyond it are dropped and counted.",
    )
    trace_queue_max_spans: int = Field(
        default=20_000,
        ge=1,
        description="Spans held in memory per tenant awaiting export; the oldest beyond it "
        "are dropped and counted.",
    )
    trace_batch_max_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=0,
        description="Largest encoded body (OTLP protobuf before gzip) of one export request; "
        "a batch is cut before it would pass this (0: batches are cut by span count only).",
    )
    trace_queue_max_bytes_per_tenant: int = Field(
        default=32 * 1024 * 1024,
        ge=0,
        description="Spans held in memory per tenant, in estimated bytes; past three quarters "
        "of it the tenant's batches go to the spool, past it the oldest are dropped (0: no cap).",
    )
    trace_memory_max_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=0,
        description="Spans and batches held in memory by all tenants together, in bytes; past "
        "three quarters of it batches go to the spool, past it new spans are dropped (0: no "
        "budget).",
    )
    trace_max_field_chars: int = Field(
        default=20_000,
        ge=0,
        description="Traced inputs/outputs longer than this are truncated with a marker "
        "(0: no cap).",
    )
    trace_export_timeout: float = Field(
        default=5.0, gt=0, le=120, description="Seconds allowed for one export request."
    )
    trace_workers: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Export threads, shared by all tenants (their number does not grow "
        "with tenants).",
    )
    max_upload_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1,
        description="Largest multipart request body (document uploads), in bytes; other "
        "bodies keep RAGPRISM_MAX_BODY_BYTES.",
    )
    search_side_connections: int = Field(
        default=4,
        ge=0,
        le=64,
        description="PostgreSQL + pgvector: searches per process that may run their vector "
        "side on a second connection while the full-text side runs (0: never).",
    )
    parse_workers: int = Field(
        default=1,
        ge=0,
        le=64,
        description="Background document-parsing threads per server process (0: this "
        "process does not parse).",
    )
    parse_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a parsing worker holds a document without renewing its claim; "
        "after a crash another worker takes the document over once it expires.",
    )
    parse_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Seconds an idle parsing worker waits before looking for queued documents "
        "(a parse request on this process wakes it at once).",
    )

    parse_timeout_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Longest time parsing one document may take. Each document is parsed in "
        "a child process, which is killed past it; the document fails with a message naming "
        "this setting.",
    )
    parse_memory_mib: int = Field(
        default=1024,
        ge=0,
        description="Memory (address space, MiB) the child process parsing one document may "
        "add to what it starts with; past it the document fails (0: no limit; Linux only).",
    )
    parse_tenant_concurrency: int = Field(
        default=1,
        ge=0,
        description="Most documents of one tenant parsed at once, by all parse workers of "
        "all processes together; tenants are served in turn (0: no limit).",
    )

    @field_validator("langfuse_host_policy", mode="before")
    @classmethod
    def _split_policy(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip().lower() for part in value.split(",") if part.strip()]
            return parts or ["no-private"]
        return value

    @field_validator("host_allowlist", mode="before")
    @classmethod
    def _split_allowlist(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'ragprism.db').resolve()}"

    @property
    def resolved_key_file(self) -> Path:
        """The master key file path."""
        return self.master_key_file or self.data_dir / "master.key"

    @property
    def host_policy_mode(self) -> HostPolicyMode:
        """How Langfuse hosts are screened: `any`, `no-private` or `allowlist`."""
        first = self.langfuse_host_policy[0]
        if first in ("any", "no-private"):
            return first  # type: ignore[return-value]
        return "allowlist"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
