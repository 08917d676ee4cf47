"""Real clients against the real server: RAGFlow's ``ragflow-sdk`` through the whole flow,
and OpenAI's ``openai`` package on the OpenAI-compatible route.

``ragflow-sdk`` is installed by ``make install`` outside the lock file (see the Makefile):
0.24.0 into the venv, the latest into its own directory; each runs the flow of
``tests/e2e/sdk_flow.py`` in a subprocess. A bare ``uv sync`` removes 0.24.0, in which case
its test is skipped, not failed (except in CI, where ``RAGPRISM_TEST_REQUIRE_ALL_DBS=1``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.conftest import skip_or_fail
from tests.e2e.sdk_flow import PARSE_DEADLINE_SECONDS, TRAVEL, VACATION

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SDK_FLOW_TIMEOUT_SECONDS = 600


def _latest_sdk_dir() -> Path:
    """Where ``make install`` puts the latest ``ragflow-sdk`` (outside the venv's packages,
    which hold 0.24.0); ``RAGFLOW_SDK_LATEST_DIR`` points elsewhere."""
    default = Path(sys.prefix) / "ragflow-sdk-latest"
    return Path(os.environ.get("RAGFLOW_SDK_LATEST_DIR", default))


@pytest.mark.parametrize("release", ["0.24.0", "latest"])
def test_ragflow_sdk_whole_flow(live_server: tuple[str, Path], api_key: str, release: str) -> None:
    """The flow in ``tests/e2e/sdk_flow.py``, in its own process per SDK release."""
    env = dict(os.environ)
    if release == "latest":
        sdk_dir = _latest_sdk_dir()
        if not (sdk_dir / "ragflow_sdk").is_dir():
            skip_or_fail(f"the latest ragflow-sdk is installed by `make install` into {sdk_dir}")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(sdk_dir), env.get("PYTHONPATH")]))
    elif find_spec("ragflow_sdk") is None:
        skip_or_fail("ragflow-sdk is installed by `make install`")
    url, _ = live_server
    result = subprocess.run(
        [sys.executable, "-m", "tests.e2e.sdk_flow", url, api_key],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=SDK_FLOW_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sdk_version = result.stdout.strip().splitlines()[-1]
    assert (sdk_version == "0.24.0") == (release == "0.24.0"), sdk_version


def _knowledge_chat(url: str, api_key: str) -> str:
    """An assistant over a parsed handbook, set up over raw HTTP; its id."""
    with httpx.Client(
        base_url=url + "/api/v1", headers={"Authorization": f"Bearer {api_key}"}
    ) as http:

        def ok(method: str, path: str, **kwargs: Any) -> Any:
            body = http.request(method, path, **kwargs).json()
            assert body["code"] == 0, body
            return body["data"]

        dataset_id = ok("POST", "/datasets", json={"name": "handbook"})["id"]
        files = [("file", ("handbook.txt", f"{VACATION}\n\n{TRAVEL}\n".encode()))]
        (document,) = ok("POST", f"/datasets/{dataset_id}/documents", files=files)
        ok("POST", f"/datasets/{dataset_id}/chunks", json={"document_ids": [document["id"]]})
        deadline = time.monotonic() + PARSE_DEADLINE_SECONDS
        while True:
            params = {"id": document["id"]}
            (doc,) = ok("GET", f"/datasets/{dataset_id}/documents", params=params)["docs"]
            if doc["run"] not in ("UNSTART", "RUNNING"):
                break
            assert time.monotonic() < deadline, doc["progress_msg"]
            time.sleep(0.2)
        assert doc["run"] == "DONE", doc["progress_msg"]
        chat_id: str = ok("POST", "/chats", json={"name": "helpdesk", "dataset_ids": [dataset_id]})[
            "id"
        ]
        return chat_id


def test_openai_client(live_server: tuple[str, Path], api_key: str) -> None:
    url, _ = live_server
    chat_id = _knowledge_chat(url, api_key)
    question: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": "How many days of paid vacation?"}
    ]
    with openai.OpenAI(api_key=api_key, base_url=f"{url}/api/v1/openai/{chat_id}") as client:
        completion = client.chat.completions.create(model="model", messages=question, stream=False)
        with client.chat.completions.create(
            model="model", messages=question, stream=True, stream_options={"include_usage": True}
        ) as stream:
            chunks = list(stream)

    assert completion.object == "chat.completion"
    assert "25 days" in (completion.choices[0].message.content or "")
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )

    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk.id for chunk in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "25 days" in text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    assert chunks[-1].usage.total_tokens == completion.usage.total_tokens

    # RAGFlow's spelling of the route, and the reference asked for through extra_body.
    base_url = f"{url}/api/v1/chats_openai/{chat_id}"
    with openai.OpenAI(api_key=api_key, base_url=base_url) as client:
        with_reference = client.chat.completions.create(
            model="model", messages=question, stream=False, extra_body={"reference": True}
        )
    extra = with_reference.choices[0].message.model_extra or {}
    assert any(VACATION in chunk["content"] for chunk in extra["reference"]["chunks"])

    missing_chat = f"{url}/api/v1/openai/{'0' * 32}"
    with openai.OpenAI(api_key=api_key, base_url=missing_chat, max_retries=0) as client:
        with pytest.raises(openai.NotFoundError, match="own the chat"):
            client.chat.completions.create(model="model", messages=question, stream=False)
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="model", messages=question, stream=True)
        with pytest.raises(openai.BadRequestError, match="messages"):
            client.chat.completions.create(model="model", messages=[], stream=False)
    base_url = f"{url}/api/v1/openai/{chat_id}"
    with (
        openai.OpenAI(api_key="ragflow-wrong", base_url=base_url, max_retries=0) as client,
        pytest.raises(openai.AuthenticationError),
    ):
        client.chat.completions.create(model="model", messages=question, stream=False)
