/** How the usage page writes its figures (the charts' axes and the tables alike). */

export const formatCount = (value: number): string => Math.round(value).toLocaleString("en-US");

export function formatCost(value: number | null): string {
  if (value === null) return "—";
  if (value === 0) return "$0";
  return value >= 0.01 ? `$${value.toFixed(2)}` : `$${value.toPrecision(2)}`;
}

export function formatLatency(value: number | null): string {
  if (value === null) return "—";
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`;
}

export function formatShare(value: number | null): string {
  if (value === null) return "—";
  return `${(value * 100).toFixed(value > 0 && value < 0.1 ? 1 : 0)}%`;
}

// Axis labels take a number; the figure functions above also take null. Counts have no
// fractional ticks.
export const axisCount = (value: number): string => (Number.isInteger(value) ? formatCount(value) : "");
export const axisCost = (value: number): string => formatCost(value);
export const axisLatency = (value: number): string => formatLatency(value);
export const axisShare = (value: number): string => formatShare(value);
