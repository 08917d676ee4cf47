import { api } from "@/lib/api-client";

// RAGFlow ≥ 0.25's spelling of the route; /v1/langfuse/api_key behaves the same.
const PATH = "/api/v1/langfuse/api-key";

export const REDACTORS = ["email", "phone", "credit_card", "api_key", "ip_address"] as const;
export type Redactor = (typeof REDACTORS)[number];

export interface ExporterStatus {
  queued: number;
  exported: number;
  retried: number;
  spooled: number;
  dropped: number;
  pending?: number;
  last_error: string | null;
  last_error_at: string | null;
  last_export_at: string | null;
  healthy?: boolean;
}

export interface LangfuseConfig {
  tenant_id: string;
  public_key: string;
  /** Always the masked form: the server never sends the secret back. */
  secret_key: string;
  host: string;
  project_id: string;
  project_name: string;
  project_url: string;
  enabled: boolean;
  sample_rate: number;
  capture: "full" | "metadata";
  redact: Redactor[];
  environment: string | null;
  status?: {
    validation: string | null;
    validated_at: string | null;
    message: string | null;
    exporter: ExporterStatus;
  };
}

/** Body of PUT: the three keys plus the SPEC §3 options. */
export interface LangfuseConfigInput {
  public_key: string;
  /** The secret, or the stored mask to keep the stored secret. */
  secret_key: string;
  host?: string;
  enabled: boolean;
  sample_rate: number;
  capture: "full" | "metadata";
  redact: Redactor[];
  environment: string;
}

export const langfuseApi = {
  /** null when the tenant has no configuration ("Have not record any Langfuse keys."). */
  get: () => api.get<LangfuseConfig | null>(PATH),
  save: (body: LangfuseConfigInput) => api.put<LangfuseConfig>(PATH, body),
  remove: () => api.delete<boolean | null>(PATH),
};

export const langfuseKeys = { config: ["observability", "langfuse"] as const };
