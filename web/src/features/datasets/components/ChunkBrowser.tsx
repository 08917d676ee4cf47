import { useEffect, useId, useRef, useState } from "react";

import { Button } from "@/components/Button";
import { ErrorNotice, Loading } from "@/components/Card";
import { Dialog } from "@/components/Dialog";
import { errorMessage } from "@/lib/api-client";

import type { Chunk, DatasetDocument } from "../api/datasets";
import { useChunks, useUpdateChunk } from "../hooks/use-datasets";

function ChunkItem({ datasetId, chunk, index }: { datasetId: string; chunk: Chunk; index: number }) {
  const update = useUpdateChunk(datasetId, chunk.document_id);
  const [editing, setEditing] = useState(false);
  const editButton = useRef<HTMLButtonElement>(null);
  const wasEditing = useRef(false);
  useEffect(() => {
    // Back on the Edit button when the editor closes, so the keyboard user stays in place.
    if (wasEditing.current && !editing) editButton.current?.focus();
    wasEditing.current = editing;
  }, [editing]);
  const [text, setText] = useState(chunk.content);
  const editorId = useId();
  const label = `chunk ${index + 1}`;
  // The switch shows the asked state at once, until the refetched list has the saved one.
  const [asked, setAsked] = useState<boolean | null>(null);
  const available = asked ?? chunk.available;
  return (
    <li className={available ? "chunk" : "chunk chunk-disabled"} aria-label={`Chunk ${index + 1}`}>
      <div className="row">
        <label className="checkbox">
          <input
            type="checkbox"
            checked={available}
            aria-busy={update.isPending || undefined}
            onChange={(event) => {
              const on = event.currentTarget.checked;
              setAsked(on);
              update.mutate({ chunkId: chunk.id, change: { available: on } }, { onSettled: () => setAsked(null) });
            }}
          />{" "}
          Enabled ({label})
        </label>
        {!editing ? (
          <Button
            ref={editButton}
            aria-label={`Edit ${label}`}
            onClick={() => {
              setText(chunk.content);
              setEditing(true);
            }}
          >
            Edit
          </Button>
        ) : null}
      </div>
      {editing ? (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            if (text.trim())
              update.mutate({ chunkId: chunk.id, change: { content: text } }, { onSuccess: () => setEditing(false) });
          }}
        >
          <label htmlFor={editorId}>Text of {label}</label>
          <textarea id={editorId} rows={6} autoFocus value={text} onChange={(event) => setText(event.target.value)} />
          <div className="row">
            <Button onClick={() => setEditing(false)}>Cancel</Button>
            <Button type="submit" variant="primary" pending={update.isPending} pendingLabel="Saving…">
              Save {label}
            </Button>
          </div>
        </form>
      ) : (
        <p className="chunk-text">{chunk.content}</p>
      )}
      {update.isError ? <ErrorNotice>{errorMessage(update.error)}</ErrorNotice> : null}
      <p className="muted">
        Keywords: {chunk.important_keywords.length ? chunk.important_keywords.join(", ") : "none"}
      </p>
    </li>
  );
}

/** A document's chunks in a drawer: search, enable/disable, edit (the server re-indexes). */
export function ChunkBrowser({
  datasetId,
  document,
  onClose,
}: {
  datasetId: string;
  document: DatasetDocument;
  onClose: () => void;
}) {
  const [query, setQuery] = useState("");
  const [keywords, setKeywords] = useState("");
  const chunks = useChunks(datasetId, document.id, keywords);
  const searchId = useId();
  const list = chunks.data?.chunks ?? [];
  return (
    <Dialog open onOpenChange={(open) => !open && onClose()} title={`Chunks of ${document.name}`} drawer>
      <form
        role="search"
        className="row"
        onSubmit={(event) => {
          event.preventDefault();
          setKeywords(query.trim());
        }}
      >
        <label htmlFor={searchId}>Search chunks</label>
        <input id={searchId} type="search" value={query} onChange={(event) => setQuery(event.target.value)} />
        <Button type="submit">Search</Button>
      </form>
      {chunks.isPending ? <Loading /> : null}
      {chunks.isError ? <ErrorNotice>{errorMessage(chunks.error)}</ErrorNotice> : null}
      <p role="status">
        {chunks.data ? `${chunks.data.total} ${chunks.data.total === 1 ? "chunk" : "chunks"}${keywords ? ` matching “${keywords}”` : ""}` : ""}
      </p>
      <ol className="chunks" aria-label="Chunks">
        {list.map((chunk, index) => (
          <ChunkItem key={chunk.id} datasetId={datasetId} chunk={chunk} index={index} />
        ))}
      </ol>
    </Dialog>
  );
}
