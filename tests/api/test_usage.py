"""``GET /api/v1/usage``: figures checked against known answer records, on all three
databases (the ``database`` fixture), and its argument errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from ragprism.db import new_id
from ragprism.models import AnswerRecord, UsageDay
from ragprism.runtime import Runtime
from tests.api.chat_support import ChatApi
from tests.conftest import Accounts

NOV30, DEC1, DEC5 = date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 5)


@pytest.fixture
def api(client: TestClient, accounts: Accounts, state: Runtime) -> ChatApi:
    return ChatApi(client, accounts.user("owner@example.com"), state)


def tenant_of(api: ChatApi) -> str:
    tenant_id: str = api.client.get("/v1/user/info", headers=api.headers).json()["data"]["id"]
    return tenant_id


def add_records(state: Runtime, tenant_id: str, chat_id: str, day: date, *rows: Any) -> None:
    """Answer records of ``chat_id`` on ``day``: (model, latency, status, cost, thumbup)."""
    with state.db.session() as session:
        for model, latency, status, cost, thumbup in rows:
            session.add(
                AnswerRecord(
                    id=new_id(),
                    tenant_id=tenant_id,
                    chat_id=chat_id,
                    session_id=new_id(),
                    create_time=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
                    day=day,
                    status=status,
                    model=model,
                    input_tokens=10,
                    output_tokens=5,
                    cost=cost,
                    latency_ms=float(latency),
                    thumbup=thumbup,
                    details={},
                )
            )


@pytest.fixture
def known(api: ChatApi, accounts: Accounts, state: Runtime) -> tuple[str, str]:
    """Known records: alpha on Nov 30 (20 finished answers of 1..20 ms, one error, each
    10 tokens in, 5 out, $0.001; 4 up, 2 down), beta on Dec 1 (100, 300, 200 ms, no
    price), one of alpha's outside the range and another tenant's inside it."""
    alpha, beta = api.chat("alpha")["id"], api.chat("beta")["id"]
    tenant_id = tenant_of(api)
    feedback = [True] * 4 + [False] * 2 + [None] * 14
    rows = [("m1", ms, "done", 0.001, feedback[ms - 1]) for ms in range(20, 0, -1)]
    add_records(state, tenant_id, alpha, NOV30, *rows, ("m1", 5000, "error", 0.001, None))
    add_records(
        state, tenant_id, beta, DEC1, *[("m2", ms, "done", None, None) for ms in (100, 300, 200)]
    )
    add_records(state, tenant_id, alpha, DEC5, ("m1", 7, "done", 0.5, False))
    other = ChatApi(api.client, accounts.user("other@example.com"), state)
    other_chat = other.chat("alpha")["id"]
    add_records(state, tenant_of(other), other_chat, NOV30, ("m1", 1, "done", 9.0, False))
    return alpha, beta


def usage(api: ChatApi, **params: str) -> dict[str, Any]:
    data: dict[str, Any] = api.ok(
        "GET", "/usage", params={"from": "2026-11-30", "to": "2026-12-01", **params}
    )
    return data


def test_usage_per_day_assistant_and_model(api: ChatApi, known: tuple[str, str]) -> None:
    alpha, beta = known
    data = usage(api)
    assert (data["from"], data["to"], data["group_by"]) == (
        "2026-11-30",
        "2026-12-01",
        ["day", "chat", "model"],
    )
    first, second = data["rows"]
    assert first == {
        "day": "2026-11-30",
        "chat_id": alpha,
        "chat_name": "alpha",
        "model": "m1",
        "requests": 21,
        "errors": 1,
        "input_tokens": 210,
        "output_tokens": 105,
        "cost": pytest.approx(0.021),
        "latency_p50_ms": 10.0,  # nearest rank: the 10th of 20
        "latency_p95_ms": 19.0,  # the 19th of 20; the error's 5000 ms is not an answer time
        "feedback": 6,
        "negative_feedback": 2,
        "negative_feedback_share": pytest.approx(1 / 3),
    }
    assert second["day"] == "2026-12-01"
    assert (second["chat_id"], second["chat_name"], second["model"]) == (beta, "beta", "m2")
    assert (second["requests"], second["errors"], second["cost"]) == (3, 0, None)
    assert (second["latency_p50_ms"], second["latency_p95_ms"]) == (200.0, 300.0)
    assert (second["feedback"], second["negative_feedback_share"]) == (0, None)
    total = data["total"]
    assert (total["requests"], total["errors"], total["input_tokens"]) == (24, 1, 240)
    # 23 finished answers: 1..20, 100, 200, 300 → ranks 12 and 22.
    assert (total["latency_p50_ms"], total["latency_p95_ms"]) == (12.0, 200.0)
    assert total["cost"] == pytest.approx(0.021)


def test_usage_grouped_by_day_or_assistant(api: ChatApi, known: tuple[str, str]) -> None:
    _, beta = known
    by_day = usage(api, group_by="day")["rows"]
    assert [(r["day"], r["requests"]) for r in by_day] == [("2026-11-30", 21), ("2026-12-01", 3)]
    assert "chat_id" not in by_day[0]
    by_chat = usage(api, group_by="chat", to="2026-12-31")["rows"]
    counts = {r["chat_name"]: (r["requests"], r["latency_p50_ms"]) for r in by_chat}
    # Dec 5 now inside: alpha's 21 answer times 1..20 and 7, the 11th is 10.
    assert counts == {"alpha": (22, 10.0), "beta": (3, 200.0)}
    only_beta = usage(api, chat_id=beta)
    assert [r["chat_id"] for r in only_beta["rows"]] == [beta]
    assert only_beta["total"]["requests"] == 3
    empty = usage(api, **{"from": "2026-10-01", "to": "2026-10-31"})
    assert empty["rows"] == []
    assert empty["total"]["requests"] == 0
    assert empty["total"]["latency_p50_ms"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "`from`"),
        ({"to": "2026-13-01"}, "`to`"),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "`from`"),
        ({"from": "2020-01-01", "to": "2026-12-01"}, "`from`"),
        ({"group_by": "day,week"}, "`group_by`"),
    ],
)
def test_bad_usage_arguments_name_the_field(
    api: ChatApi, params: dict[str, str], field: str
) -> None:
    body = api.call("GET", "/usage", params=params)
    assert body["code"] == 101
    assert field in body["message"]


def test_settled_days_are_summarised_once(
    api: ChatApi, state: Runtime, known: tuple[str, str]
) -> None:
    first = usage(api)
    with state.db.session() as session:
        days = session.scalars(select(UsageDay.day).order_by(UsageDay.day)).all()
    assert days == [NOV30, DEC1]  # the range's days, before yesterday
    assert usage(api) == first  # now read from the summaries
    # Another tenant's summaries are its own.
    assert usage(api, group_by="")["total"]["requests"] == 24


def test_feedback_and_deletion_reach_a_summarised_day(api: ChatApi, state: Runtime) -> None:
    chat_id, _ = api.knowledge_chat()
    session_id = api.new_session(chat_id)["id"]
    data = api.ask(chat_id, "How many vacation days do we get?", session_id=session_id)
    with state.db.session() as session:  # the answer was given on Nov 30
        session.execute(update(AnswerRecord).values(day=NOV30))
    before = usage(api, group_by="day")["rows"]
    assert [(r["day"], r["requests"], r["feedback"]) for r in before] == [("2026-11-30", 1, 0)]
    path = f"/chats/{chat_id}/sessions/{session_id}/messages/{data['id']}/feedback"
    api.ok("PUT", path, json={"thumbup": False})
    (after,) = usage(api, group_by="day")["rows"]
    assert (after["feedback"], after["negative_feedback_share"]) == (1, 1.0)
    api.ok("DELETE", f"/chats/{chat_id}/sessions", json={"ids": [session_id]})
    assert usage(api, group_by="day")["rows"] == []
