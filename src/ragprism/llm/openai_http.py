"""The HTTP side of OpenAI-compatible providers: one client, retries, errors, SSE.

``OpenAIHTTPClient`` wraps one ``httpx.Client`` per provider instance. It retries
429/5xx answers and connection failures with jittered exponential backoff, honouring
``Retry-After`` within a small total budget, and turns every failure into a domain
error whose message names the base URL and never the API key:

* timeout, connection failure, 5xx (after retries) -> ``UpstreamUnavailable`` (105)
* 401/403 -> ``DataError("invalid API key for <base_url>")`` (102)
* other 4xx -> ``DataError`` with the message of the provider's JSON error (102); a
  body that is not a JSON error is never echoed
* a body that is not the expected JSON -> ``DataError("unexpected response from ...")``

Azure-style base URLs (``.../deployments/<name>?api-version=...``) work: the query is
passed through on every request and the key goes into an ``api-key`` header.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import ssl
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any

import httpx

from ragprism.errors import DataError, InvalidArgument, UpstreamUnavailable
from ragprism.security.host_policy import HostRefused

logger = logging.getLogger(__name__)

JSONObject = dict[str, Any]

# Transport failures that happen before the provider could have done any work.
_RETRY_ERRORS = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)
_MESSAGE_LIMIT = 200


@cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context shared by every provider (each costs ~0.1 s to build)."""
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``attempts`` in total, waits doubling from ``backoff``.

    A wait (computed or asked for with ``Retry-After``) longer than ``max_delay`` or
    beyond the ``max_total`` budget of waiting ends the retries instead.
    """

    attempts: int = 3
    backoff: float = 0.5
    max_delay: float = 8.0
    max_total: float = 15.0

    def delay(self, attempt: int) -> float:
        """The jittered wait after failed attempt number ``attempt`` (1-based)."""
        return self.backoff * 2.0 ** (attempt - 1) * random.uniform(0.5, 1.0)


NO_RETRY = RetryPolicy(attempts=1)


@dataclass(frozen=True, repr=False)
class ProviderEndpoint:
    """Where and how to reach a provider. ``repr`` never shows the API key.

    ``transport`` lets the caller plug in a guarded transport (host policy) or a test
    transport; ``sleep`` is how retries wait (tests record instead of sleeping).
    """

    base_url: str
    api_key: str | None = None
    timeout: float = 60.0
    connect_timeout: float = 5.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    headers: Mapping[str, str] = field(default_factory=dict)
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep

    def __repr__(self) -> str:
        return f"ProviderEndpoint(base_url={self.base_url!r})"


class OpenAIHTTPClient:
    """JSON, multipart and SSE requests to one OpenAI-compatible base URL."""

    def __init__(self, endpoint: ProviderEndpoint) -> None:
        """Open the client (connections are made lazily)."""
        url = httpx.URL(endpoint.base_url.strip())
        if url.scheme not in ("http", "https") or not url.host:
            raise InvalidArgument("base_url: must be an absolute http(s) URL")
        self._params = url.params
        self._base = str(url.copy_with(query=None, fragment=None)).rstrip("/")
        # Shown in messages: no credentials, no query (someone may have put a key there).
        self.display_url = str(
            url.copy_with(username=None, password=None, query=None, fragment=None)
        ).rstrip("/")
        self._api_key = endpoint.api_key or None
        self._retry = endpoint.retry
        self._sleep = endpoint.sleep
        self._timeout = endpoint.timeout
        headers = {"Accept": "application/json", "User-Agent": "ragprism", **endpoint.headers}
        if self._api_key:
            azure = "api-version" in self._params or url.host.endswith(".azure.com")
            if azure:
                headers["api-key"] = self._api_key
            else:
                headers["Authorization"] = f"Bearer {self._api_key}"
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(endpoint.timeout, connect=endpoint.connect_timeout),
            transport=endpoint.transport,
            verify=_tls_context(),
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self._client.close()

    # -- requests ------------------------------------------------------------------

    def post_json(self, path: str, body: JSONObject) -> JSONObject:
        """POST ``body`` and return the JSON object answered."""
        return self._json(self._send(path, json=body))

    def post_multipart(
        self, path: str, data: Mapping[str, str], files: Mapping[str, tuple[str, bytes, str]]
    ) -> JSONObject:
        """POST a multipart form and return the JSON object answered."""
        return self._json(self._send(path, data=dict(data), files=dict(files)))

    def get_json(self, path: str) -> JSONObject:
        """GET ``path`` and return the JSON object answered."""
        return self._json(self._send(path, method="GET"))

    def stream_events(self, path: str, body: JSONObject) -> Generator[JSONObject, None, None]:
        """POST ``body`` and yield the JSON payloads of the server-sent events answered.

        Ends at ``data: [DONE]``; an end without it (and without a ``finish_reason``)
        or a broken connection raises ``UpstreamUnavailable`` after the events already
        yielded. A JSON (not event-stream) answer is yielded as one event. Closing the
        generator early closes the response and its connection.
        """
        response = self._send(path, json=body, stream=True)
        try:
            if response.headers.get("content-type", "").startswith("application/json"):
                response.read()
                yield self._json(response)
                return
            finished = False
            events = 0
            lines = response.iter_lines()
            for data in _sse_data(lines):
                if data.strip() == "[DONE]":
                    # Read to the end of the body so the connection goes back to the pool.
                    for _ in lines:
                        pass
                    return
                try:
                    event = json.loads(data)
                except json.JSONDecodeError:
                    raise self.unexpected("an event is not JSON") from None
                if not isinstance(event, dict):
                    raise self.unexpected("an event is not a JSON object")
                if "error" in event and not event.get("choices"):
                    raise DataError(f"{self.display_url} failed mid-stream: {self._message(event)}")
                finished = finished or _has_finish_reason(event)
                events += 1
                yield event
            if not events:
                raise self.unexpected("the body is not an event stream")
            if not finished:
                # EOF without [DONE] or a finish_reason: the connection was cut.
                raise UpstreamUnavailable(
                    f"the stream from {self.display_url} ended before the answer was complete"
                )
        except httpx.TimeoutException:
            raise UpstreamUnavailable(
                f"the stream from {self.display_url} stalled for more than {self._timeout:g} s"
            ) from None
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(
                f"the stream from {self.display_url} broke off: {self._describe(exc)}"
            ) from None
        finally:
            response.close()

    def unexpected(self, detail: str) -> DataError:
        """The error for an answer that is not what an OpenAI-compatible API sends."""
        return DataError(f"unexpected response from {self.display_url}: {detail}")

    # -- internals -----------------------------------------------------------------

    def _send(
        self,
        path: str,
        *,
        method: str = "POST",
        json: JSONObject | None = None,
        data: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        url = f"{self._base}/{path.lstrip('/')}"
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            # A fresh request per attempt: a multipart body is a stream, consumed once.
            request = self._client.build_request(
                method, url, params=self._params, json=json, data=data, files=files
            )
            try:
                response = self._client.send(request, stream=stream)
            except httpx.TimeoutException as exc:
                if not isinstance(exc, httpx.ConnectTimeout):
                    # The provider may be working on it: retrying would multiply the wait.
                    raise UpstreamUnavailable(
                        f"{self.display_url} did not answer within {self._timeout:g} s"
                    ) from None
                failure = f"cannot connect to {self.display_url}: {self._describe(exc)}"
                wait = self._retry.delay(attempt)
            except _RETRY_ERRORS as exc:
                failure = f"cannot connect to {self.display_url}: {self._describe(exc)}"
                wait = self._retry.delay(attempt)
            except httpx.TransportError as exc:
                raise UpstreamUnavailable(
                    f"cannot connect to {self.display_url}: {self._describe(exc)}"
                ) from None
            except HostRefused as exc:
                raise InvalidArgument(f"base_url: {exc}") from None
            else:
                if response.status_code < 300:
                    return response
                # The status decides; the body only explains, so a broken one is no matter.
                with contextlib.closing(response), contextlib.suppress(httpx.TransportError):
                    response.read()
                error = self._status_error(response)
                if not self._retryable(response):
                    raise error
                failure = error.message
                retry_after = _retry_after(response.headers.get("retry-after"))
                wait = retry_after if retry_after is not None else self._retry.delay(attempt)
            if (
                attempt >= self._retry.attempts
                or wait > self._retry.max_delay
                or waited + wait > self._retry.max_total
            ):
                raise UpstreamUnavailable(failure)
            logger.warning(
                "%s (attempt %d of %d); retrying in %.2f s",
                failure,
                attempt,
                self._retry.attempts,
                wait,
            )
            self._sleep(wait)
            waited += wait

    def _retryable(self, response: httpx.Response) -> bool:
        status = response.status_code
        if status not in (408, 409, 429) and (status < 500 or status == 501):
            return False
        # OpenAI answers 429 for an exhausted quota too: waiting does not help then.
        return _error_code(_parse(response)) != "insufficient_quota"

    def _status_error(self, response: httpx.Response) -> DataError | UpstreamUnavailable:
        status = response.status_code
        if status in (401, 403):
            return DataError(f"invalid API key for {self.display_url}")
        message = self._message(_parse(response)) or response.reason_phrase
        where = f"{self.display_url} (HTTP {status})"
        if self._retryable(response) or status >= 500:
            return UpstreamUnavailable(f"{where} failed: {message}")
        if 300 <= status < 400:
            location = response.headers.get("location", "another address")
            return self.unexpected(f"a redirect to {location}; configure the final URL")
        return DataError(f"{where} refused the request: {message}")

    def _message(self, payload: Any) -> str:
        """The provider's error message, whatever the provider's error shape, key scrubbed."""
        message: Any = None
        if isinstance(payload, dict):
            error = payload.get("error")
            if isinstance(error, dict):
                message = error.get("message")
            elif isinstance(error, str):
                message = error
            message = message or payload.get("message") or payload.get("detail")
        # Only a JSON error's own message string is shown: a body that is not an API error
        # (an internal service's page behind a mistyped base URL) is never echoed.
        if not isinstance(message, str):
            return ""
        text = message
        return self._scrub(" ".join(text.split()))[:_MESSAGE_LIMIT]

    def _describe(self, exc: Exception) -> str:
        detail = self._scrub(str(exc))
        return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _json(self, response: httpx.Response) -> JSONObject:
        try:
            payload = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise self.unexpected("the body is not JSON") from None
        if not isinstance(payload, dict):
            raise self.unexpected("the body is not a JSON object")
        return payload


def _parse(response: httpx.Response) -> Any:
    """An error body: JSON, else text, else None (also when it could not be read)."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text.strip() or None
    except httpx.ResponseNotRead:
        return None


def _has_finish_reason(event: JSONObject) -> bool:
    choices = event.get("choices")
    return isinstance(choices, list) and any(
        isinstance(choice, dict) and bool(choice.get("finish_reason")) for choice in choices
    )


def _error_code(payload: Any) -> str | None:
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        code = payload["error"].get("code")
        return code if isinstance(code, str) else None
    return None


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _sse_data(lines: Iterator[str]) -> Iterator[str]:
    """The ``data`` of each server-sent event (multi-line data joined with newlines)."""
    buffer: list[str] = []
    for line in lines:
        if not line:
            if buffer:
                yield "\n".join(buffer)
                buffer = []
        elif line.startswith("data:"):
            value = line[5:]
            buffer.append(value[1:] if value.startswith(" ") else value)
        # "event:", "id:", "retry:" and ":" comments carry nothing we need.
    if buffer:
        yield "\n".join(buffer)
