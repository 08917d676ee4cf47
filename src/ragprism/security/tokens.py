"""Random bearer tokens, their digests and their masked display form."""

from __future__ import annotations

import hashlib
import secrets

API_KEY_PREFIX = "ragflow-"


def new_login_token() -> str:
    """A web login token (opaque, URL-safe)."""
    return secrets.token_urlsafe(32)


def new_api_key() -> str:
    """An API key in RAGFlow's shape: ``ragflow-`` and 32 random characters."""
    return API_KEY_PREFIX + secrets.token_urlsafe(24)


def digest(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def mask_secret(secret: str) -> str:
    """A display form revealing at most the first 8 and last 4 characters and never more
    than a third of the secret (SPEC §3.5), e.g. ``sk-lf-12…a1b2``."""
    budget = len(secret) // 3
    tail = min(4, budget // 2)
    head = min(8, budget - tail)
    return f"{secret[:head]}…{secret[len(secret) - tail :] if tail else ''}"
