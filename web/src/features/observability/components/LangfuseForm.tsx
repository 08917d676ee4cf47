import { zodResolver } from "@hookform/resolvers/zod";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { useForm } from "react-hook-form";

import { Button } from "@/components/Button";
import { ErrorNotice } from "@/components/Card";
import { PasswordField, SelectField, TextField } from "@/components/Field";

import { REDACTORS, type LangfuseConfig } from "../api/langfuse";
import { useSaveLangfuseConfig } from "../hooks/use-langfuse";
import {
  ADVANCED_FIELDS,
  DEFAULT_HOST_PLACEHOLDER,
  initialValues,
  makeSchema,
  placeError,
  toRequestBody,
  type LangfuseFormValues,
} from "./langfuse-form";

interface LangfuseFormProps {
  /** The stored configuration when editing; its secret is shown only as its mask. */
  existing: LangfuseConfig | null;
  onSaved: (saved: LangfuseConfig) => void;
  onCancel: () => void;
}

const REDACTOR_LABELS: Record<(typeof REDACTORS)[number], string> = {
  email: "E-mail addresses",
  phone: "Phone numbers",
  credit_card: "Credit card numbers",
  api_key: "API keys",
  ip_address: "IP addresses",
};

/** The configure dialog's form. Errors stay next to their field; the dialog stays open. */
export function LangfuseForm({ existing, onSaved, onCancel }: LangfuseFormProps) {
  const editing = Boolean(existing);
  const save = useSaveLangfuseConfig();
  const form = useForm<LangfuseFormValues>({
    resolver: zodResolver(makeSchema(editing)),
    defaultValues: initialValues(existing),
  });
  const { errors } = form.formState;
  const [keysError, setKeysError] = useState<string | null>(null);
  const [advancedOpen, setAdvancedOpen] = useState(false);
  // Set synchronously on the first click, before validation: a second click is ignored.
  const inFlight = useRef(false);
  const [sending, setSending] = useState(false);
  const keysErrorId = useId();
  const advancedErrors = ADVANCED_FIELDS.some((field) => errors[field]);
  // The form may arrive after the dialog opened (it is loaded on demand): focus its first field.
  useEffect(() => form.setFocus("publicKey"), [form]);

  const submit = async (values: LangfuseFormValues) => {
    setKeysError(null);
    try {
      const saved = await save.mutateAsync(toRequestBody(values, existing));
      onSaved(saved);
    } catch (error) {
      const placement = placeError(error);
      if (placement.kind === "keys") setKeysError(placement.message);
      else if (placement.kind === "fields") {
        for (const field of placement.fields) form.setError(field, { message: placement.message });
        if (placement.fields.some((field) => ADVANCED_FIELDS.includes(field))) setAdvancedOpen(true);
      } else form.setError("root", { message: placement.message });
    }
  };

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (inFlight.current) return;
    inFlight.current = true;
    setSending(true);
    try {
      await form.handleSubmit(submit, (invalid) => {
        if (ADVANCED_FIELDS.some((field) => invalid[field])) setAdvancedOpen(true);
      })();
    } finally {
      inFlight.current = false;
      setSending(false);
    }
  };

  const busy = sending || save.isPending;
  return (
    <form onSubmit={onSubmit} noValidate aria-busy={busy || undefined}>
      <PasswordField
        label="Public key"
        placeholder="pk-lf-…"
        error={errors.publicKey?.message}
        invalid={Boolean(keysError)}
        describedBy={keysError ? keysErrorId : undefined}
        {...form.register("publicKey")}
      />
      <PasswordField
        label="Secret key"
        placeholder={editing ? existing?.secret_key : "sk-lf-…"}
        hint={
          editing ? (
            <>
              Stored: <span className="mono">{existing?.secret_key}</span> — leave blank to keep the current secret.
            </>
          ) : undefined
        }
        error={errors.secretKey?.message}
        invalid={Boolean(keysError)}
        describedBy={keysError ? keysErrorId : undefined}
        {...form.register("secretKey")}
      />
      {keysError ? (
        <p className="field-error" id={keysErrorId} role="alert">
          {keysError}
        </p>
      ) : null}
      <TextField
        label="Host"
        type="url"
        inputMode="url"
        autoComplete="off"
        placeholder={DEFAULT_HOST_PLACEHOLDER}
        hint="Your Langfuse address: Langfuse Cloud or your own server."
        error={errors.host?.message}
        {...form.register("host")}
      />
      <details
        className="advanced"
        open={advancedOpen || advancedErrors}
        onToggle={(event) => setAdvancedOpen((event.currentTarget as HTMLDetailsElement).open)}
      >
        <summary>Advanced</summary>
        <div className="checkbox">
          <input id={`${keysErrorId}-enabled`} type="checkbox" {...form.register("enabled")} />
          <label htmlFor={`${keysErrorId}-enabled`}>Tracing enabled</label>
        </div>
        <TextField
          label="Sample rate"
          type="number"
          inputMode="decimal"
          min={0}
          max={1}
          step={0.05}
          hint="The share of requests traced, from 0 to 1."
          error={errors.sampleRate?.message}
          {...form.register("sampleRate")}
        />
        <SelectField
          label="Capture"
          options={[
            { value: "full", label: "Full: prompts, answers and documents" },
            { value: "metadata", label: "Metadata only: no prompt, answer or document text" },
          ]}
          error={errors.capture?.message}
          {...form.register("capture")}
        />
        <fieldset className="redact" aria-describedby={errors.redact ? `${keysErrorId}-redact` : undefined}>
          <legend>Redact before export</legend>
          {REDACTORS.map((name) => (
            <div className="checkbox" key={name}>
              <input id={`${keysErrorId}-redact-${name}`} type="checkbox" value={name} {...form.register("redact")} />
              <label htmlFor={`${keysErrorId}-redact-${name}`}>{REDACTOR_LABELS[name]}</label>
            </div>
          ))}
          {errors.redact ? (
            <p className="field-error" id={`${keysErrorId}-redact`} role="alert">
              {errors.redact.message}
            </p>
          ) : null}
        </fieldset>
        <TextField
          label="Environment"
          autoComplete="off"
          placeholder="production"
          hint="Langfuse environment name; empty: default."
          error={errors.environment?.message}
          {...form.register("environment")}
        />
      </details>
      {errors.root ? <ErrorNotice>{errors.root.message}</ErrorNotice> : null}
      {busy ? (
        <p className="progress" role="status">
          <span className="spinner" aria-hidden="true" />
          Checking the keys with Langfuse…
        </p>
      ) : null}
      <div className="dialog-actions">
        <Button onClick={onCancel} disabled={busy}>
          Cancel
        </Button>
        <Button type="submit" variant="primary" pending={busy} pendingLabel="Saving…">
          Save
        </Button>
      </div>
    </form>
  );
}

export default LangfuseForm;
