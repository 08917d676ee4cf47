"""Helpers for the chat assistant, session and completion API tests."""

from __future__ import annotations

import json
from typing import Any

from tests.api.rag_support import Rag

HANDBOOK = (
    "Employees receive 25 days of paid vacation per year. Vacation requests go to the "
    "team lead two weeks ahead.\n\n"
    "The office coffee machine is cleaned every Friday afternoon by the facilities team."
)


class ChatApi(Rag):
    """One tenant's view of the chat routes."""

    def chat(self, name: str = "assistant", **fields: Any) -> dict[str, Any]:
        data: dict[str, Any] = self.ok("POST", "/chats", json={"name": name, **fields})
        return data

    def new_session(self, chat_id: str, **fields: Any) -> dict[str, Any]:
        data: dict[str, Any] = self.ok("POST", f"/chats/{chat_id}/sessions", json=fields)
        return data

    def sessions(self, chat_id: str, **params: Any) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.ok("GET", f"/chats/{chat_id}/sessions", params=params)
        return data

    def session(self, chat_id: str, session_id: str) -> dict[str, Any]:
        (found,) = self.sessions(chat_id, id=session_id)
        return found

    def ask(self, chat_id: str, question: str, **fields: Any) -> dict[str, Any]:
        body = {"question": question, "stream": False, **fields}
        data: dict[str, Any] = self.ok("POST", f"/chats/{chat_id}/completions", json=body)
        return data

    def ask_stream(self, path: str, body: dict[str, Any]) -> list[Any]:
        """The decoded ``data:`` payloads of a streamed answer."""
        with self.client.stream("POST", "/api/v1" + path, headers=self.headers, json=body) as r:
            assert r.status_code == 200, r.read()
            assert r.headers["content-type"].startswith("text/event-stream")
            return sse_payloads(r.iter_lines())

    def knowledge_chat(self, name: str = "helpdesk", **fields: Any) -> tuple[str, str]:
        """An assistant over a parsed handbook; (chat id, document id)."""
        dataset_id, document_id = self.ingest("handbook.txt", HANDBOOK.encode())
        chat = self.chat(name, dataset_ids=[dataset_id], **fields)
        return chat["id"], document_id


def sse_payloads(lines: Any) -> list[Any]:
    payloads: list[Any] = []
    for line in lines:
        if not line.startswith("data:"):
            assert line == "", line
            continue
        data = line[len("data:") :].strip()
        payloads.append(data if data == "[DONE]" else json.loads(data))
    return payloads
