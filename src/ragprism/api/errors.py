"""The one place where errors become RAGFlow envelopes."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ragprism.api.envelope import failure
from ragprism.errors import RagprismError, RetCode, TooManyRequests

log = logging.getLogger(__name__)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def describe_validation_error(exc: RequestValidationError) -> str:
    """A short message naming every offending field."""
    messages: list[str] = []
    for err in exc.errors():
        kind = err.get("type", "")
        loc = tuple(err.get("loc", ()))
        if kind == "json_invalid":
            messages.append("malformed JSON body")
        elif kind == "missing" and loc == ("body",):
            messages.append("a JSON object body is required")
        elif kind == "missing":
            messages.append(f"{_field(loc)}: required")
        elif loc == ("body",):
            messages.append("body must be a JSON object")
        elif kind in ("model_attributes_type", "dict_type"):
            messages.append(f"{_field(loc)}: must be a JSON object")
        else:
            messages.append(f"{_field(loc)}: {err.get('msg', 'invalid')}")
    return "; ".join(dict.fromkeys(messages)) or "invalid request"


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(RagprismError)
    async def _domain(_: Request, exc: RagprismError) -> JSONResponse:
        response = failure(exc.code, exc.message, exc.http_status)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return failure(RetCode.ARGUMENT_ERROR, describe_validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: RetCode.UNAUTHORIZED, 403: RetCode.FORBIDDEN, 404: RetCode.NOT_FOUND}.get(
            exc.status_code,
            RetCode.ARGUMENT_ERROR if exc.status_code < 500 else RetCode.SERVER_ERROR,
        )
        response = failure(code, str(exc.detail), exc.status_code)
        response.headers.update(exc.headers or {})  # e.g. Allow on 405, Connection on 413
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug: log it with its trace, tell the client nothing about internals.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return failure(RetCode.SERVER_ERROR, "Internal server error.", 500)
