import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartSeries {
  label: string;
  values: Array<number | null>;
}

export interface UsageChartProps {
  title: string;
  /** `time`: x is UTC days in Unix seconds, drawn as lines; `category`: x is labels, drawn as bars. */
  kind: "time" | "category";
  x: number[];
  labels?: string[];
  series: ChartSeries[];
  formatValue: (value: number) => string;
  /** The top of the value axis when every value is 0 or missing; a fixed top with `fixedMax`. */
  emptyMax: number;
  fixedMax?: boolean;
  /** The id of the table with the chart's figures: its text alternative. */
  tableId: string;
}

const COLORS = ["#2f6fde", "#d9822b", "#2a9d62", "#b43c8f"];
const HEIGHT = 200;

function options(props: UsageChartProps, width: number): uPlot.Options {
  const { kind, labels = [], series, formatValue, emptyMax, fixedMax = false } = props;
  const category = kind === "category";
  const n = props.x.length;
  const barSize = series.length > 1 ? 0.35 : 0.6;
  return {
    width,
    height: HEIGHT,
    // The days are UTC days: label them so, whatever the browser's zone.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
    legend: { show: series.length > 1, live: false },
    cursor: { show: !category, drag: { x: false, y: false } },
    scales: {
      x: category ? { time: false, range: [-0.5, Math.max(n - 0.5, 0.5)] } : { time: true },
      // From 0, so bars and lines compare by height.
      y: { range: (_u, _min, max) => [0, fixedMax ? emptyMax : max > 0 ? max * 1.1 : emptyMax] },
    },
    axes: [
      category
        ? {
            splits: () => props.x,
            values: (_u, splits) => splits.map((index) => labels[index] ?? ""),
            grid: { show: false },
          }
        : {},
      { values: (_u, splits) => splits.map(formatValue), size: 70 },
    ],
    series: [
      {},
      ...series.map((line, index) => ({
        label: line.label,
        stroke: COLORS[index % COLORS.length],
        fill: category ? COLORS[index % COLORS.length] : undefined,
        width: category ? 0 : 2,
        spanGaps: false,
        value: (_u: uPlot, value: number | null) => (value === null ? "—" : formatValue(value)),
        points: { show: !category },
        paths: category
          ? uPlot.paths.bars?.({ size: [barSize, 60], align: series.length > 1 ? (index === 0 ? -1 : 1) : 0 })
          : undefined,
      })),
    ],
  };
}

/**
 * One uPlot chart. The canvas is an image to assistive technology; its figures are in the
 * table named by `tableId`, which the figure points to.
 */
export function UsageChart(props: UsageChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const { title, kind, x, labels, series, formatValue, emptyMax, fixedMax, tableId } = props;
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const data: uPlot.AlignedData = [x, ...series.map((line) => line.values)];
    const spec = { title, kind, x, labels, series, formatValue, emptyMax, fixedMax, tableId };
    const chart = new uPlot(options(spec, element.clientWidth || 480), data, element);
    const observer =
      typeof ResizeObserver === "undefined"
        ? null
        : new ResizeObserver(() => chart.setSize({ width: element.clientWidth || 480, height: HEIGHT }));
    observer?.observe(element);
    return () => {
      observer?.disconnect();
      chart.destroy();
    };
  }, [title, kind, x, labels, series, formatValue, emptyMax, fixedMax, tableId]);
  return (
    <figure className="usage-chart" aria-describedby={tableId}>
      <figcaption>{title}</figcaption>
      <div ref={container} role="img" aria-label={`${title}, chart; the figures are in the table below`} />
    </figure>
  );
}
