import { lazy, Suspense, useRef, useState } from "react";

import { Button } from "@/components/Button";
import { Card, ErrorNotice, Loading } from "@/components/Card";
import { ConfirmDialog, Dialog } from "@/components/Dialog";
import { errorMessage } from "@/lib/api-client";

import type { LangfuseConfig } from "../api/langfuse";
import { useDeleteLangfuseConfig, useLangfuseConfig } from "../hooks/use-langfuse";

// The form (react-hook-form, zod) loads when the dialog first opens, not with the page.
const loadForm = () => import("./LangfuseForm");
const LangfuseForm = lazy(loadForm);

const VALIDATION_LABELS: Record<string, string> = {
  valid: "Keys valid",
  invalid_keys: "Keys refused by Langfuse",
  unreachable: "Langfuse unreachable",
  not_langfuse: "Host is not Langfuse",
  refused: "Host refused by the server's policy",
  error: "Check failed",
};

function formatTime(iso: string | null | undefined): string {
  if (!iso) return "never";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

function Configured({ config }: { config: LangfuseConfig }) {
  const status = config.status;
  const exporter = status?.exporter;
  const validation = status?.validation ?? "valid";
  return (
    <>
      <dl className="facts">
        <dt>Project</dt>
        <dd>{config.project_name}</dd>
        <dt>Host</dt>
        <dd className="mono">{config.host}</dd>
        <dt>Public key</dt>
        <dd className="mono">{config.public_key}</dd>
        <dt>Secret key</dt>
        <dd className="mono">{config.secret_key}</dd>
        <dt>Last validation</dt>
        <dd>
          <span className={`badge ${validation === "valid" ? "badge-ok" : "badge-bad"}`}>
            {VALIDATION_LABELS[validation] ?? validation}
          </span>{" "}
          {formatTime(status?.validated_at)}
          {status?.message ? <span className="muted"> — {status.message}</span> : null}
        </dd>
        <dt>Tracing</dt>
        <dd>
          {config.enabled ? "On" : "Off"} · sample rate {config.sample_rate} · capture{" "}
          {config.capture === "full" ? "full" : "metadata only"}
          {config.redact.length ? ` · redacting ${config.redact.join(", ")}` : ""}
          {config.environment ? ` · environment ${config.environment}` : ""}
        </dd>
      </dl>
      {exporter ? (
        <section aria-labelledby="exporter-heading" className="exporter">
          <h3 id="exporter-heading">Exporter (live)</h3>
          <dl className="figures">
            {(["exported", "retried", "spooled", "dropped"] as const).map((name) => (
              <div key={name}>
                <dt>{name[0]?.toUpperCase() + name.slice(1)}</dt>
                <dd>{exporter[name].toLocaleString()}</dd>
              </div>
            ))}
            <div className="wide">
              <dt>Last error</dt>
              <dd>
                {exporter.last_error ? `${exporter.last_error} (${formatTime(exporter.last_error_at)})` : "none"}
              </dd>
            </div>
          </dl>
        </section>
      ) : null}
    </>
  );
}

/** Settings → Observability: the tenant's Langfuse connection (SPEC §3 and §7). */
export function LangfuseCard({ canManage }: { canManage: boolean }) {
  const config = useLangfuseConfig();
  const remove = useDeleteLangfuseConfig();
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  // Configure becomes Edit once saved; after Delete, Configure is back: focus goes there.
  const opener = useRef<HTMLButtonElement>(null);
  const data = config.data ?? null;

  let body;
  if (config.isPending) body = <Loading />;
  else if (config.isError && !data) body = <ErrorNotice>{errorMessage(config.error)}</ErrorNotice>;
  else if (!data)
    body = (
      <p>
        Langfuse is not connected for this team yet. Connect your Langfuse project to trace every chat,
        retrieval and document ingestion of this team into it, with the keys checked before they are stored.
      </p>
    );
  else body = <Configured config={data} />;

  const actions = (
    <>
      {data ? (
        <a className="btn btn-secondary" href={data.project_url} target="_blank" rel="noopener noreferrer">
          View in Langfuse<span className="visually-hidden"> (opens in a new tab)</span>
        </a>
      ) : null}
      {canManage && !config.isPending ? (
        <Button
          ref={opener}
          variant={data ? "secondary" : "primary"}
          // About to be needed: start loading the form before the click.
          onPointerEnter={() => void loadForm()}
          onFocus={() => void loadForm()}
          onClick={() => setEditing(true)}
        >
          {data ? "Edit" : "Configure"}
        </Button>
      ) : null}
      {canManage && data ? (
        <Button variant="danger" onClick={() => setConfirming(true)}>
          Delete
        </Button>
      ) : null}
    </>
  );

  return (
    <Card title="Langfuse" actions={actions}>
      {body}
      {!canManage ? (
        <p className="muted">Only the team's owner or an admin can change this connection.</p>
      ) : null}
      <Dialog
        open={editing}
        onOpenChange={setEditing}
        returnFocusTo={opener}
        title={data ? "Edit the Langfuse connection" : "Connect Langfuse"}
        description="The keys are checked against Langfuse before they are stored; the secret key is stored encrypted and never shown again."
      >
        <Suspense fallback={<Loading />}>
          <LangfuseForm existing={data} onSaved={() => setEditing(false)} onCancel={() => setEditing(false)} />
        </Suspense>
      </Dialog>
      <ConfirmDialog
        open={confirming}
        onOpenChange={(open) => {
          setConfirming(open);
          if (!open) remove.reset();
        }}
        title="Delete the Langfuse connection?"
        description="Tracing for this team stops at once and the stored keys are deleted."
        confirmLabel="Delete"
        pending={remove.isPending}
        error={remove.isError ? errorMessage(remove.error) : undefined}
        onConfirm={() => remove.mutate(undefined, { onSuccess: () => setConfirming(false) })}
        returnFocusTo={opener}
      />
    </Card>
  );
}
