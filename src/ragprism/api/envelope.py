"""RAGFlow's response envelope."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from ragprism.errors import RetCode


def ok(data: Any = True, message: str = "success") -> dict[str, Any]:
    """A success envelope."""
    return {"code": RetCode.SUCCESS, "message": message, "data": data}


def failure(
    code: int, message: str, status_code: int = 200, data: dict[str, Any] | None = None
) -> JSONResponse:
    """A failure envelope as a response (``data``, such as a failed answer's trace ids,
    only where there is some)."""
    return JSONResponse(
        {"code": int(code), "message": message, "data": data}, status_code=status_code
    )
