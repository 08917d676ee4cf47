import { QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";

import { createQueryClient } from "@/lib/query-client";

import type { UsageFigures, UsageReport } from "../api/usage";
import UsagePage, { defaultRange } from "./UsagePage";

// uPlot draws on a canvas, which jsdom lacks: a stand-in keeps what each chart was given.
const charts = vi.hoisted(() => [] as Array<{ title: string; data: unknown[] }>);
vi.mock("uplot", () => {
  class FakePlot {
    static tzDate = (date: Date) => date;
    static paths = { bars: () => () => null };
    constructor(_options: unknown, data: unknown[], target: HTMLElement) {
      charts.push({ title: target.getAttribute("aria-label") ?? "", data });
    }
    setSize() {}
    destroy() {}
  }
  return { default: FakePlot };
});

const figures = (over: Partial<UsageFigures>): UsageFigures => ({
  requests: 0,
  errors: 0,
  input_tokens: 0,
  output_tokens: 0,
  cost: null,
  latency_p50_ms: null,
  latency_p95_ms: null,
  feedback: 0,
  negative_feedback: 0,
  negative_feedback_share: null,
  ...over,
});

const DEC1 = figures({
  requests: 3,
  errors: 1,
  input_tokens: 1200,
  output_tokens: 345,
  cost: 0.0012,
  latency_p50_ms: 850,
  latency_p95_ms: 1200,
  feedback: 3,
  negative_feedback: 1,
  negative_feedback_share: 1 / 3,
});
const DEC3 = figures({ requests: 2, input_tokens: 40, output_tokens: 10, latency_p50_ms: 90, latency_p95_ms: 95 });
const TOTAL = figures({ requests: 5, input_tokens: 1240, output_tokens: 355, cost: 0.0012 });

function reply(url: URL): UsageReport {
  const range = { from: url.searchParams.get("from") ?? "", to: url.searchParams.get("to") ?? "" };
  if (url.searchParams.get("group_by") === "day") {
    return {
      ...range,
      group_by: ["day"],
      rows: [
        { day: "2026-12-01", ...DEC1 },
        { day: "2026-12-03", ...DEC3 },
      ],
      total: TOTAL,
    };
  }
  return {
    ...range,
    group_by: ["chat", "model"],
    rows: [
      { chat_id: "c1", chat_name: "Support bot", model: "gpt-4o@OpenAI", ...DEC1 },
      { chat_id: "c2", chat_name: "Docs helper", model: "builtin-extractive@Builtin", ...DEC3 },
    ],
    total: TOTAL,
  };
}

function serve() {
  const urls: URL[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (path: string) => {
      const url = new URL(path, "http://ragprism.test");
      urls.push(url);
      return new Response(JSON.stringify({ code: 0, data: reply(url) }), {
        status: 200,
        headers: { "Content-Type": "application/json" },
      });
    }),
  );
  return urls;
}

function renderPage() {
  render(
    <QueryClientProvider client={createQueryClient()}>
      <UsagePage />
    </QueryClientProvider>,
  );
}

const cells = (row: HTMLElement) => within(row).getAllByRole("cell").map((cell) => cell.textContent);

describe("UsagePage", () => {
  it("defaults to the 30 UTC days up to today", () => {
    expect(defaultRange(Date.parse("2026-12-03T23:30:00Z"))).toEqual({ from: "2026-11-04", to: "2026-12-03" });
  });

  it("shows the API's figures per day and per assistant/model, in tables and charts", async () => {
    charts.length = 0;
    vi.spyOn(Date, "now").mockReturnValue(Date.parse("2026-12-03T12:00:00Z"));
    const urls = serve();
    renderPage();

    const perDay = await screen.findByRole("table", { name: "Usage per day (days with answers)" });
    const dec1 = within(perDay).getByRole("row", { name: /2026-12-01/ });
    expect(cells(dec1)).toEqual(["3", "1", "1,200", "345", "$0.0012", "850 ms", "1.20 s", "33% (1 of 3)"]);
    expect(cells(within(perDay).getByRole("row", { name: /2026-12-03/ }))).toEqual([
      "2", "0", "40", "10", "—", "90 ms", "95 ms", "—",
    ]);

    const perAssistant = await screen.findByRole("table", { name: "Usage per assistant and model" });
    const support = within(perAssistant).getByRole("row", { name: /Support bot/ });
    expect(cells(support)).toEqual(["gpt-4o@OpenAI", "3", "1", "1,200", "345", "$0.0012", "850 ms", "1.20 s", "33% (1 of 3)"]);

    const totals = screen.getByRole("region", { name: "Totals" });
    expect(within(totals).getByText("Requests").nextSibling).toHaveTextContent("5");
    expect(within(totals).getByText("Cost").nextSibling).toHaveTextContent("$0.0012");

    // One request per grouping (percentiles do not add up), over the default range.
    const asked = urls.map((url) => url.searchParams.get("group_by")).sort();
    expect(asked).toEqual(["chat,model", "day"]);
    expect(urls.every((url) => url.pathname === "/api/v1/usage")).toBe(true);
    expect(urls[0]?.searchParams.get("from")).toBe("2026-11-04");
    expect(urls[0]?.searchParams.get("to")).toBe("2026-12-03");

    // The daily chart has every day of the range: no answer is 0 requests, no latency is a gap.
    const requests = charts.find((chart) => chart.title.startsWith("Requests per day"));
    const days = requests?.data[0] as number[];
    expect(days).toHaveLength(30);
    const dec1Index = days.indexOf(Date.parse("2026-12-01T00:00:00Z") / 1000);
    expect((requests?.data[1] as number[]).slice(dec1Index)).toEqual([3, 0, 2]);
    const latency = charts.find((chart) => chart.title.startsWith("Answer latency per day"));
    expect((latency?.data[1] as Array<number | null>).slice(dec1Index)).toEqual([850, null, 90]);
    expect((latency?.data[2] as Array<number | null>).slice(dec1Index)).toEqual([1200, null, 95]);
    const byAssistant = charts.find((chart) => chart.title.startsWith("Tokens per assistant and model"));
    expect(byAssistant?.data).toEqual([[0, 1], [1200, 40], [345, 10]]);
    // Each chart points screen readers to its table.
    for (const figure of screen.getAllByRole("figure")) {
      expect(figure).toHaveAttribute("aria-describedby", expect.stringMatching(/.+/));
      expect(document.getElementById(figure.getAttribute("aria-describedby") ?? "")?.tagName).toBe("TABLE");
    }
  });

  it("asks again for a new date range", async () => {
    vi.spyOn(Date, "now").mockReturnValue(Date.parse("2026-12-03T12:00:00Z"));
    const urls = serve();
    renderPage();
    await screen.findByRole("table", { name: "Usage per day (days with answers)" });
    fireEvent.change(screen.getByLabelText("From"), { target: { value: "2026-12-01" } });
    await waitFor(() =>
      expect(urls.some((url) => url.searchParams.get("from") === "2026-12-01" && url.searchParams.get("group_by") === "day")).toBe(
        true,
      ),
    );
    expect(screen.getByLabelText("To")).toHaveValue("2026-12-03");
  });
});
