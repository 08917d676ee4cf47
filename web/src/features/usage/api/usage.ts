import { api } from "@/lib/api-client";

/** The figures of one group (or of the whole range), as `GET /api/v1/usage` gives them. */
export interface UsageFigures {
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  /** USD; null when no answer had a priced model. */
  cost: number | null;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  feedback: number;
  negative_feedback: number;
  /** 0–1; null without feedback. */
  negative_feedback_share: number | null;
}

export interface UsageRow extends UsageFigures {
  day?: string;
  chat_id?: string;
  chat_name?: string;
  model?: string;
}

export interface UsageReport {
  from: string;
  to: string;
  group_by: string[];
  rows: UsageRow[];
  total: UsageFigures;
}

export type UsageGrouping = "day" | "chat,model";

export interface UsageRange {
  from: string;
  to: string;
}

export const usageKeys = {
  all: ["usage"] as const,
  report: (range: UsageRange, groupBy: UsageGrouping) => ["usage", range.from, range.to, groupBy] as const,
};

export const usageApi = {
  /** Percentiles do not add up, so each grouping is its own request. */
  report: (range: UsageRange, groupBy: UsageGrouping) => {
    const query = new URLSearchParams({ from: range.from, to: range.to, group_by: groupBy });
    return api.get<UsageReport>(`/api/v1/usage?${query.toString()}`);
  },
};
