"""Self-tests of the Langfuse-compatible fake server."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from langfuse.api import CreateScoreRequest, LangfuseAPI, UnauthorizedError
from langfuse.api.core import ApiError
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from .langfuse_server import ENDPOINTS, FakeLangfuse, basic_auth_header

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
ROOT_ID = "b7ad6b7169203331"
CHILD_ID = "00f067aa0ba902b7"
PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture
def lf() -> Iterator[FakeLangfuse]:
    with FakeLangfuse() as server:
        yield server


@pytest.fixture
def client(lf: FakeLangfuse) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=lf.url, auth=(lf.public_key, lf.secret_key), timeout=5) as c:
        yield c


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A plain client to hand to LangfuseAPI, so that it gets closed."""
    with httpx.Client(timeout=5) as c:
        yield c


def _kv(key: str, value: AnyValue) -> KeyValue:
    return KeyValue(key=key, value=value)


def _otlp_request() -> ExportTraceServiceRequest:
    """A hand-built export: a root span and a child with assorted attribute types."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(
        _kv("service.name", AnyValue(string_value="ragprism"))
    )
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "ragprism.tracing"
    root = Span(
        trace_id=bytes.fromhex(TRACE_ID),
        span_id=bytes.fromhex(ROOT_ID),
        name="chat",
        start_time_unix_nano=1_000,
        end_time_unix_nano=5_000,
        status=Status(code=Status.STATUS_CODE_OK),
    )
    root.attributes.extend(
        [
            _kv("langfuse.trace.name", AnyValue(string_value="chat")),
            _kv("tokens", AnyValue(int_value=42)),
            _kv("score", AnyValue(double_value=0.5)),
            _kv("cached", AnyValue(bool_value=True)),
            _kv(
                "tags",
                AnyValue(
                    array_value=ArrayValue(
                        values=[AnyValue(string_value="a"), AnyValue(string_value="b")]
                    )
                ),
            ),
        ]
    )
    child = Span(
        trace_id=bytes.fromhex(TRACE_ID),
        span_id=bytes.fromhex(CHILD_ID),
        parent_span_id=bytes.fromhex(ROOT_ID),
        name="retrieve",
        start_time_unix_nano=2_000,
        end_time_unix_nano=3_000,
        status=Status(code=Status.STATUS_CODE_ERROR, message="boom"),
    )
    scope_spans.spans.extend([root, child])
    return request


# -- health and projects ---------------------------------------------------------------


def test_health(client: httpx.Client) -> None:
    response = client.get(ENDPOINTS["health"])
    assert response.status_code == 200
    assert response.json()["status"] == "OK"
    assert response.json()["version"].startswith("3.")


def test_projects_via_langfuse_api_client(lf: FakeLangfuse, http: httpx.Client) -> None:
    lf.add_project("pk-b", "sk-b", project_id="proj-b", name="B", org_id="org-b", org_name="Org B")
    api = LangfuseAPI(base_url=lf.url, username="pk-b", password="sk-b", httpx_client=http)
    projects = api.projects.get()
    assert [(p.id, p.name) for p in projects.data] == [("proj-b", "B")]
    assert (projects.data[0].organization.id, projects.data[0].organization.name) == (
        "org-b",
        "Org B",
    )
    assert projects.data[0].metadata == {}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": basic_auth_header("pk-lf-test", "wrong")},
        {"Authorization": basic_auth_header("pk-unknown", "sk-lf-test")},
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Bearer sk-lf-test"},
    ],
)
def test_projects_rejects_bad_credentials(lf: FakeLangfuse, headers: dict[str, str]) -> None:
    response = httpx.get(lf.url + ENDPOINTS["projects"], headers=headers)
    assert response.status_code == 401
    assert response.json()["message"].startswith("Invalid credentials")


def test_langfuse_api_client_sees_unauthorized(lf: FakeLangfuse, http: httpx.Client) -> None:
    api = LangfuseAPI(base_url=lf.url, username=lf.public_key, password="nope", httpx_client=http)
    with pytest.raises(UnauthorizedError):
        api.projects.get()


def test_unknown_path_and_wrong_method(client: httpx.Client) -> None:
    missing = client.get("/api/public/nope")
    assert missing.status_code == 404
    assert "message" in missing.json()
    assert client.post(ENDPOINTS["projects"]).status_code == 405


# -- OTLP traces -----------------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False])
def test_otlp_protobuf_round_trip(lf: FakeLangfuse, client: httpx.Client, compress: bool) -> None:
    body = _otlp_request().SerializeToString()
    headers = dict(PROTOBUF)
    if compress:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    response = client.post(ENDPOINTS["otel"], content=body, headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    ExportTraceServiceResponse.FromString(response.content)  # parses
    root, child = lf.wait_for_spans(2)
    assert root == {
        "project_id": "proj-test",
        "public_key": "pk-lf-test",
        "trace_id": TRACE_ID,
        "span_id": ROOT_ID,
        "parent_span_id": None,
        "name": "chat",
        "kind": 0,
        "start_time_unix_nano": 1_000,
        "end_time_unix_nano": 5_000,
        "attributes": {
            "langfuse.trace.name": "chat",
            "tokens": 42,
            "score": 0.5,
            "cached": True,
            "tags": ["a", "b"],
        },
        "events": [],
        "resource": {"service.name": "ragprism"},
        "scope": "ragprism.tracing",
        "status": {"code": 1, "message": ""},
    }
    assert child["parent_span_id"] == ROOT_ID
    assert child["status"] == {"code": 2, "message": "boom"}
    assert lf.span_tree(TRACE_ID) == {
        "name": "chat",
        "children": [{"name": "retrieve", "children": []}],
    }
    assert lf.otel_requests == 1
    assert lf.otel_bytes == len(body)


def test_otlp_json(lf: FakeLangfuse, client: httpx.Client) -> None:
    span = {
        "traceId": TRACE_ID,
        "spanId": CHILD_ID,
        "parentSpanId": ROOT_ID,
        "name": "llm",
        "startTimeUnixNano": "10",
        "endTimeUnixNano": "20",
        "attributes": [{"key": "model", "value": {"stringValue": "gpt"}}],
    }
    payload = {"resourceSpans": [{"scopeSpans": [{"scope": {"name": "s"}, "spans": [span]}]}]}
    response = client.post(ENDPOINTS["otel"], json=payload)

    assert response.status_code == 200
    assert response.json() == {}
    [recorded] = lf.spans()
    assert (recorded["trace_id"], recorded["span_id"]) == (TRACE_ID, CHILD_ID)
    assert recorded["parent_span_id"] == ROOT_ID
    assert recorded["attributes"] == {"model": "gpt"}
    assert recorded["start_time_unix_nano"] == 10


def test_otlp_from_opentelemetry_sdk_exporter(lf: FakeLangfuse) -> None:
    """The exporter Langfuse's SDK uses: protobuf, gzip, Basic auth headers."""
    lf.add_project("pk-t2", "sk-t2", project_id="proj-t2")
    exporter = OTLPSpanExporter(
        endpoint=lf.otel_endpoint,
        headers=lf.auth_headers("pk-t2"),
        compression=Compression.Gzip,
        timeout=5,
    )
    provider = TracerProvider(
        resource=Resource.create({"service.name": "ragprism-test"}), shutdown_on_exit=False
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("ragprism.tests")
    with tracer.start_as_current_span("chat") as root:
        root.set_attribute("langfuse.user.id", "u1")
        with tracer.start_as_current_span("retrieve") as child:
            child.set_attribute("k", 3)
        with tracer.start_as_current_span("generate"):
            pass
    provider.shutdown()

    spans = lf.wait_for_spans(3, project_id="proj-t2")
    trace_id = format(root.get_span_context().trace_id, "032x")
    assert {span["trace_id"] for span in spans} == {trace_id}
    assert lf.trace_ids("proj-t2") == [trace_id]
    by_name = {span["name"]: span for span in spans}
    assert by_name["chat"]["attributes"] == {"langfuse.user.id": "u1"}
    assert by_name["retrieve"]["attributes"] == {"k": 3}
    assert by_name["retrieve"]["parent_span_id"] == format(root.get_span_context().span_id, "016x")
    assert by_name["chat"]["resource"]["service.name"] == "ragprism-test"
    assert by_name["chat"]["scope"] == "ragprism.tests"
    assert lf.span_tree(trace_id) == {
        "name": "chat",
        "children": [
            {"name": "retrieve", "children": []},
            {"name": "generate", "children": []},
        ],
    }


def test_otlp_rejects_bad_requests(lf: FakeLangfuse, client: httpx.Client) -> None:
    body = _otlp_request().SerializeToString()
    assert httpx.post(lf.otel_endpoint, content=body, headers=PROTOBUF).status_code == 401
    bad_gzip = {**PROTOBUF, "Content-Encoding": "gzip"}
    assert client.post(ENDPOINTS["otel"], content=body, headers=bad_gzip).status_code == 400
    garbage = client.post(ENDPOINTS["otel"], content=b"\xff\xff\xff", headers=PROTOBUF)
    assert garbage.status_code == 400
    text = client.post(ENDPOINTS["otel"], content=b"x", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415
    assert lf.spans() == []
    assert lf.otel_requests == 4


def test_spans_are_kept_per_project(lf: FakeLangfuse) -> None:
    lf.add_project("pk-x", "sk-x", project_id="proj-x")
    body = _otlp_request().SerializeToString()

    def send(public_key: str) -> None:
        headers = {**PROTOBUF, **lf.auth_headers(public_key)}
        assert httpx.post(lf.otel_endpoint, content=body, headers=headers).status_code == 200

    threads = [threading.Thread(target=send, args=(key,)) for key in ["pk-x", "pk-lf-test"] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(lf.wait_for_spans(8, project_id="proj-x")) == 8
    assert len(lf.spans("proj-test")) == 8
    assert len(lf.spans(name="retrieve")) == 8


def test_wait_for_spans_times_out_with_a_helpful_message(
    lf: FakeLangfuse, client: httpx.Client
) -> None:
    client.get(ENDPOINTS["health"])
    with pytest.raises(AssertionError, match=r"at least 1 span.*GET /api/public/health -> 200"):
        lf.wait_for_spans(1, timeout=0.1)


# -- scores ----------------------------------------------------------------------------


def test_single_score(lf: FakeLangfuse, client: httpx.Client) -> None:
    score = {"traceId": TRACE_ID, "name": "helpful", "value": 1, "dataType": "NUMERIC"}
    created = client.post(ENDPOINTS["scores"], json=score)
    assert created.status_code == 200
    generated_id = created.json()["id"]
    given = client.post(ENDPOINTS["scores"], json={**score, "id": "s-1", "comment": "ok"})
    assert given.json() == {"id": "s-1"}

    first, second = lf.wait_for_scores(2)
    assert first == {
        **score,
        "id": generated_id,
        "project_id": "proj-test",
        "public_key": "pk-lf-test",
    }
    assert second["comment"] == "ok"
    assert lf.scores(trace_id=TRACE_ID, name="helpful") == [first, second]


@pytest.mark.parametrize("missing", ["name", "value"])
def test_score_requires_name_and_value(
    lf: FakeLangfuse, client: httpx.Client, missing: str
) -> None:
    score = {"traceId": TRACE_ID, "name": "helpful", "value": 1}
    del score[missing]
    response = client.post(ENDPOINTS["scores"], json=score)
    assert response.status_code == 400
    assert missing in response.json()["message"]
    assert lf.scores() == []


def test_score_batch_via_langfuse_api_client(lf: FakeLangfuse, http: httpx.Client) -> None:
    api = LangfuseAPI(
        base_url=lf.url, username=lf.public_key, password=lf.secret_key, httpx_client=http
    )
    result = api.scores.create(
        request=[
            CreateScoreRequest(name="a", value=1.0, trace_id=TRACE_ID),
            CreateScoreRequest(name="b", value="yes", trace_id=TRACE_ID, comment="c"),
        ]
    )
    assert getattr(result, "message", None) == "Accepted"
    assert [(s["name"], s["value"], s["traceId"]) for s in lf.scores()] == [
        ("a", 1.0, TRACE_ID),
        ("b", "yes", TRACE_ID),
    ]


def test_score_batch_partially_rejected(lf: FakeLangfuse, client: httpx.Client) -> None:
    response = client.post(ENDPOINTS["scores"], json=[{"name": "a", "value": 1}, {"name": "b"}])
    assert response.status_code == 207
    assert response.json()["accepted"] == 1
    assert response.json()["rejected"] == 1
    assert len(lf.scores()) == 1


# -- faults ----------------------------------------------------------------------------


def test_latency(lf: FakeLangfuse, client: httpx.Client) -> None:
    lf.latency(0.3, endpoints="health")
    started = time.monotonic()
    assert client.get(ENDPOINTS["health"]).status_code == 200
    assert time.monotonic() - started >= 0.25
    assert client.get(ENDPOINTS["projects"]).status_code == 200
    assert lf.requests[-2].fault == "latency"
    assert lf.requests[-1].fault is None


def test_hang_does_not_block_other_requests(lf: FakeLangfuse, client: httpx.Client) -> None:
    lf.hang(endpoints="projects")
    with pytest.raises(httpx.ReadTimeout):
        client.get(ENDPOINTS["projects"], timeout=0.5)
    assert lf.hanging == 1
    assert client.get(ENDPOINTS["health"]).status_code == 200
    lf.clear_faults()
    assert client.get(ENDPOINTS["projects"]).status_code == 200


def test_stop_returns_promptly_with_a_hung_request() -> None:
    lf = FakeLangfuse().start()
    lf.hang()
    errors: list[Exception] = []

    def call() -> None:
        try:
            httpx.get(lf.url + ENDPOINTS["health"], timeout=10)
        except httpx.TransportError as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    lf.wait_for_hanging(1)
    started = time.monotonic()
    lf.stop()
    assert time.monotonic() - started < 2
    caller.join(5)
    assert not caller.is_alive()
    assert len(errors) == 1


def test_status_429_with_retry_after(lf: FakeLangfuse, client: httpx.Client) -> None:
    lf.status(429, retry_after=7, endpoints="otel")
    body = _otlp_request().SerializeToString()
    response = client.post(ENDPOINTS["otel"], content=body, headers=PROTOBUF)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json() == {"message": "Too Many Requests"}
    assert client.get(ENDPOINTS["projects"]).status_code == 200
    assert lf.spans() == []


def test_status_with_custom_body(lf: FakeLangfuse, client: httpx.Client) -> None:
    lf.status(500, "oops")
    response = client.get(ENDPOINTS["health"])
    assert (response.status_code, response.text) == (500, "oops")


def test_fail_next_then_recover(lf: FakeLangfuse, client: httpx.Client) -> None:
    lf.fail_next(2, endpoints=["scores", "projects"])
    statuses = [client.get(ENDPOINTS["projects"]).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


def test_unauthorized(lf: FakeLangfuse, client: httpx.Client) -> None:
    lf.unauthorized(endpoints="projects")
    response = client.get(ENDPOINTS["projects"])
    assert response.status_code == 401
    assert response.json()["message"].startswith("Invalid credentials")


def test_reset(lf: FakeLangfuse, client: httpx.Client) -> None:
    lf.reset(endpoints="projects", times=1)
    with pytest.raises(httpx.TransportError):
        client.get(ENDPOINTS["projects"])
    assert client.get(ENDPOINTS["projects"]).status_code == 200
    assert lf.requests[0].status is None
    assert lf.requests[0].fault == "reset"


def test_not_langfuse_html(lf: FakeLangfuse, client: httpx.Client, http: httpx.Client) -> None:
    lf.not_langfuse()
    response = client.get(ENDPOINTS["projects"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<html>")
    api = LangfuseAPI(
        base_url=lf.url, username=lf.public_key, password=lf.secret_key, httpx_client=http
    )
    with pytest.raises(ApiError):
        api.projects.get()


def test_not_langfuse_json(lf: FakeLangfuse, client: httpx.Client) -> None:
    lf.not_langfuse("json", endpoints="/api/public")
    response = client.get(ENDPOINTS["projects"])
    assert response.status_code == 200
    assert "data" not in response.json()


def test_fault_arguments_are_checked(lf: FakeLangfuse) -> None:
    with pytest.raises(ValueError, match="unknown endpoint"):
        lf.hang(endpoints="nope")
    with pytest.raises(ValueError, match="times"):
        lf.reset(times=0)


def test_requests_log_and_clear(lf: FakeLangfuse, client: httpx.Client) -> None:
    client.get(ENDPOINTS["health"])
    client.get(ENDPOINTS["projects"])
    [health, projects] = lf.requests
    assert (health.method, health.path, health.status) == ("GET", ENDPOINTS["health"], 200)
    assert projects.public_key == "pk-lf-test"
    assert lf.request_count("projects") == 1
    lf.clear()
    assert lf.requests == []
    assert lf.request_count() == 0
