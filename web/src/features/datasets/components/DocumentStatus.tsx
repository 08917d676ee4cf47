import type { DatasetDocument } from "../api/datasets";

/** The server's reason for a failure: the last line of `progress_msg` (one line per step),
 * without its timestamp. */
export function failureMessage(progressMsg: string): string {
  const lines = progressMsg
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  const last = lines.at(-1) ?? "";
  return last.replace(/^\d{1,2}:\d{2}:\d{2}\s+/, "") || "Parsing failed.";
}

/** A document's parsing state in words (and a progress bar while it runs). */
export function DocumentStatus({ document }: { document: DatasetDocument }) {
  switch (document.run) {
    case "RUNNING": {
      if (document.progress <= 0) return <span className="doc-status status-queued">Queued</span>;
      const percent = Math.round(Math.min(1, document.progress) * 100);
      return (
        <span className="doc-status status-running">
          <progress max={100} value={percent} aria-label={`Parsing ${document.name}`} /> Parsing {percent}%
        </span>
      );
    }
    case "DONE":
      return (
        <span className="doc-status status-done">
          Done · {document.chunk_count} {document.chunk_count === 1 ? "chunk" : "chunks"}
        </span>
      );
    case "FAIL":
      return <span className="doc-status status-failed">Failed: {failureMessage(document.progress_msg)}</span>;
    case "CANCEL":
      return <span className="doc-status">Cancelled</span>;
    default:
      return <span className="doc-status">Not parsed</span>;
  }
}
