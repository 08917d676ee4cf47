"""Issue 11's "done when": the README's tour entirely in the browser, as a new user.

Sign up → connect Langfuse (Settings → Observability) → create a dataset, upload a text
file and a PDF with the file picker, parse them → create an assistant on the dataset, ask
→ the answer streams in and cites the text file → the inspector shows the steps and the
cited chunk → "View trace" opens the trace, which reached the Langfuse test server →
"Good answer" arrives there as the ``user-feedback`` score 1. Every step is a click or a
keystroke; the API and the test server are only read, for the assertions.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.answer_corpus import pdf_bytes
from tests.support.langfuse_server import FakeLangfuse
from tests.web.conftest import (
    PROJECT_ID,
    PROJECT_NAME,
    PUBLIC_KEY,
    SECRET_KEY,
    WebServer,
    unique_email,
)
from tests.web.journeys import (
    HANDBOOK,
    QUESTION,
    ask,
    check_cited_answer,
    check_inspector,
    check_trace_exported,
    create_assistant,
    expect,
    give_good_answer,
    sign_up,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

FILES = ("handbook.txt", "policies.pdf")


def test_the_readme_tour_in_the_browser(
    page: Any, web_server: WebServer, web_langfuse: FakeLangfuse
) -> None:
    # 1. Sign up: a new user lands on Settings → Observability.
    sign_up(page, web_server, unique_email("tour"), "Tess")

    # 2. Connect Langfuse with the project's keys and host.
    card = page.get_by_role("region", name="Langfuse")
    card.get_by_role("button", name="Configure").click()
    dialog = page.get_by_role("dialog", name="Connect Langfuse")
    dialog.get_by_label("Public key", exact=True).fill(PUBLIC_KEY)
    dialog.get_by_label("Secret key", exact=True).fill(SECRET_KEY)
    dialog.get_by_label("Host", exact=True).fill(web_langfuse.url)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(card).to_contain_text(PROJECT_NAME)

    # 3. A dataset; a text file and a PDF through the file picker; parse both.
    main_nav = page.get_by_role("navigation", name="Main")
    main_nav.get_by_role("link", name="Datasets").click()
    page.get_by_role("button", name="New dataset").click()
    dialog = page.get_by_role("dialog", name="New dataset")
    dialog.get_by_label("Name").fill("Handbook")
    dialog.get_by_role("button", name="Create dataset").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", name="Handbook", level=2)).to_be_visible()
    page.get_by_label("Files to upload").set_input_files(
        [
            {"name": FILES[0], "mimeType": "text/plain", "buffer": HANDBOOK.encode()},
            {"name": FILES[1], "mimeType": "application/pdf", "buffer": pdf_bytes()},
        ]
    )
    expect(page.get_by_role("list", name="Uploads").get_by_text("Uploaded")).to_have_count(2)
    page.get_by_role("button", name="Parse all new").click()
    documents = page.get_by_role("table", name="Documents of this dataset")
    for name in FILES:
        expect(documents.get_by_role("row", name=re.compile(re.escape(name)))).to_contain_text(
            re.compile(r"Done · \d+ chunks?"), timeout=120_000
        )

    # 4. An assistant on the dataset; ask: the answer streams in and cites the text file.
    main_nav.get_by_role("link", name="Chat").click()
    expect(page.get_by_role("heading", name="Chat", exact=True)).to_be_visible()
    create_assistant(page, "Handbook helper", dataset="Handbook")
    with page.expect_response(re.compile(r"/completions$")) as completion:
        ask(page, QUESTION)
    # Streamed: the app asked for and read RAGFlow's server-sent events.
    assert completion.value.headers["content-type"].startswith("text/event-stream")
    answer = check_cited_answer(page)

    # 5. Inspect: the steps, the model and the cited chunk.
    check_inspector(page, answer, "browser tour")

    # 6. "View trace" opens the answer's trace in Langfuse; the trace reached the server.
    trace = answer.get_by_role("link", name="View trace")
    trace_url = re.compile(re.escape(f"{web_langfuse.url}/project/{PROJECT_ID}/traces/") + r"\w+$")
    expect(trace).to_have_attribute("href", trace_url)
    href = trace.get_attribute("href")
    trace_id = href.rsplit("/", 1)[1]
    with page.context.expect_page() as opened:
        trace.click()
    tab = opened.value
    assert tab.url == href
    tab.close()
    check_trace_exported(web_langfuse, trace_id)

    # 7. "Good answer" arrives as the user-feedback score 1.
    give_good_answer(answer, web_langfuse, trace_id)
