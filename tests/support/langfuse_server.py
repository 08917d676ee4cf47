"""Langfuse-compatible fake server for the test suite and benchmarks.

``FakeLangfuse`` runs a real HTTP server on loopback (stdlib ``ThreadingHTTPServer``,
one thread per connection, so a hung request never blocks the others) implementing
the parts of the Langfuse public API that ragprism talks to:

* ``GET  /api/public/health``
* ``GET  /api/public/projects``        Basic auth with a public:secret key pair
* ``POST /api/public/otel/v1/traces``  OTLP protobuf or OTLP/JSON, optionally gzip
* ``POST /api/public/scores``          one score object, or a batch list (langfuse>=5)

Received spans and scores are recorded as plain dicts. Faults (latency, hangs, error
statuses, 401s, connection resets, "this host is not Langfuse", 413 above a body size) can
be switched on at runtime for all or some endpoints, optionally for the next ``times``
requests only.

Run on its own, it lets you try the README tour offline (stop it with Ctrl-C)::

    .venv/bin/python -m tests.support.langfuse_server --port 3000

It then serves one project (public key ``pk-lf-local``, secret key ``sk-lf-local``) and
prints a line for each trace it receives.

Example::

    with FakeLangfuse() as lf:
        lf.add_project("pk-a", "sk-a", project_id="proj-a")
        ...  # point the code under test at lf.url
        spans = lf.wait_for_spans(3, project_id="proj-a")
        assert lf.span_tree(spans[0]["trace_id"])["name"] == "chat"
"""

from __future__ import annotations

import argparse
import base64
import binascii
import gzip
import hmac
import json
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import urlsplit

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tests.support.loopback import LoopbackHandler, LoopbackServer

ENDPOINTS: dict[str, str] = {
    "health": "/api/public/health",
    "projects": "/api/public/projects",
    "otel": "/api/public/otel/v1/traces",
    "scores": "/api/public/scores",
}
"""Endpoint names accepted by the ``endpoints=`` filter of the fault methods."""

INVALID_CREDENTIALS = "Invalid credentials. Confirm that you've configured the correct host."
NOT_LANGFUSE_HTML = (
    b"<html><head><title>Welcome to nginx!</title></head>"
    b"<body><h1>Welcome to nginx!</h1></body></html>"
)

Endpoints = str | Iterable[str] | None
"""An ``ENDPOINTS`` name, a path starting with "/", several of these, or None for all."""

FaultKind = Literal[
    "latency", "hang", "status", "unauthorized", "reset", "not_langfuse", "too_large"
]

_JSON = "application/json"
_PROTOBUF = "application/x-protobuf"
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})
_BAD_BODY_ERRORS = (OSError, EOFError, zlib.error, ValueError, DecodeError, json_format.ParseError)


@dataclass(frozen=True)
class Project:
    """A Langfuse project reachable with one API key pair."""

    public_key: str
    secret_key: str
    id: str
    name: str
    org_id: str
    org_name: str


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it; ``status`` is None when the connection was reset."""

    method: str
    path: str
    status: int | None
    time: float
    duration: float
    bytes_received: int
    public_key: str | None
    fault: str | None
    # the x-langfuse-* headers (names lowercased), as Langfuse reads them
    langfuse_headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes = b""
    content_type: str = _JSON
    headers: tuple[tuple[str, str], ...] = ()


def _json_response(
    status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()
) -> _Response:
    return _Response(status, json.dumps(payload).encode(), _JSON, headers)


def _message(status: int, message: str) -> _Response:
    return _json_response(status, {"message": message})


@dataclass
class _Fault:
    kind: FaultKind
    paths: frozenset[str] | None
    remaining: int | None
    release: threading.Event
    delay: float = 0.0
    response: _Response | None = None
    max_body: int | None = None  # "too_large": only bodies longer than this

    @property
    def terminal(self) -> bool:
        """Whether the fault replaces the response (latency and hang only delay it)."""
        return self.kind not in ("latency", "hang")

    def matches(self, path: str, size: int = 0) -> bool:
        """Whether the fault applies to a request for ``path`` with a ``size``-byte body."""
        if self.max_body is not None and size <= self.max_body:
            return False
        return self.paths is None or any(path == p or path.startswith(p + "/") for p in self.paths)


def basic_auth_header(public_key: str, secret_key: str) -> str:
    """The ``Authorization`` header value Langfuse clients send for a key pair."""
    token = base64.b64encode(f"{public_key}:{secret_key}".encode()).decode()
    return f"Basic {token}"


def _parse_basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    public_key, sep, secret_key = decoded.partition(":")
    return (public_key, secret_key) if sep else None


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


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP/JSON encodes trace and span ids as hex; protobuf's JSON mapping wants base64."""
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    if isinstance(node, dict):
        return {
            key: (
                base64.b64encode(bytes.fromhex(value)).decode()
                if key in _ID_KEYS and isinstance(value, str)
                else _hex_ids_to_base64(value)
            )
            for key, value in node.items()
        }
    return node


def decode_otlp(body: bytes, content_type: str) -> ExportTraceServiceRequest:
    """Parse an (uncompressed) OTLP trace export body, protobuf or OTLP/JSON."""
    request = ExportTraceServiceRequest()
    if content_type == _JSON:
        payload = _hex_ids_to_base64(json.loads(body))
        json_format.ParseDict(payload, request, ignore_unknown_fields=True)
    else:
        request.ParseFromString(body)
    return request


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return bytes(value.bytes_value)
    return getattr(value, kind)


def _attributes(key_values: Iterable[KeyValue]) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in key_values}


def span_dicts(request: ExportTraceServiceRequest) -> list[dict[str, Any]]:
    """Flatten an OTLP export request into one plain dict per span."""
    spans: list[dict[str, Any]] = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    {
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex() or None,
                        "name": span.name,
                        "kind": span.kind,
                        "start_time_unix_nano": span.start_time_unix_nano,
                        "end_time_unix_nano": span.end_time_unix_nano,
                        "attributes": _attributes(span.attributes),
                        "events": [
                            {
                                "name": event.name,
                                "time_unix_nano": event.time_unix_nano,
                                "attributes": _attributes(event.attributes),
                            }
                            for event in span.events
                        ],
                        "resource": resource,
                        "scope": scope_spans.scope.name,
                        "status": {"code": span.status.code, "message": span.status.message},
                    }
                )
    return spans


def _score_problem(item: Any) -> str | None:
    if not isinstance(item, dict):
        return "Invalid request data: a score must be a JSON object"
    if not isinstance(item.get("name"), str) or not item["name"]:
        return "Invalid request data: name is required"
    if item.get("value") is None:
        return "Invalid request data: value is required"
    if not isinstance(item["value"], int | float | str):
        return "Invalid request data: value must be a number or a string"
    return None


def _decompress(headers: Message, body: bytes) -> bytes:
    encoding = (headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "identity":
        return body
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")


class FakeLangfuse(LoopbackServer):
    """A Langfuse-compatible HTTP server on loopback, with switchable faults.

    Construct, then ``start()`` (or use as a context manager). By default one project
    is registered for ``public_key``/``secret_key``; pass ``public_key=None`` to skip it.
    Every public method is thread-safe.
    """

    NAME = "langfuse"
    VERSION = "3.0.0"

    def __init__(
        self,
        public_key: str | None = "pk-lf-test",
        secret_key: str = "sk-lf-test",
        *,
        project_id: str = "proj-test",
        project_name: str = "Test Project",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Prepare the server (it listens only after ``start()``)."""
        super().__init__(host, port)
        self._changed = threading.Condition(self._lock)
        self._projects: dict[str, Project] = {}
        self._spans: list[dict[str, Any]] = []
        self._scores: list[dict[str, Any]] = []
        self._requests: list[RequestRecord] = []
        self._otel_requests = 0
        self._otel_bytes = 0
        self._faults: list[_Fault] = []
        self._hanging = 0
        self.default_project: Project | None = None
        if public_key is not None:
            self.default_project = self.add_project(
                public_key, secret_key, project_id=project_id, name=project_name
            )

    # -- lifecycle -----------------------------------------------------------------

    def _handler(self) -> type[LoopbackHandler]:
        return _Handler

    @property
    def url(self) -> str:
        """Base URL to configure as the Langfuse host, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def otel_endpoint(self) -> str:
        """Full URL of the OTLP traces endpoint."""
        return self.url + ENDPOINTS["otel"]

    # -- projects ------------------------------------------------------------------

    def add_project(
        self,
        public_key: str,
        secret_key: str,
        project_id: str | None = None,
        name: str | None = None,
        org_id: str = "org-test",
        org_name: str = "Test Organization",
    ) -> Project:
        """Register (or replace) the project that ``public_key``/``secret_key`` opens."""
        project = Project(
            public_key=public_key,
            secret_key=secret_key,
            id=project_id or f"proj-{uuid.uuid4().hex[:12]}",
            name=name or f"Project {public_key}",
            org_id=org_id,
            org_name=org_name,
        )
        with self._lock:
            self._projects[public_key] = project
        return project

    def _default(self) -> Project:
        if self.default_project is None:
            raise RuntimeError("FakeLangfuse was created without a default project")
        return self.default_project

    @property
    def public_key(self) -> str:
        """Public key of the default project."""
        return self._default().public_key

    @property
    def secret_key(self) -> str:
        """Secret key of the default project."""
        return self._default().secret_key

    @property
    def project_id(self) -> str:
        """Id of the default project."""
        return self._default().id

    def auth_headers(self, public_key: str | None = None) -> dict[str, str]:
        """``Authorization`` header for a registered key (default project if None)."""
        if public_key is None:
            project = self._default()
        else:
            with self._lock:
                project = self._projects[public_key]
        return {"Authorization": basic_auth_header(project.public_key, project.secret_key)}

    # -- recorded data -------------------------------------------------------------

    def spans(
        self, project_id: str | None = None, *, trace_id: str | None = None, name: str | None = None
    ) -> list[dict[str, Any]]:
        """Recorded spans in arrival order, optionally filtered (treat them as read-only)."""
        with self._lock:
            spans = list(self._spans)
        return [
            span
            for span in spans
            if (project_id is None or span["project_id"] == project_id)
            and (trace_id is None or span["trace_id"] == trace_id)
            and (name is None or span["name"] == name)
        ]

    def trace_ids(self, project_id: str | None = None) -> list[str]:
        """Distinct trace ids in order of first arrival."""
        return list(dict.fromkeys(span["trace_id"] for span in self.spans(project_id)))

    def scores(
        self, project_id: str | None = None, *, trace_id: str | None = None, name: str | None = None
    ) -> list[dict[str, Any]]:
        """Recorded scores (request JSON plus ``id``, ``project_id``, ``public_key``)."""
        with self._lock:
            scores = list(self._scores)
        return [
            score
            for score in scores
            if (project_id is None or score["project_id"] == project_id)
            and (trace_id is None or score.get("traceId") == trace_id)
            and (name is None or score["name"] == name)
        ]

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request handled so far, in completion order."""
        with self._lock:
            return list(self._requests)

    def request_count(self, endpoint: str | None = None) -> int:
        """Number of requests, all or for one endpoint name / path."""
        paths = _resolve_paths(endpoint)
        return sum(1 for r in self.requests if paths is None or r.path in paths)

    @property
    def otel_requests(self) -> int:
        """Requests received on the OTLP endpoint (whatever their outcome)."""
        with self._lock:
            return self._otel_requests

    @property
    def otel_bytes(self) -> int:
        """Body bytes received on the OTLP endpoint, as sent (i.e. compressed)."""
        with self._lock:
            return self._otel_bytes

    @property
    def hanging(self) -> int:
        """Number of requests currently held by a ``hang()`` fault."""
        with self._lock:
            return self._hanging

    def clear(self) -> None:
        """Forget recorded spans, scores, requests and counters (not projects or faults)."""
        with self._lock:
            self._spans.clear()
            self._scores.clear()
            self._requests.clear()
            self._otel_requests = self._otel_bytes = 0

    def wait_for_spans(
        self, n: int, timeout: float = 5.0, project_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Wait until at least ``n`` spans (of ``project_id``) arrived; return them all."""
        self._wait(
            lambda: len(self.spans(project_id)) >= n,
            timeout,
            lambda: self._timeout_message(n, "span", self.spans(project_id), project_id, timeout),
        )
        return self.spans(project_id)

    def wait_for_scores(
        self, n: int, timeout: float = 5.0, project_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Wait until at least ``n`` scores (of ``project_id``) arrived; return them all."""
        self._wait(
            lambda: len(self.scores(project_id)) >= n,
            timeout,
            lambda: self._timeout_message(n, "score", self.scores(project_id), project_id, timeout),
        )
        return self.scores(project_id)

    def wait_for_hanging(self, n: int = 1, timeout: float = 5.0) -> None:
        """Wait until at least ``n`` requests are held by a ``hang()`` fault."""
        self._wait(
            lambda: self._hanging >= n,
            timeout,
            lambda: f"expected {n} hanging request(s) within {timeout}s, got {self._hanging}",
        )

    def _wait(self, ready: Callable[[], bool], timeout: float, message: Callable[[], str]) -> None:
        # spans()/scores() take the lock themselves, so poll them outside the condition.
        deadline = time.monotonic() + timeout
        while not ready():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(message())
            with self._changed:
                self._changed.wait(min(remaining, 0.05))

    def _timeout_message(
        self, n: int, what: str, got: list[dict[str, Any]], project_id: str | None, timeout: float
    ) -> str:
        scope = f" for project {project_id!r}" if project_id else ""
        recent = [f"{r.method} {r.path} -> {r.status}" for r in self.requests[-10:]]
        return (
            f"expected at least {n} {what}(s){scope} within {timeout}s, got {len(got)}: "
            f"{[item.get('name') for item in got]}; last requests: {recent}"
        )

    def span_tree(self, trace_id: str, project_id: str | None = None) -> dict[str, Any]:
        """The trace as nested ``{"name", "children"}`` dicts, children by start time.

        Raises AssertionError unless the trace has exactly one root span.
        """
        spans = self.spans(project_id, trace_id=trace_id)
        unique = {span["span_id"]: span for span in spans}
        ordered = sorted(unique.values(), key=lambda span: span["start_time_unix_nano"])
        nodes = {span["span_id"]: {"name": span["name"], "children": []} for span in ordered}
        roots: list[dict[str, Any]] = []
        for span in ordered:
            parent = nodes.get(span["parent_span_id"] or "")
            (parent["children"] if parent else roots).append(nodes[span["span_id"]])
        if len(roots) != 1:
            names = [root["name"] for root in roots]
            raise AssertionError(f"trace {trace_id} has {len(roots)} root spans: {names}")
        return roots[0]

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
        headers: dict[str, str] | None = None,
        endpoints: Endpoints = None,
        times: int | None = None,
    ) -> None:
        """Answer matching requests with ``code`` (and an optional ``Retry-After``).

        ``body``: None for ``{"message": <reason phrase>}``, a str (sent as text/plain),
        bytes (application/octet-stream) or anything JSON-serialisable. ``headers`` are
        added to the answer as given (e.g. a ``Content-Encoding`` the body does not have).
        """
        extra: tuple[tuple[str, str], ...] = tuple((headers or {}).items())
        if retry_after is not None:
            if isinstance(retry_after, float) and retry_after.is_integer():
                retry_after = int(retry_after)
            extra += (("Retry-After", str(retry_after)),)
        headers_ = extra
        if body is None:
            response = _json_response(code, {"message": HTTPStatus(code).phrase}, headers_)
        elif isinstance(body, str):
            response = _Response(code, body.encode(), "text/plain; charset=utf-8", headers_)
        elif isinstance(body, bytes):
            response = _Response(code, body, "application/octet-stream", headers_)
        else:
            response = _json_response(code, body, headers_)
        self._add_fault("status", endpoints, times, response=response)

    def fail_next(
        self,
        n: int,
        code: int = 503,
        *,
        body: Any = None,
        retry_after: float | str | None = None,
        headers: dict[str, str] | None = None,
        endpoints: Endpoints = None,
    ) -> None:
        """Answer only the next ``n`` matching requests with ``code``, then recover."""
        self.status(
            code, body, retry_after=retry_after, headers=headers, endpoints=endpoints, times=n
        )

    def unauthorized(self, *, endpoints: Endpoints = None, times: int | None = None) -> None:
        """Answer matching requests with 401, even with valid keys."""
        self._add_fault(
            "unauthorized", endpoints, times, response=_message(401, INVALID_CREDENTIALS)
        )

    def reset(self, *, endpoints: Endpoints = None, times: int | None = None) -> None:
        """Abort matching requests with a TCP reset instead of a response."""
        self._add_fault("reset", endpoints, times)

    def not_langfuse(
        self,
        kind: Literal["html", "json"] = "html",
        *,
        endpoints: Endpoints = None,
        times: int | None = None,
    ) -> None:
        """Answer 200 like a host that is not Langfuse: an HTML page or foreign JSON."""
        if kind == "html":
            response = _Response(200, NOT_LANGFUSE_HTML, "text/html; charset=utf-8")
        else:
            response = _json_response(200, {"hello": "world", "service": "not-langfuse"})
        self._add_fault("not_langfuse", endpoints, times, response=response)

    def body_limit(
        self, max_bytes: int, *, endpoints: Endpoints = "otel", times: int | None = None
    ) -> None:
        """Answer 413 to matching requests whose body (as sent, i.e. compressed) is longer
        than ``max_bytes``, as Langfuse or a proxy in front of it does; smaller ones pass."""
        response = _message(413, f"Request body larger than {max_bytes} bytes")
        self._add_fault("too_large", endpoints, times, response=response, max_body=max_bytes)

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
        max_body: int | None = None,
    ) -> None:
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for 'until cleared')")
        paths = _resolve_paths(endpoints)
        with self._lock:
            fault = _Fault(
                kind, paths, times, self._release, delay=delay, response=response, max_body=max_body
            )
            self._faults.append(fault)

    def _take_faults(self, path: str, size: int = 0) -> list[_Fault]:
        """Matching faults in order, up to the first terminal one; consumes their counts."""
        with self._lock:
            taken: list[_Fault] = []
            for fault in self._faults:
                if fault.matches(path, size):
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

    def _respond(self, method: str, path: str, headers: Message, body: bytes) -> _Response | None:
        """Compute the response to one request; None means "reset the connection"."""
        started, clock = time.time(), time.monotonic()
        path = path.rstrip("/") or "/"
        if path == ENDPOINTS["otel"]:
            with self._lock:
                self._otel_requests += 1
                self._otel_bytes += len(body)
        faults = self._take_faults(path, len(body))
        for fault in faults:
            if fault.kind == "latency":
                self._stopping.wait(fault.delay)
            elif fault.kind == "hang":
                self._hang(fault)
        terminal = faults[-1] if faults and faults[-1].terminal else None
        credentials = _parse_basic_auth(headers.get("Authorization"))
        response: _Response | None
        if self._stopping.is_set() or (terminal is not None and terminal.kind == "reset"):
            response = None
        elif terminal is not None:
            response = terminal.response
        else:
            try:
                response = self._route(method, path, headers, body, credentials)
            except Exception as exc:  # a bug here should fail the test, not hang it
                response = _message(500, f"FakeLangfuse error: {exc!r}")
        record = RequestRecord(
            method=method,
            path=path,
            status=response.status if response else None,
            time=started,
            duration=time.monotonic() - clock,
            bytes_received=len(body),
            public_key=credentials[0] if credentials else None,
            fault=",".join(fault.kind for fault in faults) or None,
            langfuse_headers=tuple(
                (name.lower(), value)
                for name, value in headers.items()
                if name.lower().startswith("x-langfuse-")
            ),
        )
        with self._changed:
            self._requests.append(record)
            self._changed.notify_all()
        return response

    def _authenticate(self, credentials: tuple[str, str] | None) -> Project | None:
        if credentials is None:
            return None
        public_key, secret_key = credentials
        with self._lock:
            project = self._projects.get(public_key)
        if project is None or not hmac.compare_digest(project.secret_key, secret_key):
            return None
        return project

    def _route(
        self,
        method: str,
        path: str,
        headers: Message,
        body: bytes,
        credentials: tuple[str, str] | None,
    ) -> _Response:
        routes: dict[str, tuple[str, Callable[[Project, Message, bytes], _Response]]] = {
            ENDPOINTS["health"]: ("GET", self._health),
            ENDPOINTS["projects"]: ("GET", self._get_projects),
            ENDPOINTS["otel"]: ("POST", self._post_traces),
            ENDPOINTS["scores"]: ("POST", self._post_scores),
        }
        if path not in routes:
            return _message(404, f"Not found: {method} {path}")
        expected, handler = routes[path]
        if method != expected and not (expected == "GET" and method == "HEAD"):
            return _message(405, f"Method {method} not allowed on {path}")
        if path == ENDPOINTS["health"]:
            return self._health()
        project = self._authenticate(credentials)
        if project is None:
            return _message(401, INVALID_CREDENTIALS)
        return handler(project, headers, body)

    def _health(self, *_: Any) -> _Response:
        return _json_response(200, {"status": "OK", "version": self.VERSION})

    def _get_projects(self, project: Project, headers: Message, body: bytes) -> _Response:
        organization = {"id": project.org_id, "name": project.org_name}
        data = {
            "id": project.id,
            "name": project.name,
            "organization": organization,
            "metadata": {},
        }
        return _json_response(200, {"data": [data]})

    def _post_traces(self, project: Project, headers: Message, body: bytes) -> _Response:
        content_type = headers.get_content_type()
        if content_type not in (_PROTOBUF, _JSON):
            return _message(415, f"Unsupported Content-Type {content_type!r}")
        try:
            request = decode_otlp(_decompress(headers, body), content_type)
        except _BAD_BODY_ERRORS as exc:
            return _message(400, f"Invalid OTLP request: {exc}")
        owner = {"project_id": project.id, "public_key": project.public_key}
        spans = [{**owner, **span} for span in span_dicts(request)]
        with self._changed:
            self._spans.extend(spans)
            self._changed.notify_all()
        if content_type == _JSON:
            return _json_response(200, {})
        return _Response(200, ExportTraceServiceResponse().SerializeToString(), _PROTOBUF)

    def _post_scores(self, project: Project, headers: Message, body: bytes) -> _Response:
        try:
            payload = json.loads(_decompress(headers, body) or b"null")
        except _BAD_BODY_ERRORS as exc:
            return _message(400, f"Invalid JSON body: {exc}")
        items = payload if isinstance(payload, list) else [payload]
        accepted: list[dict[str, Any]] = []
        errors: list[dict[str, str]] = []
        for item in items:
            problem = _score_problem(item)
            if problem is not None:
                errors.append({"message": problem})
                continue
            owner = {"project_id": project.id, "public_key": project.public_key}
            accepted.append({**item, "id": item.get("id") or uuid.uuid4().hex, **owner})
        with self._changed:
            self._scores.extend(accepted)
            self._changed.notify_all()
        if not isinstance(payload, list):  # the classic single-score endpoint
            if errors:
                return _message(400, errors[0]["message"])
            return _json_response(200, {"id": accepted[0]["id"]})
        if errors:  # langfuse>=5 batch: 207 with counts when some were rejected
            result = {"accepted": len(accepted), "rejected": len(errors), "errors": errors}
            return _json_response(207, result)
        return _json_response(202, {"message": "Accepted"})


class _Handler(LoopbackHandler):
    def _handle(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            response: _Response | None = _message(400, "Malformed request body")
        else:
            path = urlsplit(self.path).path
            response = self.server.fake._respond(self.command, path, self.headers, body)
        if response is None:
            self._reset()
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks: list[bytes] = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""


LOCAL_PUBLIC_KEY = "pk-lf-local"
LOCAL_SECRET_KEY = "sk-lf-local"


def _print_new_traces(lf: FakeLangfuse, seen: set[str]) -> None:
    """One line per root span not printed yet: the trace's name and id."""
    for span in lf.spans():
        if span["parent_span_id"] is None and span["span_id"] not in seen:
            seen.add(span["span_id"])
            print(f"received trace {span['name']} {span['trace_id']}", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Serve one local project until interrupted, printing the traces that arrive."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.langfuse_server",
        description="A Langfuse-compatible test server on loopback (for trying ragprism "
        "offline; it keeps what it receives in memory only).",
    )
    parser.add_argument("--port", type=int, default=3000, help="port on 127.0.0.1 (3000)")
    args = parser.parse_args(argv)
    lf = FakeLangfuse(
        LOCAL_PUBLIC_KEY,
        LOCAL_SECRET_KEY,
        project_id="proj-local",
        project_name="Local Project",
        port=args.port,
    ).start()
    print(
        f"Langfuse-compatible test server on {lf.url}: public key {LOCAL_PUBLIC_KEY}, "
        f"secret key {LOCAL_SECRET_KEY} (Ctrl-C stops it)",
        flush=True,
    )
    seen: set[str] = set()
    try:
        while True:
            _print_new_traces(lf, seen)
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        lf.stop()


if __name__ == "__main__":
    main()
