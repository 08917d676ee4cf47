"""Keeps API keys out of the access log.

``DELETE /v1/system/token/{token}`` (RAGFlow's route) names the key to delete by the key
itself, in the path, and uvicorn's access log writes every path. This filter rewrites the
path of that route before the record is formatted: the key is masked, its id kept.
"""

from __future__ import annotations

import logging
import re

from ragprism.security.tokens import API_KEY_PREFIX

_TOKEN_PATH = re.compile(r"(/v1/system/token/)([^?\s\"]+)")


def _mask(match: re.Match[str]) -> str:
    handle = match.group(2)
    if re.fullmatch(r"[0-9a-f]{32}", handle):
        return match.group(0)  # a key's id is not a secret
    prefix = API_KEY_PREFIX if handle.startswith(API_KEY_PREFIX) else ""
    return f"{match.group(1)}{prefix}***"


def mask_token_paths(text: str) -> str:
    """``text`` with the key of every token-deletion path masked."""
    return _TOKEN_PATH.sub(_mask, text)


class TokenPathFilter(logging.Filter):
    """Masks API keys in the paths of access-log records (uvicorn's ``(client, method,
    path, version, status)`` arguments) and in plain messages."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                mask_token_paths(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        elif isinstance(record.msg, str):
            record.msg = mask_token_paths(record.msg)
        return True


def install(logger_name: str = "uvicorn.access") -> None:
    """Add the filter to ``logger_name`` once (create_app may run more than once)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(existing, TokenPathFilter) for existing in logger.filters):
        logger.addFilter(TokenPathFilter())
