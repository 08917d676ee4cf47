import { useQueryClient } from "@tanstack/react-query";
import { useId, useRef, useState, type DragEvent } from "react";

import { Button } from "@/components/Button";
import { errorMessage } from "@/lib/api-client";

import { datasetsApi, datasetsKeys, uploadDocument, type UploadLimits } from "../api/datasets";
import { formatBytes, refusalReason } from "../api/upload-check";

interface FileEntry {
  key: number;
  name: string;
  size: number;
  /** 0–1 while sending; null when refused before sending. */
  progress: number | null;
  state: "refused" | "uploading" | "uploaded" | "failed";
  message?: string;
}

const PARSE_ON_UPLOAD_KEY = "ragprism.parseOnUpload";

interface UploadAreaProps {
  datasetId: string;
  limits: UploadLimits;
}

/**
 * Drop files or pick them; each is checked against the server's limits (type and size)
 * and refused with the reason before anything is sent, then uploaded on its own request
 * with its own progress bar. With "Parse on upload", each uploaded file is queued for parsing.
 */
export function UploadArea({ datasetId, limits }: UploadAreaProps) {
  const queryClient = useQueryClient();
  const inputRef = useRef<HTMLInputElement>(null);
  const nextKey = useRef(0);
  const hintId = useId();
  const [entries, setEntries] = useState<FileEntry[]>([]);
  const [dragging, setDragging] = useState(false);
  const [parseOnUpload, setParseOnUpload] = useState(() => localStorage.getItem(PARSE_ON_UPLOAD_KEY) === "1");

  const update = (key: number, change: Partial<FileEntry>) =>
    setEntries((current) => current.map((entry) => (entry.key === key ? { ...entry, ...change } : entry)));

  const accept = (files: File[]) => {
    const added: FileEntry[] = [];
    for (const file of files) {
      const key = nextKey.current++;
      const reason = refusalReason(file, limits);
      if (reason) {
        added.push({ key, name: file.name, size: file.size, progress: null, state: "refused", message: reason });
        continue;
      }
      added.push({ key, name: file.name, size: file.size, progress: 0, state: "uploading" });
      uploadDocument(datasetId, file, (fraction) => update(key, { progress: fraction }))
        .then(
          async (document) => {
            update(key, { progress: 1, state: "uploaded" });
            if (!parseOnUpload) return;
            try {
              await datasetsApi.parse(datasetId, [document.id]);
            } catch (error) {
              update(key, { message: `parse not started: ${errorMessage(error)}` });
            }
          },
          (error: unknown) => update(key, { state: "failed", message: errorMessage(error) }),
        )
        .finally(() => {
          void queryClient.invalidateQueries({ queryKey: datasetsKeys.documents(datasetId) });
          void queryClient.invalidateQueries({ queryKey: datasetsKeys.list });
        });
    }
    setEntries((current) => [...added, ...current]);
  };

  const onDrop = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    setDragging(false);
    accept(Array.from(event.dataTransfer.files));
  };

  return (
    <div className="upload">
      <div
        className={dragging ? "dropzone dropzone-active" : "dropzone"}
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="dropzone"
      >
        <p>Drop files here, or</p>
        <Button variant="primary" aria-describedby={hintId} onClick={() => inputRef.current?.click()}>
          Choose files
        </Button>
        <input
          ref={inputRef}
          type="file"
          multiple
          className="visually-hidden"
          tabIndex={-1}
          aria-label="Files to upload"
          accept={limits.extensions.join(",")}
          onChange={(event) => {
            accept(Array.from(event.currentTarget.files ?? []));
            event.currentTarget.value = "";
          }}
        />
        <p className="hint" id={hintId}>
          {limits.extensions.join(", ")}; up to {formatBytes(limits.max_file_bytes)} per file.
        </p>
      </div>
      <label className="checkbox">
        <input
          type="checkbox"
          checked={parseOnUpload}
          onChange={(event) => {
            const on = event.currentTarget.checked;
            setParseOnUpload(on);
            localStorage.setItem(PARSE_ON_UPLOAD_KEY, on ? "1" : "0");
          }}
        />{" "}
        Parse on upload
      </label>
      {entries.length > 0 ? (
        <ul className="uploads" aria-label="Uploads">
          {entries.map((entry) => (
            <li key={entry.key} className={`upload-${entry.state}`}>
              <span className="upload-name">{entry.name}</span>
              {entry.progress !== null ? (
                <progress
                  max={100}
                  value={Math.round(entry.progress * 100)}
                  aria-label={`Uploading ${entry.name}`}
                />
              ) : null}
              <span role={entry.state === "refused" || entry.state === "failed" ? "alert" : undefined}>
                {entry.state === "refused" ? `Refused: ${entry.message ?? ""}` : null}
                {entry.state === "failed" ? `Upload failed: ${entry.message ?? ""}` : null}
                {entry.state === "uploading" ? `${Math.round((entry.progress ?? 0) * 100)}%` : null}
                {entry.state === "uploaded" ? `Uploaded${entry.message ? `; ${entry.message}` : ""}` : null}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
