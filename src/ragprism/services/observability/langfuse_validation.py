"""The credential check against a Langfuse host (SPEC §3.3).

``GET {host}/api/public/projects`` with HTTP Basic ``public_key:secret_key`` through the
``langfuse`` package's API client, over an httpx client that follows no redirects and
connects only to addresses the host policy accepts. Every outcome maps to a domain error
whose message names the host and never the secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx
import pydantic
from langfuse.api import LangfuseAPI
from langfuse.api.core.api_error import ApiError

from ragprism.errors import DataError, InvalidArgument, UpstreamUnavailable
from ragprism.security.host_policy import HostPolicy, HostRefused, guarded_client

INVALID_KEYS = "Invalid Langfuse keys"


@dataclass(frozen=True, repr=False)
class LangfuseCredentials:
    """A key pair and the host it belongs to. ``repr`` hides the secret."""

    public_key: str
    secret_key: str
    host: str

    def __repr__(self) -> str:
        return f"LangfuseCredentials(public_key={self.public_key!r}, host={self.host!r})"


@dataclass(frozen=True)
class LangfuseProject:
    """The project a key pair belongs to."""

    id: str
    name: str


class InvalidLangfuseKeys(DataError):
    """Langfuse answered 401/403."""


class NotLangfuse(DataError):
    """The host answered, but not as Langfuse does."""


def validate_credentials(
    credentials: LangfuseCredentials, policy: HostPolicy, timeout: float
) -> LangfuseProject:
    """The project of ``credentials``, or a domain error saying why they cannot be used."""
    host = credentials.host
    try:
        policy.check_url(host)
        with guarded_client(policy, timeout) as client:
            api = LangfuseAPI(
                base_url=host,
                username=credentials.public_key,
                password=credentials.secret_key,
                x_langfuse_public_key=credentials.public_key,
                x_langfuse_sdk_name="ragprism",
                httpx_client=client,
            )
            # One attempt: the caller is waiting, and a failure is reported, not hidden.
            projects = api.projects.get(request_options={"max_retries": 0})
    except HostRefused as exc:
        raise InvalidArgument(f"host: {exc}") from None
    except httpx.TimeoutException:
        raise UpstreamUnavailable(
            f"Langfuse at {host} did not answer within {timeout:g} s"
        ) from None
    except httpx.TransportError as exc:
        raise UpstreamUnavailable(
            f"Cannot connect to Langfuse at {host}: {type(exc).__name__}"
            + (f": {exc}" if str(exc) else "")
        ) from None
    except ApiError as exc:
        raise _api_error(host, exc) from None
    except (pydantic.ValidationError, json.JSONDecodeError, ValueError, TypeError):
        raise NotLangfuse(_not_langfuse(host, "unexpected response body")) from None
    if not projects.data:
        raise DataError(f"The keys are valid but Langfuse at {host} lists no project for them")
    project = projects.data[0]
    return LangfuseProject(id=project.id, name=project.name)


def _api_error(host: str, exc: ApiError) -> DataError | UpstreamUnavailable:
    status = exc.status_code or 0
    if status in (401, 403):
        return InvalidLangfuseKeys(INVALID_KEYS)
    if status == 429 or status >= 500:
        return UpstreamUnavailable(f"Langfuse at {host} failed: HTTP {status}")
    if 300 <= status < 400:
        location = (exc.headers or {}).get("location", "another address")
        return NotLangfuse(
            f"{host} redirects to {location}; redirects are not followed, configure the final host"
        )
    if 200 <= status < 300:
        return NotLangfuse(_not_langfuse(host, "the body is not JSON"))
    return NotLangfuse(_not_langfuse(host, f"HTTP {status} from /api/public/projects"))


def _not_langfuse(host: str, detail: str) -> str:
    return f"{host} did not answer like a Langfuse server ({detail})"
