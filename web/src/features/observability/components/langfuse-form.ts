/**
 * The configure dialog's form model: values, validation, the request body, and where an
 * API error is shown. Kept apart from the component so each rule is tested on its own.
 */
import { z } from "zod";

import { ApiError, RetCode } from "@/lib/api-client";
import { fieldsNamedBy } from "@/lib/field-errors";

import { REDACTORS, type LangfuseConfig, type LangfuseConfigInput, type Redactor } from "../api/langfuse";

export const DEFAULT_HOST_PLACEHOLDER = "https://cloud.langfuse.com";

export function makeSchema(editing: boolean) {
  return z.object({
    publicKey: z.string().trim().min(1, "Enter the public key (pk-lf-…)."),
    secretKey: editing
      ? z.string().trim()
      : z.string().trim().min(1, "Enter the secret key (sk-lf-…)."),
    host: z
      .string()
      .trim()
      .refine((value) => value === "" || /^https?:\/\/[^\s]+$/i.test(value), {
        message: `Enter an http(s) address such as ${DEFAULT_HOST_PLACEHOLDER}.`,
      }),
    enabled: z.boolean(),
    sampleRate: z
      .string()
      .trim()
      .refine((value) => value !== "" && Number(value) >= 0 && Number(value) <= 1, {
        message: "Enter a number from 0 to 1.",
      }),
    capture: z.enum(["full", "metadata"]),
    redact: z.array(z.enum(REDACTORS)),
    environment: z
      .string()
      .trim()
      .refine((value) => value === "" || /^(?!langfuse)[a-z0-9_-]{1,40}$/.test(value), {
        message: "1-40 lowercase letters, digits, '-' or '_', not starting with 'langfuse'.",
      }),
  });
}

export type LangfuseFormValues = z.infer<ReturnType<typeof makeSchema>>;
export type LangfuseField = keyof LangfuseFormValues;
export const ADVANCED_FIELDS: readonly LangfuseField[] = [
  "enabled",
  "sampleRate",
  "capture",
  "redact",
  "environment",
];

/** What the form starts with: the stored configuration, but never its secret. */
export function initialValues(existing: LangfuseConfig | null | undefined): LangfuseFormValues {
  return {
    publicKey: existing?.public_key ?? "",
    secretKey: "",
    host: existing?.host ?? "",
    enabled: existing?.enabled ?? true,
    sampleRate: String(existing?.sample_rate ?? 1),
    capture: existing?.capture ?? "full",
    redact: (existing?.redact ?? []) as Redactor[],
    environment: existing?.environment ?? "",
  };
}

/** The PUT body. A blank secret while editing sends the stored mask: "keep the secret". */
export function toRequestBody(
  values: LangfuseFormValues,
  existing: LangfuseConfig | null | undefined,
): LangfuseConfigInput {
  const secret = values.secretKey.trim();
  const host = values.host.trim();
  return {
    public_key: values.publicKey.trim(),
    secret_key: secret || existing?.secret_key || "",
    ...(host ? { host } : {}),
    enabled: values.enabled,
    sample_rate: Number(values.sampleRate),
    capture: values.capture,
    redact: values.redact,
    environment: values.environment.trim(),
  };
}

const WIRE_NAMES: Record<string, LangfuseField> = {
  public_key: "publicKey",
  secret_key: "secretKey",
  host: "host",
  enabled: "enabled",
  sample_rate: "sampleRate",
  capture: "capture",
  redact: "redact",
  environment: "environment",
};

/** Where an error is shown: fields, the pair of keys, or the form as a whole. */
export type ErrorPlacement =
  | { kind: "fields"; fields: LangfuseField[]; message: string }
  | { kind: "keys"; message: string }
  | { kind: "form"; message: string };

/**
 * 101 names its fields in the message; 102 is about the keys (wrong keys, or a host that
 * is not Langfuse); 105 means the host could not be reached. Anything else is the form's.
 */
export function placeError(error: unknown): ErrorPlacement {
  const message = error instanceof Error ? error.message : "Something went wrong.";
  if (!(error instanceof ApiError)) return { kind: "form", message };
  switch (error.code) {
    case RetCode.argument: {
      const fields = fieldsNamedBy(message, WIRE_NAMES);
      return fields.length ? { kind: "fields", fields, message } : { kind: "form", message };
    }
    case RetCode.data:
      return { kind: "keys", message };
    case RetCode.connection:
      return { kind: "fields", fields: ["host"], message };
    default:
      return { kind: "form", message };
  }
}
