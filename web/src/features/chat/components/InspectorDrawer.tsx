import { ErrorNotice, Loading } from "@/components/Card";
import { Dialog } from "@/components/Dialog";
import { errorMessage } from "@/lib/api-client";

import type { AnswerRecord } from "../api/chat";
import { useAnswerRecord } from "../hooks/use-chat";
import { AnswerMarkdown } from "./AnswerMarkdown";
import { StepTimeline, formatMs } from "./StepTimeline";

function formatCost(cost: number | null | undefined): string {
  if (cost === null || cost === undefined) return "no price";
  return `$${cost.toFixed(6)}`;
}

function formatScore(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : value.toFixed(3);
}

/** What the answer record says, in sections: steps, models, chunks, prompt. */
export function AnswerRecordView({ record }: { record: AnswerRecord }) {
  return (
    <div className="inspector">
      <p>
        Status {record.status} · total {formatMs(record.total_ms)} · first token {formatMs(record.first_token_ms)} ·
        tokens in {record.input_tokens ?? "—"} / out {record.output_tokens ?? "—"} · cost {formatCost(record.cost)}
      </p>
      <h3>Steps</h3>
      <StepTimeline steps={record.steps} totalMs={record.total_ms} />
      <h3>Models</h3>
      <table>
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Model</th>
            <th scope="col">Tokens in</th>
            <th scope="col">Tokens out</th>
            <th scope="col">Cost</th>
          </tr>
        </thead>
        <tbody>
          {record.models.map((model, index) => (
            <tr key={`${model.step}-${index}`}>
              <td>{model.step}</td>
              <td>{model.model}</td>
              <td>
                {model.input_tokens ?? "—"}
                {model.usage_estimated ? " (estimated)" : ""}
              </td>
              <td>{model.output_tokens ?? "—"}</td>
              <td>{formatCost(model.cost?.total)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Retrieved chunks</h3>
      {record.chunks.length === 0 ? <p>No chunk was retrieved.</p> : null}
      <ol className="inspector-chunks">
        {record.chunks.map((chunk) => (
          <li key={`${chunk.index}-${chunk.id}`} aria-label={`Chunk ${chunk.index}${chunk.cited ? " (cited)" : ""}`}>
            <p>
              <strong>[{chunk.index}]</strong> {chunk.document_name}
              {chunk.cited ? <span className="badge">Cited</span> : null} · similarity {formatScore(chunk.similarity)} ·
              vector {formatScore(chunk.vector_similarity)} · term {formatScore(chunk.term_similarity)}
            </p>
            {chunk.content ? <AnswerMarkdown text={chunk.content} /> : null}
          </li>
        ))}
      </ol>
      <h3>Prompt</h3>
      {record.prompt ? (
        record.prompt.map((message, index) => (
          <div key={index} className="prompt-message">
            <p className="prompt-role">{message.role}</p>
            <pre>{message.content}</pre>
          </div>
        ))
      ) : (
        <p>Not recorded (metadata-only capture, or no model was called).</p>
      )}
    </div>
  );
}

interface InspectorDrawerProps {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  chatId: string;
  sessionId: string;
  messageId: string;
}

/** The answer inspector: the answer record in an accessible dialog shown as a drawer. */
export function InspectorDrawer({ open, onOpenChange, chatId, sessionId, messageId }: InspectorDrawerProps) {
  const record = useAnswerRecord(chatId, sessionId, messageId, open);
  return (
    <Dialog open={open} onOpenChange={onOpenChange} title="Answer inspector" drawer>
      {record.isPending ? <Loading /> : null}
      {record.isError ? <ErrorNotice>{errorMessage(record.error)}</ErrorNotice> : null}
      {record.data ? <AnswerRecordView record={record.data} /> : null}
    </Dialog>
  );
}
