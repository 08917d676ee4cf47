"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ragprism import __version__
from ragprism.api import access_log, docs, errors, openapi, web_app
from ragprism.api.body_limit import BodyLimitMiddleware
from ragprism.api.routes import (
    audio,
    chats,
    chunks,
    completions,
    datasets,
    documents,
    langfuse,
    llm,
    metrics,
    openai_compat,
    retrieval,
    sessions,
    system,
    tenant,
    unsupported,
    usage,
    user,
)
from ragprism.api.unicode_body import LoneSurrogateMiddleware
from ragprism.runtime import Runtime
from ragprism.settings import Settings, get_settings


def create_app(settings: Settings | None = None, state: Runtime | None = None) -> FastAPI:
    """A configured application. Tests pass their own settings or state."""
    settings = settings or (state.settings if state else get_settings())
    app_state = state or Runtime.build(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        app_state.start()
        yield
        app_state.close()

    app = FastAPI(
        title="ragprism",
        version=__version__,
        description="Multi-tenant RAG chat server with per-tenant Langfuse tracing. "
        "RAGFlow-compatible HTTP API.",
        lifespan=lifespan,
        docs_url=None,  # served by api/docs.py, without a CDN
        redoc_url=None,
    )
    app.state.ragprism = app_state
    errors.install(app)
    access_log.install()
    # Added first, so it runs inside the body limit: it only ever sees bounded bodies.
    app.add_middleware(LoneSurrogateMiddleware)
    docs.install(app)
    openapi.install(app)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    accounts = (user, system, tenant, langfuse, llm, metrics)
    knowledge = (datasets, documents, chunks, retrieval)
    conversation = (chats, sessions, completions, openai_compat, audio, usage)
    for module in (*accounts, *knowledge, *conversation):
        app.include_router(module.router)
    app.include_router(unsupported.router)  # last: RAGFlow routes ragprism lacks
    # Last: its catch-all route must not shadow an API route.
    web_app.install(app, settings.web_dist_dir or web_app.default_dist_dir())
    return app
