"""Refuses JSON bodies that carry a lone UTF-16 surrogate (``"\\ud800"``).

JSON allows such escapes, Python decodes them into strings that cannot be encoded, and the
failure surfaces late: when the database stores the text (after part of a change was made)
or when a response is encoded. Checking here, once for every route, refuses the request
with code 101 naming the field before any route runs, and nothing is stored.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragprism.errors import RetCode

# A cheap prefilter: only a body with a surrogate escape needs the full check.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def lone_surrogate_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (or key) in ``value`` that is not valid
    Unicode, or None."""
    if isinstance(value, str):
        return None if _encodable(value) else (path or "body")
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if not _encodable(key):
                return path or "body"
            found = lone_surrogate_path(item, where)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = lone_surrogate_path(item, f"{path}[{index}]" if path else f"[{index}]")
            if found:
                return found
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class LoneSurrogateMiddleware:
    """Pure ASGI middleware: buffers a body that contains a surrogate escape, answers 101 if
    it decodes to invalid Unicode, and otherwise replays it to the application."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        content_type = headers.get(b"content-type", b"").lower()
        if content_type.startswith((b"multipart/", b"application/x-www-form-urlencoded")):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        field = _offending_field(body)
        if field is not None:
            await _refuse(send, f"{field}: invalid Unicode (a lone UTF-16 surrogate)")
            return
        replay: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay([replay], receive), send)


def _offending_field(body: bytes) -> str | None:
    if not _SURROGATE_ESCAPE.search(body):
        return None
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None  # not JSON: the route reports that
    return lone_surrogate_path(parsed)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return replay


async def _refuse(send: Send, message: str) -> None:
    body = json.dumps({"code": int(RetCode.ARGUMENT_ERROR), "message": message, "data": None})
    encoded = body.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(encoded)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": encoded})
