"""OpenAI-compatible fake server for the test suite.

``FakeOpenAI`` runs a real HTTP server on loopback (stdlib ``ThreadingHTTPServer``, one
thread per connection, so a hung request never blocks the others) implementing the
parts of the OpenAI API that ragprism's providers talk to, with deterministic answers:

* ``POST /v1/chat/completions``      whole or streamed (SSE, chunked), vision parts too
* ``POST /v1/embeddings``            vectors of ``dimension`` floats derived from the text
* ``POST /v1/rerank``                Jina-shaped scores by term overlap
* ``POST /v1/audio/transcriptions``  multipart; answers ``transcribed <name> (<n> bytes)``
* ``GET  /v1/models``

Every request is recorded with its body. Faults (latency, hangs, error statuses with
``Retry-After``, garbage bodies, resets, streams cut or held mid-answer) can be switched on at
runtime for all or some endpoints, optionally for the next ``times`` requests only.

Example::

    with FakeOpenAI(api_key="sk-test") as server:
        server.fail_next(1, 503)
        ...  # point the code under test at server.url (ends in /v1)
        assert server.request_count("chat") == 2
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email.policy
import hashlib
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from tests.support.loopback import LoopbackHandler, LoopbackServer

ENDPOINTS: dict[str, str] = {
    "chat": "/v1/chat/completions",
    "embeddings": "/v1/embeddings",
    "rerank": "/v1/rerank",
    "transcriptions": "/v1/audio/transcriptions",
    "models": "/v1/models",
}
"""Endpoint names accepted by the ``endpoints=`` filter of the fault methods."""

Endpoints = str | Iterable[str] | None
"""An ``ENDPOINTS`` name, a path starting with "/", several of these, or None for all."""

FaultKind = Literal["latency", "hang", "status", "garbage", "reset", "break_stream", "pause_stream"]

GARBAGE = b"<html><body>502 Bad Gateway? {not json"
IMAGE_TOKENS = 85
_JSON = "application/json"
_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+);base64,(.*)$", re.DOTALL)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it; ``status`` is None when the connection was cut.

    ``json`` is the decoded JSON body (None if not JSON); ``form`` the multipart fields,
    files as ``{"filename", "content_type", "size", "content"}``.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any
    form: dict[str, Any] | None
    status: int | None
    fault: str | None


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes = b""
    content_type: str = _JSON
    headers: tuple[tuple[str, str], ...] = ()
    events: tuple[bytes, ...] | None = None  # a server-sent event stream instead of a body
    break_after: int | None = None
    # Hold the stream after this many events until ``resume`` is set (a slow model).
    pause_after: int | None = None
    resume: threading.Event | None = None


def _json_response(
    status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()
) -> _Response:
    return _Response(status, json.dumps(payload).encode(), _JSON, headers)


def openai_error(
    status: int, message: str, kind: str = "invalid_request_error", code: str | None = None
) -> _Response:
    """An error in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""
    error = {"message": message, "type": kind, "param": None, "code": code}
    return _json_response(status, {"error": error})


@dataclass
class _Fault:
    kind: FaultKind
    paths: frozenset[str] | None
    remaining: int | None
    release: threading.Event
    delay: float = 0.0
    response: _Response | None = None
    break_after: int = 0

    @property
    def terminal(self) -> bool:
        """Whether the fault replaces or cuts the response (latency and hang only delay it)."""
        return self.kind not in ("latency", "hang")

    def matches(self, path: str) -> bool:
        """Whether the fault applies to a request for ``path``."""
        return self.paths is None or path in self.paths


def _resolve_paths(endpoints: Endpoints) -> frozenset[str] | None:
    if endpoints is None:
        return None
    names = [endpoints] if isinstance(endpoints, str) else list(endpoints)
    paths: set[str] = set()
    for name in names:
        if name.startswith("/"):
            paths.add(name.rstrip("/") or "/")
        elif name in ENDPOINTS:
            paths.add(ENDPOINTS[name])
        else:
            raise ValueError(f"unknown endpoint {name!r}: use one of {sorted(ENDPOINTS)} or a path")
    return frozenset(paths)


def _words(text: str) -> int:
    return len(text.split())


def _text_of(content: Any) -> tuple[str, list[tuple[str, int]]]:
    """The text of a message content and the (mime, size) of its images."""
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        raise ValueError("content must be a string or a list of parts")
    texts: list[str] = []
    images: list[tuple[str, int]] = []
    for part in content:
        if not isinstance(part, dict):
            raise ValueError("a content part must be an object")
        if part.get("type") == "text":
            texts.append(str(part.get("text", "")))
        elif part.get("type") == "image_url":
            url = (part.get("image_url") or {}).get("url", "")
            match = _DATA_URL.match(url)
            if match is None:
                raise ValueError("image_url.url must be a base64 data: URL")
            try:
                size = len(base64.b64decode(match.group(2), validate=True))
            except binascii.Error:
                raise ValueError("image_url.url is not valid base64") from None
            images.append((match.group(1), size))
        else:
            raise ValueError(f"unsupported content part type {part.get('type')!r}")
    return "\n".join(texts), images


def fake_vector(text: str, dimension: int) -> list[float]:
    """The unit vector FakeOpenAI answers for ``text``: deterministic, from its hash."""
    raw = hashlib.shake_256(text.encode()).digest(2 * dimension)
    values = [int.from_bytes(raw[i : i + 2], "big") / 32767.5 - 1.0 for i in range(0, len(raw), 2)]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    return [v / norm for v in values]


def overlap_score(query: str, document: str) -> float:
    """Share of the query's words found in ``document`` (FakeOpenAI's rerank score)."""
    wanted = set(_WORD.findall(query.lower()))
    if not wanted:
        return 0.0
    return len(wanted & set(_WORD.findall(document.lower()))) / len(wanted)


class FakeOpenAI(LoopbackServer):
    """An OpenAI-compatible HTTP server on loopback, with switchable faults.

    ``api_key``: the Bearer token (or Azure ``api-key`` header) required, None for no
    auth. ``reply``: fixed chat answer, else ``"Echo: <first 50 chars of the last user
    message>"``. ``dimension``: length of embedding vectors. Every public method is
    thread-safe.
    """

    NAME = "openai"

    def __init__(
        self,
        api_key: str | None = "sk-fake-test-key",
        *,
        reply: str | None = None,
        dimension: int = 8,
        models: Sequence[str] = ("fake-chat", "fake-embedding", "fake-rerank", "fake-whisper"),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Prepare the server (it listens only after ``start()``)."""
        super().__init__(host, port)
        self.api_key = api_key
        self.dimension = dimension
        self.models = list(models)
        self._reply = reply
        self._changed = threading.Condition(self._lock)
        self._requests: list[RequestRecord] = []
        self._faults: list[_Fault] = []
        self._hanging = 0
        self._connections_seen = 0

    # -- lifecycle -----------------------------------------------------------------

    def _handler(self) -> type[LoopbackHandler]:
        return _Handler

    @property
    def url(self) -> str:
        """Base URL to configure as the provider's, e.g. ``http://127.0.0.1:54321/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def reply(self) -> str | None:
        """The fixed chat answer (None: echo the last user message)."""
        with self._lock:
            return self._reply

    @reply.setter
    def reply(self, value: str | None) -> None:
        with self._lock:
            self._reply = value

    # -- recorded data -------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request handled so far, in completion order."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, endpoint: str) -> list[RequestRecord]:
        """The requests for one endpoint name or path."""
        paths = _resolve_paths(endpoint) or frozenset()
        return [r for r in self.requests if r.path in paths]

    def request_count(self, endpoint: str | None = None) -> int:
        """Number of requests, all or for one endpoint name / path."""
        return len(self.requests if endpoint is None else self.requests_to(endpoint))

    @property
    def hanging(self) -> int:
        """Number of requests currently held by a ``hang()`` fault."""
        with self._lock:
            return self._hanging

    @property
    def open_connections(self) -> int:
        """Client connections currently open (keep-alive ones included)."""
        with self._lock:
            return len(self._connections)

    @property
    def connections_seen(self) -> int:
        """Client connections accepted since the start."""
        with self._lock:
            return self._connections_seen

    def clear(self) -> None:
        """Forget recorded requests (not faults)."""
        with self._lock:
            self._requests.clear()

    def wait_for_hanging(self, n: int = 1, timeout: float = 5.0) -> None:
        """Wait until at least ``n`` requests are held by a ``hang()`` fault."""
        self._wait(
            lambda: self._hanging >= n,
            timeout,
            lambda: f"expected {n} hanging request(s) within {timeout}s, got {self._hanging}",
        )

    def wait_for_connections(self, n: int = 0, timeout: float = 5.0) -> None:
        """Wait until at most ``n`` client connections are open (closed ones are gone)."""
        self._wait(
            lambda: len(self._connections) <= n,
            timeout,
            lambda: (
                f"expected at most {n} open connection(s) within {timeout}s, "
                f"got {len(self._connections)}"
            ),
        )

    def _wait(self, ready: Callable[[], bool], timeout: float, message: Callable[[], str]) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not ready():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(message())
                self._changed.wait(min(remaining, 0.05))

    # -- faults --------------------------------------------------------------------

    def latency(
        self, seconds: float, *, endpoints: Endpoints = None, times: int | None = None
    ) -> None:
        """Delay matching requests by ``seconds`` before answering."""
        self._add_fault("latency", endpoints, times, delay=seconds)

    def hang(self, *, endpoints: Endpoints = None, times: int | None = None) -> None:
        """Never answer matching requests until ``clear_faults()`` or ``stop()``."""
        self._add_fault("hang", endpoints, times)

    def status(
        self,
        code: int,
        body: Any = None,
        *,
        retry_after: float | str | None = None,
        endpoints: Endpoints = None,
        times: int | None = None,
    ) -> None:
        """Answer matching requests with ``code`` (and an optional ``Retry-After``).

        ``body``: None for an OpenAI-style error with the reason phrase, a str (sent as
        text/plain), or anything JSON-serialisable.
        """
        headers: tuple[tuple[str, str], ...] = ()
        if retry_after is not None:
            if isinstance(retry_after, float) and retry_after.is_integer():
                retry_after = int(retry_after)
            headers = (("Retry-After", str(retry_after)),)
        if body is None:
            kind = "server_error" if code >= 500 else "invalid_request_error"
            error = openai_error(code, HTTPStatus(code).phrase, kind)
            response = _Response(code, error.body, _JSON, headers)
        elif isinstance(body, str):
            response = _Response(code, body.encode(), "text/plain; charset=utf-8", headers)
        else:
            response = _json_response(code, body, headers)
        self._add_fault("status", endpoints, times, response=response)

    def fail_next(
        self,
        n: int,
        code: int = 503,
        *,
        body: Any = None,
        retry_after: float | str | None = None,
        endpoints: Endpoints = None,
    ) -> None:
        """Answer only the next ``n`` matching requests with ``code``, then recover."""
        self.status(code, body, retry_after=retry_after, endpoints=endpoints, times=n)

    def garbage(self, *, endpoints: Endpoints = None, times: int | None = None) -> None:
        """Answer 200 with a body that is not JSON (though labelled as JSON)."""
        self._add_fault("garbage", endpoints, times, response=_Response(200, GARBAGE, _JSON))

    def reset(self, *, endpoints: Endpoints = None, times: int | None = None) -> None:
        """Abort matching requests with a TCP reset instead of a response."""
        self._add_fault("reset", endpoints, times)

    def break_stream_after(self, n_chunks: int, *, times: int | None = None) -> None:
        """Cut streamed chat answers after ``n_chunks`` events by closing the connection."""
        self._add_fault("break_stream", "chat", times, break_after=n_chunks)

    def pause_stream_after(self, n_chunks: int, *, times: int | None = None) -> None:
        """Hold streamed chat answers after ``n_chunks`` events (a slow model) until
        ``clear_faults()`` or ``stop()``; then the rest of the answer follows."""
        self._add_fault("pause_stream", "chat", times, break_after=n_chunks)

    def clear_faults(self) -> None:
        """Remove every fault and release hung requests (they are then answered normally)."""
        with self._lock:
            self._faults.clear()
            self._release.set()
            self._release = threading.Event()

    def _add_fault(
        self,
        kind: FaultKind,
        endpoints: Endpoints,
        times: int | None,
        *,
        delay: float = 0.0,
        response: _Response | None = None,
        break_after: int = 0,
    ) -> None:
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for 'until cleared')")
        paths = _resolve_paths(endpoints)
        with self._lock:
            fault = _Fault(
                kind, paths, times, self._release, delay, response, break_after=break_after
            )
            self._faults.append(fault)

    def _take_faults(self, path: str, streaming: bool) -> list[_Fault]:
        """Matching faults in order, up to the first terminal one; consumes their counts."""
        with self._lock:
            taken: list[_Fault] = []
            for fault in self._faults:
                if fault.kind in ("break_stream", "pause_stream") and not streaming:
                    continue
                if fault.matches(path):
                    taken.append(fault)
                    if fault.terminal:
                        break
            for fault in taken:
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
            return taken

    def _hang(self, fault: _Fault) -> None:
        with self._changed:
            self._hanging += 1
            self._changed.notify_all()
        try:
            fault.release.wait()
        finally:
            with self._changed:
                self._hanging -= 1
                self._changed.notify_all()

    # -- request handling (called from handler threads) ----------------------------

    def _register(self, connection: socket.socket) -> None:
        with self._changed:
            self._connections[connection] = threading.current_thread()
            self._connections_seen += 1
            self._changed.notify_all()

    def _unregister(self, connection: socket.socket) -> None:
        with self._changed:
            self._connections.pop(connection, None)
            self._changed.notify_all()

    def _respond(self, method: str, target: str, headers: Message, body: bytes) -> _Response | None:
        """Compute (and record) the response to one request; None means "reset"."""
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        payload, form = _decode(headers, body)
        streaming = isinstance(payload, dict) and payload.get("stream") is True
        faults = self._take_faults(path, streaming)
        for fault in faults:
            if fault.kind == "latency":
                self._stopping.wait(fault.delay)
            elif fault.kind == "hang":
                self._hang(fault)
        terminal = faults[-1] if faults and faults[-1].terminal else None
        response: _Response | None
        if self._stopping.is_set() or (terminal is not None and terminal.kind == "reset"):
            response = None
        elif terminal is not None and terminal.response is not None:
            response = terminal.response
        else:
            try:
                response = self._route(method, path, headers, payload, form)
            except Exception as exc:  # a bug here should fail the test, not hang it
                response = openai_error(500, f"FakeOpenAI error: {exc!r}", "server_error")
            if terminal is not None and terminal.kind == "break_stream" and response.events:
                response = _Response(
                    response.status,
                    content_type=response.content_type,
                    events=response.events,
                    break_after=terminal.break_after,
                )
            if terminal is not None and terminal.kind == "pause_stream" and response.events:
                response = _Response(
                    response.status,
                    content_type=response.content_type,
                    events=response.events,
                    pause_after=terminal.break_after,
                    resume=terminal.release,
                )
        # Recorded before answering, so a client that got its answer finds its request.
        cut = response is None or response.break_after is not None
        record = RequestRecord(
            method=method,
            path=path,
            query=dict(parse_qsl(parts.query)),
            headers={name.lower(): value for name, value in headers.items()},
            body=body,
            json=payload,
            form=form,
            status=None if cut or response is None else response.status,
            fault=",".join(fault.kind for fault in faults) or None,
        )
        with self._changed:
            self._requests.append(record)
            self._changed.notify_all()
        return response

    def _authorized(self, headers: Message) -> bool:
        if self.api_key is None:
            return True
        authorization = headers.get("Authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip() == self.api_key:
            return True
        return headers.get("api-key") == self.api_key

    def _route(
        self, method: str, path: str, headers: Message, payload: Any, form: dict[str, Any] | None
    ) -> _Response:
        routes: dict[str, tuple[str, Callable[[Any, dict[str, Any] | None], _Response]]] = {
            ENDPOINTS["chat"]: ("POST", self._chat),
            ENDPOINTS["embeddings"]: ("POST", self._embeddings),
            ENDPOINTS["rerank"]: ("POST", self._rerank),
            ENDPOINTS["transcriptions"]: ("POST", self._transcriptions),
            ENDPOINTS["models"]: ("GET", self._models),
        }
        if not self._authorized(headers):
            token = (headers.get("Authorization") or headers.get("api-key") or "").split()[-1:]
            shown = token[0] if token else ""
            masked = shown[:3] + "*" * max(0, len(shown) - 7) + shown[-4:] if shown else "''"
            return openai_error(
                401,
                f"Incorrect API key provided: {masked}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        if path not in routes:
            return openai_error(404, f"Invalid URL ({method} {path})")
        expected, handler = routes[path]
        if method != expected:
            return openai_error(405, f"Method {method} not allowed on {path}")
        if method == "POST" and payload is None and form is None:
            return openai_error(400, "We could not parse the JSON body of your request.")
        try:
            return handler(payload, form)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return openai_error(400, f"Invalid request: {exc}")

    def _chat(self, payload: Any, form: dict[str, Any] | None) -> _Response:
        model, messages = payload["model"], payload["messages"]
        if not isinstance(messages, list) or not messages:
            raise ValueError("'messages' must be a non-empty array")
        prompt_tokens = 0
        last_user = ""
        images: list[tuple[str, int]] = []
        for message in messages:
            text, message_images = _text_of(message.get("content"))
            prompt_tokens += _words(text) + IMAGE_TOKENS * len(message_images)
            if message.get("role") == "user":
                last_user, images = text, message_images
        answer = self.reply
        if answer is None:
            answer = f"Echo: {last_user[:50]}"
            if images:
                answer += " [" + ", ".join(f"{mime} {size} bytes" for mime, size in images) + "]"
        finish_reason = "stop"
        max_tokens = payload.get("max_tokens")
        if isinstance(max_tokens, int) and _words(answer) > max_tokens:
            answer, finish_reason = " ".join(answer.split()[:max_tokens]), "length"
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": _words(answer),
            "total_tokens": prompt_tokens + _words(answer),
        }
        created = int(time.time())
        if payload.get("stream") is True:
            include_usage = bool((payload.get("stream_options") or {}).get("include_usage"))
            return _stream(model, answer, finish_reason, usage if include_usage else None, created)
        message = {"role": "assistant", "content": answer}
        completion = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": usage,
        }
        return _json_response(200, completion)

    def _embeddings(self, payload: Any, form: dict[str, Any] | None) -> _Response:
        model, inputs = payload["model"], payload["input"]
        texts = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise ValueError("'input' must be a string or an array of strings")
        if any(not text for text in texts):
            return openai_error(400, "'$.input' is invalid. Please check the API reference.")
        data: list[dict[str, Any]] = []
        for index, text in enumerate(texts):
            vector = fake_vector(text, self.dimension)
            embedding: Any = vector
            if payload.get("encoding_format") == "base64":
                embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = sum(_words(text) for text in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return _json_response(200, {"object": "list", "data": data, "model": model, "usage": usage})

    def _rerank(self, payload: Any, form: dict[str, Any] | None) -> _Response:
        model, query, documents = payload["model"], payload["query"], payload["documents"]
        texts = [d if isinstance(d, str) else d["text"] for d in documents]
        scored = sorted(
            ((overlap_score(query, text), index) for index, text in enumerate(texts)),
            key=lambda pair: (-pair[0], pair[1]),
        )
        top_n = payload.get("top_n")
        if isinstance(top_n, int):
            scored = scored[:top_n]
        results = [
            {"index": index, "relevance_score": score, "document": {"text": texts[index]}}
            for score, index in scored
        ]
        tokens = _words(query) * len(texts) + sum(_words(text) for text in texts)
        usage = {"total_tokens": tokens, "prompt_tokens": tokens}
        return _json_response(200, {"model": model, "results": results, "usage": usage})

    def _transcriptions(self, payload: Any, form: dict[str, Any] | None) -> _Response:
        if form is None:
            raise ValueError("expected a multipart/form-data body")
        upload = form.get("file")
        if not isinstance(upload, dict) or "model" not in form:
            raise ValueError("'file' and 'model' are required")
        return _json_response(
            200, {"text": f"transcribed {upload['filename']} ({upload['size']} bytes)"}
        )

    def _models(self, payload: Any, form: dict[str, Any] | None) -> _Response:
        data = [
            {"id": model, "object": "model", "created": 0, "owned_by": "fake"}
            for model in self.models
        ]
        return _json_response(200, {"object": "list", "data": data})


def _stream(
    model: str, answer: str, finish_reason: str, usage: dict[str, int] | None, created: int
) -> _Response:
    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    chunks = [chunk({"role": "assistant", "content": ""}, None)]
    chunks += [chunk({"content": piece}, None) for piece in re.findall(r"\S+\s*", answer)]
    chunks.append(chunk({}, finish_reason))
    if usage is not None:
        chunks.append({**chunk({}, None), "choices": [], "usage": usage})
    events = [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks]
    events.append(b"data: [DONE]\n\n")
    return _Response(200, content_type="text/event-stream; charset=utf-8", events=tuple(events))


def _decode(headers: Message, body: bytes) -> tuple[Any, dict[str, Any] | None]:
    """The JSON payload or the multipart form of a request body (None when neither)."""
    content_type = headers.get_content_type()
    if content_type == "multipart/form-data":
        return None, _parse_form(headers.get("Content-Type", ""), body)
    if not body:
        return None, None
    try:
        return json.loads(body), None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, None


def _parse_form(content_type: str, body: bytes) -> dict[str, Any] | None:
    """Fields as strings; files as ``{"filename", "content_type", "size", "content"}``."""
    document = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
    message = BytesParser(policy=email.policy.HTTP).parsebytes(document)
    if not message.is_multipart():
        return None
    form: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        content = part.get_payload(decode=True)
        content = content if isinstance(content, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            form[name] = content.decode()
        else:
            form[name] = {
                "filename": filename,
                "content_type": part.get_content_type(),
                "size": len(content),
                "content": content,
            }
    return form


class _Handler(LoopbackHandler):
    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        response = self.server.fake._respond(self.command, self.path, self.headers, body)
        if response is None:
            self._reset()
        elif response.events is None:
            self._send_body(response)
        else:
            self._send_events(response)

    def _head(self, response: _Response, extra: Iterable[tuple[str, str]]) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        for name, value in (*response.headers, *extra):
            self.send_header(name, value)
        self.end_headers()

    def _send_body(self, response: _Response) -> None:
        self._head(response, [("Content-Length", str(len(response.body)))])
        self.wfile.write(response.body)

    def _send_events(self, response: _Response) -> None:
        """Send the events chunked, or cut the connection after ``break_after`` of them."""
        self._head(response, [("Transfer-Encoding", "chunked"), ("Cache-Control", "no-cache")])
        assert response.events is not None
        for sent, event in enumerate(response.events):
            if response.break_after is not None and sent >= response.break_after:
                self._cut()
                return
            if sent == response.pause_after and response.resume is not None:
                response.resume.wait()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _cut(self) -> None:
        """Close the connection mid-body (no terminating chunk)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)


__all__ = [
    "ENDPOINTS",
    "GARBAGE",
    "FakeOpenAI",
    "RequestRecord",
    "fake_vector",
    "openai_error",
    "overlap_score",
]
