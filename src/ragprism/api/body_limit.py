"""Refuses request bodies larger than a limit, whether or not they declare a length."""

from __future__ import annotations

import json
import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragprism.errors import RetCode


def too_large_message(max_bytes: int) -> str:
    return f"request body too large (limit {max_bytes} bytes)"


class BodyTooLarge(HTTPException):
    """Raised while an oversized body is read.

    An ``HTTPException`` because FastAPI turns any other error raised while it reads a body
    into a 400 "error parsing the body"; this one it lets through to the 413 handler.
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, too_large_message(max_bytes), headers={"Connection": "close"})


# The routes that take file uploads: only there may a multipart body be larger.
UPLOAD_ROUTES = (
    ("POST", re.compile(r"^/api/v1/datasets/[^/]+/documents/?$")),
    ("POST", re.compile(r"^/api/v1/chat/audio/transcription/?$")),
)


def is_upload(method: str, path: str) -> bool:
    """Whether ``method path`` is a file-upload route."""
    return any(method == want and pattern.match(path) for want, pattern in UPLOAD_ROUTES)


class BodyLimitMiddleware:
    """Pure ASGI middleware: answers 413 with an envelope before the route sees the body."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # File uploads (multipart bodies to an upload route) may be larger than JSON bodies.
        self.max_upload_bytes = max(max_upload_bytes or max_bytes, max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        content_type = headers.get(b"content-type", b"").lower()
        upload = content_type.startswith(b"multipart/") and is_upload(
            scope.get("method", ""), scope.get("path", "")
        )
        limit = self.max_upload_bytes if upload else self.max_bytes
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False
            if too_big:
                await self._refuse(send, limit)
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = json.dumps(
            {
                "code": int(RetCode.ARGUMENT_ERROR),
                "message": too_large_message(limit),
                "data": None,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
