import { useId, useMemo, useState } from "react";

import { Card, ErrorNotice, Loading } from "@/components/Card";
import { usePageTitle } from "@/components/usePageTitle";
import { errorMessage } from "@/lib/api-client";

import type { UsageFigures, UsageRange, UsageRow } from "../api/usage";
import { useUsage } from "../hooks/use-usage";
import {
  axisCost,
  axisCount,
  axisLatency,
  axisShare,
  formatCost,
  formatCount,
  formatLatency,
  formatShare,
} from "./format";
import { UsageChart, type ChartSeries } from "./UsageChart";

const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const dayMs = (day: string) => Date.parse(`${day}T00:00:00Z`);

/** The API's default range: the 30 UTC days up to today. */
export function defaultRange(now: number = Date.now()): UsageRange {
  return { from: isoDay(now - 29 * DAY_MS), to: isoDay(now) };
}

/** Every day of the range with its row, or none for a day without answers. */
function daysOf(range: UsageRange, rows: UsageRow[]): Array<{ day: string; row: UsageRow | undefined }> {
  const byDay = new Map(rows.map((row) => [row.day, row]));
  const days = [];
  for (let ms = dayMs(range.from); ms <= dayMs(range.to); ms += DAY_MS) {
    const day = isoDay(ms);
    days.push({ day, row: byDay.get(day) });
  }
  return days;
}

interface ChartSpec {
  title: string;
  series: ChartSeries[];
  format: (value: number) => string;
  emptyMax: number;
  fixedMax?: boolean;
}

/** The five charts of a grouping; `zero` is what an empty slot shows for summed figures. */
function chartSpecs(rows: Array<UsageRow | undefined>, zero: 0 | null): ChartSpec[] {
  const pick = (figure: (row: UsageRow) => number | null, empty: 0 | null = zero) =>
    rows.map((row) => (row ? figure(row) : empty));
  return [
    {
      title: "Requests",
      series: [{ label: "Requests", values: pick((r) => r.requests) }],
      format: axisCount,
      emptyMax: 1,
    },
    {
      title: "Tokens",
      series: [
        { label: "Tokens in", values: pick((r) => r.input_tokens) },
        { label: "Tokens out", values: pick((r) => r.output_tokens) },
      ],
      format: axisCount,
      emptyMax: 1,
    },
    {
      title: "Cost (USD)",
      series: [{ label: "Cost", values: pick((r) => r.cost ?? 0) }],
      format: axisCost,
      emptyMax: 0.01,
    },
    {
      title: "Answer latency",
      series: [
        { label: "p50", values: pick((r) => r.latency_p50_ms, null) },
        { label: "p95", values: pick((r) => r.latency_p95_ms, null) },
      ],
      format: axisLatency,
      emptyMax: 1000,
    },
    {
      title: "Negative feedback",
      series: [{ label: "Share of rated answers", values: pick((r) => r.negative_feedback_share, null) }],
      format: axisShare,
      emptyMax: 1,
      fixedMax: true,
    },
  ];
}

function FigureCells({ row }: { row: UsageFigures }) {
  return (
    <>
      <td>{formatCount(row.requests)}</td>
      <td>{formatCount(row.errors)}</td>
      <td>{formatCount(row.input_tokens)}</td>
      <td>{formatCount(row.output_tokens)}</td>
      <td>{formatCost(row.cost)}</td>
      <td>{formatLatency(row.latency_p50_ms)}</td>
      <td>{formatLatency(row.latency_p95_ms)}</td>
      <td>
        {formatShare(row.negative_feedback_share)}
        {row.feedback ? ` (${row.negative_feedback} of ${row.feedback})` : ""}
      </td>
    </>
  );
}

const FIGURE_HEADERS = [
  "Requests",
  "Errors",
  "Tokens in",
  "Tokens out",
  "Cost",
  "Latency p50",
  "Latency p95",
  "Negative feedback",
];

function FiguresTable({
  id,
  caption,
  keys,
  rows,
}: {
  id: string;
  caption: string;
  keys: string[];
  rows: Array<{ key: string; cells: string[]; figures: UsageFigures }>;
}) {
  return (
    <div className="table-scroll">
      <table id={id}>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {[...keys, ...FIGURE_HEADERS].map((header) => (
              <th key={header} scope="col">
                {header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.key}>
              {row.cells.map((cell, index) =>
                index === 0 ? (
                  <th key={index} scope="row">
                    {cell}
                  </th>
                ) : (
                  <td key={index}>{cell}</td>
                ),
              )}
              <FigureCells row={row.figures} />
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function PerDay({ range }: { range: UsageRange }) {
  const report = useUsage(range, "day");
  const tableId = useId();
  const days = useMemo(() => daysOf(range, report.data?.rows ?? []), [range, report.data]);
  const x = useMemo(() => days.map(({ day }) => dayMs(day) / 1000), [days]);
  const specs = useMemo(() => chartSpecs(days.map(({ row }) => row), 0), [days]);
  return (
    <Card title="Per day">
      {report.isPending ? <Loading /> : null}
      {report.isError ? <ErrorNotice>{errorMessage(report.error)}</ErrorNotice> : null}
      {report.data ? (
        <>
          <div className="usage-charts">
            {specs.map((spec) => (
              <UsageChart
                key={spec.title}
                title={`${spec.title} per day`}
                kind="time"
                x={x}
                series={spec.series}
                formatValue={spec.format}
                emptyMax={spec.emptyMax}
                fixedMax={spec.fixedMax ?? false}
                tableId={tableId}
              />
            ))}
          </div>
          <FiguresTable
            id={tableId}
            caption="Usage per day (days with answers)"
            keys={["Day"]}
            rows={report.data.rows.map((row) => ({ key: row.day ?? "", cells: [row.day ?? ""], figures: row }))}
          />
          {report.data.rows.length === 0 ? <p>No answer in this range.</p> : null}
        </>
      ) : null}
    </Card>
  );
}

function PerAssistant({ range }: { range: UsageRange }) {
  const report = useUsage(range, "chat,model");
  const tableId = useId();
  const rows = useMemo(() => report.data?.rows ?? [], [report.data]);
  const x = useMemo(() => rows.map((_, index) => index), [rows]);
  const labels = useMemo(() => rows.map((row) => `${row.chat_name ?? row.chat_id} · ${row.model}`), [rows]);
  const specs = useMemo(() => chartSpecs(rows, null), [rows]);
  return (
    <Card title="Per assistant and model">
      {report.isPending ? <Loading /> : null}
      {report.isError ? <ErrorNotice>{errorMessage(report.error)}</ErrorNotice> : null}
      {report.data && rows.length > 0 ? (
        <>
          <div className="usage-charts">
            {specs.map((spec) => (
              <UsageChart
                key={spec.title}
                title={`${spec.title} per assistant and model`}
                kind="category"
                x={x}
                labels={labels}
                series={spec.series}
                formatValue={spec.format}
                emptyMax={spec.emptyMax}
                fixedMax={spec.fixedMax ?? false}
                tableId={tableId}
              />
            ))}
          </div>
          <FiguresTable
            id={tableId}
            caption="Usage per assistant and model"
            keys={["Assistant", "Model"]}
            rows={rows.map((row) => ({
              key: `${row.chat_id}-${row.model}`,
              cells: [row.chat_name ?? row.chat_id ?? "", row.model ?? ""],
              figures: row,
            }))}
          />
        </>
      ) : null}
      {report.data && rows.length === 0 ? <p>No answer in this range.</p> : null}
    </Card>
  );
}

function Totals({ range }: { range: UsageRange }) {
  const report = useUsage(range, "day");
  const total = report.data?.total;
  if (!total) return null;
  const items: Array<[string, string]> = [
    ["Requests", formatCount(total.requests)],
    ["Tokens in", formatCount(total.input_tokens)],
    ["Tokens out", formatCount(total.output_tokens)],
    ["Cost", formatCost(total.cost)],
    ["Latency p50", formatLatency(total.latency_p50_ms)],
    ["Latency p95", formatLatency(total.latency_p95_ms)],
    ["Negative feedback", formatShare(total.negative_feedback_share)],
  ];
  return (
    <section aria-label="Totals">
      <dl className="usage-totals">
        {items.map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

/** Usage: requests, tokens, cost, latency and negative feedback per day and per assistant/model. */
export default function UsagePage() {
  usePageTitle("Usage");
  const [from, setFrom] = useState(() => defaultRange().from);
  const [to, setTo] = useState(() => defaultRange().to);
  // A half-typed date asks nothing; a bad range gets the server's message.
  const range = useMemo(() => (DATE.test(from) && DATE.test(to) ? { from, to } : null), [from, to]);
  return (
    <main id="main" className="usage-page">
      <h1>Usage</h1>
      <p className="hint">From this server's own answer records (UTC days), with or without Langfuse.</p>
      <form className="row usage-range" onSubmit={(event) => event.preventDefault()} aria-label="Date range">
        <label htmlFor="usage-from">From</label>
        <input id="usage-from" type="date" value={from} max={to || undefined} onChange={(e) => setFrom(e.target.value)} />
        <label htmlFor="usage-to">To</label>
        <input id="usage-to" type="date" value={to} min={from || undefined} onChange={(e) => setTo(e.target.value)} />
      </form>
      {range ? (
        <>
          <Totals range={range} />
          <PerDay range={range} />
          <PerAssistant range={range} />
        </>
      ) : (
        <p>Choose both dates.</p>
      )}
    </main>
  );
}
