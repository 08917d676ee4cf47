import { useState } from "react";

import { Button } from "@/components/Button";
import { Card, ErrorNotice, Loading } from "@/components/Card";
import { ConfirmDeletion } from "@/components/Dialog";
import { TextField } from "@/components/Field";
import { usePageTitle } from "@/components/usePageTitle";
import { errorMessage } from "@/lib/api-client";

import type { ApiKey } from "../api/api-keys";
import { useApiKeys, useCreateApiKey, useDeleteApiKey } from "../hooks/use-api-keys";

function NewKey({ token, onDone }: { token: string; onDone: () => void }) {
  const [copied, setCopied] = useState<"" | "yes" | "no">("");
  return (
    <div className="new-key" role="region" aria-label="New API key">
      <TextField
        label="Your new API key"
        readOnly
        value={token}
        className="mono"
        onFocus={(event) => event.currentTarget.select()}
        hint="Copy it now: it is shown only once. Scripts send it as Authorization: Bearer <key>."
      />
      <div className="row">
        <Button
          variant="primary"
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(token);
              setCopied("yes");
            } catch {
              setCopied("no");
            }
          }}
        >
          Copy
        </Button>
        <Button onClick={onDone}>Done</Button>
        <span role="status" className="muted">
          {copied === "yes" ? "Copied to the clipboard." : copied === "no" ? "Copy failed: select the key and copy it." : ""}
        </span>
      </div>
    </div>
  );
}

export function ApiKeysPage() {
  usePageTitle("API keys");
  const keys = useApiKeys();
  const create = useCreateApiKey();
  const remove = useDeleteApiKey();
  const [created, setCreated] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<ApiKey | null>(null);

  return (
    <>
      <h1>API keys</h1>
      <p className="lead">Keys let scripts and RAGFlow clients act on this team.</p>
      <Card
        title="Keys"
        actions={
          <Button
            variant="primary"
            pending={create.isPending}
            pendingLabel="Creating…"
            onClick={() => create.mutate(undefined, { onSuccess: (key) => setCreated(key.token) })}
          >
            Create API key
          </Button>
        }
      >
        {create.isError ? <ErrorNotice>{errorMessage(create.error)}</ErrorNotice> : null}
        {created ? <NewKey token={created} onDone={() => setCreated(null)} /> : null}
        {keys.isPending ? <Loading /> : null}
        {keys.isError ? <ErrorNotice>{errorMessage(keys.error)}</ErrorNotice> : null}
        {keys.data && keys.data.length === 0 ? <p>No API keys yet.</p> : null}
        {keys.data && keys.data.length > 0 ? (
          <table>
            <caption className="visually-hidden">API keys of this team</caption>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((key) => (
                <tr key={key.id}>
                  <td className="mono">{key.token}</td>
                  <td>{key.create_date}</td>
                  <td>
                    <Button variant="danger" aria-label={`Delete API key ${key.token}`} onClick={() => setDeleting(key)}>
                      Delete
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Card>
      <ConfirmDeletion
        target={deleting}
        onClose={() => setDeleting(null)}
        mutation={remove}
        variables={(t) => t.id}
        title="Delete this API key?"
        description={`Scripts using ${deleting?.token ?? "it"} stop working at once.`}
        confirmLabel="Delete"
      />
    </>
  );
}

export default ApiKeysPage;
