"""A small client of the server's RAGFlow-style HTTP API, authenticated with an API key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

DEFAULT_SERVER = "http://127.0.0.1:9380"
NOT_FOUND = 102


class ApiError(Exception):
    """The server answered with a failure envelope (or not with JSON at all)."""

    def __init__(self, code: int, message: str) -> None:
        """``code``: RAGFlow's code (101 bad argument, 102 not found, 401 …)."""
        super().__init__(message)
        self.code = code
        self.message = message


class RagprismClient:
    """The calls the command line makes; each returns the ``data`` of a success envelope."""

    def __init__(self, server: str, api_key: str, timeout: float = 60.0) -> None:
        """A client of ``server`` (e.g. ``http://127.0.0.1:9380``) using ``api_key``."""
        self._http = httpx.Client(
            base_url=server.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> RagprismClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            raise ApiError(response.status_code, f"HTTP {response.status_code}") from None
        if not isinstance(body, dict) or body.get("code") != 0:
            code = body.get("code", response.status_code) if isinstance(body, dict) else 100
            message = body.get("message", response.text) if isinstance(body, dict) else ""
            raise ApiError(int(code), str(message))
        return body.get("data")

    # -- datasets and documents ----------------------------------------------------

    def find_dataset(self, name: str) -> dict[str, Any] | None:
        """The dataset called ``name``, or None."""
        try:
            found = self._call("GET", "/api/v1/datasets", params={"name": name})
        except ApiError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise
        return next((d for d in found or [] if d.get("name") == name), None)

    def create_dataset(self, name: str) -> dict[str, Any]:
        """A new dataset with the tenant's default embedding model."""
        created: dict[str, Any] = self._call("POST", "/api/v1/datasets", json={"name": name})
        return created

    def upload(self, dataset_id: str, path: Path) -> dict[str, Any]:
        """Upload one file; the document as stored."""
        with path.open("rb") as handle:
            files = {"file": (path.name, handle)}
            documents = self._call("POST", f"/api/v1/datasets/{dataset_id}/documents", files=files)
        document: dict[str, Any] = documents[0]
        return document

    def parse(self, dataset_id: str, document_ids: list[str]) -> None:
        """Queue documents for parsing (in the server's background)."""
        self._call(
            "POST", f"/api/v1/datasets/{dataset_id}/chunks", json={"document_ids": document_ids}
        )

    def document(self, dataset_id: str, document_id: str) -> dict[str, Any]:
        """One document with its parse status (``run``, ``progress``, ``progress_msg``)."""
        page = self._call(
            "GET", f"/api/v1/datasets/{dataset_id}/documents", params={"id": document_id}
        )
        document: dict[str, Any] = page["docs"][0]
        return document

    # -- chats -----------------------------------------------------------------------

    def find_chat(self, name: str) -> dict[str, Any] | None:
        """The chat assistant called ``name``, or None."""
        try:
            found = self._call("GET", "/api/v1/chats", params={"name": name})
        except ApiError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise
        chats = found.get("chats", []) if isinstance(found, dict) else found or []
        return next((c for c in chats if c.get("name") == name), None)

    def ask(self, chat_id: str, question: str) -> Iterator[dict[str, Any]]:
        """The ``data`` of each event of a streamed answer, until the closing ``true``."""
        body = {"question": question, "stream": True}
        path = f"/api/v1/chats/{chat_id}/completions"
        with self._http.stream("POST", path, json=body, timeout=None) as response:
            content_type = response.headers.get("content-type", "")
            if not content_type.startswith("text/event-stream"):
                response.read()
                self._raise_for_envelope(response)
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                event = json.loads(line[5:])
                if event.get("code", 0) != 0:
                    raise ApiError(int(event["code"]), str(event.get("message", "")))
                if not isinstance(event.get("data"), dict):
                    return  # "data": true closes the stream
                yield event["data"]

    @staticmethod
    def _raise_for_envelope(response: httpx.Response) -> None:
        try:
            body = response.json()
        except ValueError:
            raise ApiError(response.status_code, f"HTTP {response.status_code}") from None
        raise ApiError(int(body.get("code", 100)), str(body.get("message", "")))
