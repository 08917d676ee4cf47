"""Domain errors. Services raise these; one handler maps them to RAGFlow's envelope."""

from __future__ import annotations

from enum import IntEnum


class RetCode(IntEnum):
    """RAGFlow's response codes."""

    SUCCESS = 0
    EXCEPTION_ERROR = 100
    ARGUMENT_ERROR = 101
    DATA_ERROR = 102
    OPERATING_ERROR = 103
    CONNECTION_ERROR = 105
    PERMISSION_ERROR = 108
    AUTHENTICATION_ERROR = 109
    UNAUTHORIZED = 401
    FORBIDDEN = 403
    NOT_FOUND = 404
    SERVER_ERROR = 500


class RagprismError(Exception):
    """Base of every error that is a handled outcome, not a bug."""

    code: RetCode = RetCode.EXCEPTION_ERROR
    http_status: int = 200

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(RagprismError):
    """A missing or malformed field; the message names it."""

    code = RetCode.ARGUMENT_ERROR


class DataError(RagprismError):
    """Input that is well formed but wrong: bad credentials, duplicates, missing records."""

    code = RetCode.DATA_ERROR


class NotFound(DataError):
    """A record that does not exist or belongs to another tenant (indistinguishable)."""


class Conflict(DataError):
    """A duplicate."""


class OperatingError(RagprismError):
    """The request cannot be carried out in the current state."""

    code = RetCode.OPERATING_ERROR


class UpstreamUnavailable(RagprismError):
    """An upstream service timed out, refused the connection or failed with a 5xx."""

    code = RetCode.CONNECTION_ERROR


class TooManyRequests(RagprismError):
    """A limit was reached; the client may retry after ``retry_after`` seconds (HTTP 429)."""

    code = RetCode.OPERATING_ERROR
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermissionDenied(RagprismError):
    """The caller is authenticated but its role does not allow this."""

    code = RetCode.PERMISSION_ERROR


class AuthenticationFailed(RagprismError):
    """Wrong e-mail or password."""

    code = RetCode.AUTHENTICATION_ERROR


class Unauthorized(RagprismError):
    """No, invalid, expired or revoked token."""

    code = RetCode.UNAUTHORIZED
    http_status = 401
