import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import { readAnswerStream, type StreamedAnswer } from "../api/stream";
import { AnswerMarkdown } from "./AnswerMarkdown";
import { StepTimeline } from "./StepTimeline";

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
}

const event = (data: unknown) => `data:${JSON.stringify({ code: 0, data })}\n\n`;

describe("readAnswerStream", () => {
  it("appends deltas and takes the reference from the final event", async () => {
    const chunk = { id: "c1", content: "Paris is the capital.", document_name: "france.txt" };
    const body = event({ answer: "Paris", final: false, id: "m1", session_id: "s1", trace_url: "https://lf/t/1" });
    // An event split across reads, as the network delivers it.
    const second = event({ answer: " is the capital [ID:0].", final: false, id: "m1" });
    const updates: StreamedAnswer[] = [];
    const result = await readAnswerStream(
      streamOf(
        body,
        second.slice(0, 17),
        second.slice(17),
        event({ answer: "", final: true, reference: { total: 1, chunks: [chunk], doc_aggs: [] } }),
        event(true),
      ),
      (answer) => updates.push(answer),
    );
    expect(updates[0]?.text).toBe("Paris");
    expect(result.text).toBe("Paris is the capital [ID:0].");
    expect(result.reference?.chunks).toEqual([chunk]);
    expect(result.messageId).toBe("m1");
    expect(result.sessionId).toBe("s1");
    expect(result.traceUrl).toBe("https://lf/t/1");
    expect(result.done).toBe(true);
  });

  it("takes each event's text as the whole answer in the accumulated form", async () => {
    const result = await readAnswerStream(
      streamOf(event({ answer: "Par" }), event({ answer: "Paris", reference: { chunks: [] } }), event(true)),
      () => undefined,
    );
    expect(result.text).toBe("Paris");
  });

  it("reports an error event's message", async () => {
    const failure = `data:${JSON.stringify({ code: 105, message: "model timed out", data: { answer: "**ERROR**" } })}\n\n`;
    const result = await readAnswerStream(streamOf(failure, event(true)), () => undefined);
    expect(result.error).toBe("model timed out");
  });
});

describe("AnswerMarkdown", () => {
  it("renders citations as buttons that open the cited chunk", async () => {
    const onCite = vi.fn();
    render(<AnswerMarkdown text="Paris **is** the capital [ID:2]." onCite={onCite} describeCitation={() => "france.txt"} />);
    expect(screen.getByText("is").tagName).toBe("STRONG");
    await userEvent.click(screen.getByRole("button", { name: "Citation 2: france.txt" }));
    expect(onCite).toHaveBeenCalledWith(2);
  });

  it("executes nothing from hostile answers", () => {
    const { container } = render(
      <AnswerMarkdown
        text={
          'Hi <img src=x onerror="alert(1)"> <script>alert(2)</script> [click](javascript:alert(3)) ![pic](https://evil/x.png)'
        }
        onCite={() => undefined}
      />,
    );
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("script")).toBeNull();
    expect(container.querySelector("[onerror]")).toBeNull();
    expect(container).toHaveTextContent("click");
    expect(container.innerHTML).not.toMatch(/javascript:/i);
  });
});

describe("StepTimeline", () => {
  it("lists the steps in order with their durations", () => {
    render(
      <StepTimeline
        totalMs={1500}
        steps={[
          { name: "retrieval", type: "retriever", parent: null, start_ms: 0, duration_ms: 300, status: "ok" },
          { name: "embed-query", type: "embedding", parent: "retrieval", start_ms: 1, duration_ms: 40, status: "ok" },
          { name: "chat", type: "generation", parent: null, start_ms: 300, duration_ms: 1200, status: "cancelled", model: "gpt" },
        ]}
      />,
    );
    const items = within(screen.getByRole("list", { name: "Steps" })).getAllByRole("listitem");
    expect(items.map((item) => item.textContent)).toEqual([
      "retrieval300 ms",
      "embed-query40 ms",
      "chat (gpt)1.20 s · cancelled",
    ]);
  });
});
