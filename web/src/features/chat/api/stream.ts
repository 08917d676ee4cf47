/**
 * Reader of RAGFlow's completion event stream (SSE).
 *
 * Current RAGFlow (and ragprism) sends each event's `answer` as a delta with
 * `"final": false`, then a closing `"final": true` event carrying the reference with an
 * empty answer, then `data: true`. Older servers and `"legacy": true` send the answer so
 * far in every event (no `final` field): the reader takes that text as the whole answer.
 */

export interface ReferenceChunk {
  id?: string;
  content?: string;
  document_id?: string;
  document_name?: string;
  dataset_id?: string;
  similarity?: number;
  vector_similarity?: number;
  term_similarity?: number;
  [key: string]: unknown;
}

export interface Reference {
  total?: number;
  chunks: ReferenceChunk[];
  doc_aggs?: { doc_id?: string; doc_name?: string; count?: number }[];
}

export interface AnswerEventData {
  answer?: string;
  reference?: Partial<Reference> | ReferenceChunk[] | null;
  id?: string;
  session_id?: string;
  trace_id?: string | null;
  trace_url?: string | null;
  final?: boolean;
  [key: string]: unknown;
}

/** What the page shows of an answer while it streams, and once it is done. */
export interface StreamedAnswer {
  text: string;
  reference: Reference | null;
  messageId: string | null;
  sessionId: string | null;
  traceUrl: string | null;
  /** A failure the server reported inside the stream (code ≠ 0). */
  error: string | null;
  done: boolean;
}

export const emptyAnswer: StreamedAnswer = {
  text: "",
  reference: null,
  messageId: null,
  sessionId: null,
  traceUrl: null,
  error: null,
  done: false,
};

/** Splits a byte stream into the JSON payloads of its `data:` lines. */
export async function* readSseData(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      // Events end with a blank line; a `data:` line is complete at its newline.
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, "");
        buffer = buffer.slice(newline + 1);
        const payload = parseDataLine(line);
        if (payload !== undefined) yield payload;
        newline = buffer.indexOf("\n");
      }
      if (done) {
        const payload = parseDataLine(buffer.replace(/\r$/, ""));
        if (payload !== undefined) yield payload;
        return;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

function parseDataLine(line: string): unknown {
  if (!line.startsWith("data:")) return undefined;
  const text = line.slice(5).trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function normaliseReference(reference: AnswerEventData["reference"]): Reference | null {
  if (!reference) return null;
  if (Array.isArray(reference)) return { chunks: reference };
  return { ...reference, chunks: reference.chunks ?? [] };
}

/** The answer after one event: deltas append, the accumulated form replaces. */
export function applyEvent(state: StreamedAnswer, event: unknown): StreamedAnswer {
  if (typeof event !== "object" || event === null) return state;
  const envelope = event as { code?: number; message?: string; data?: unknown };
  if (envelope.data === true) return { ...state, done: true };
  const data = (typeof envelope.data === "object" && envelope.data !== null ? envelope.data : {}) as AnswerEventData;
  const next: StreamedAnswer = { ...state };
  if (envelope.code !== undefined && envelope.code !== 0) {
    next.error = envelope.message ?? (typeof data.answer === "string" ? data.answer : "The answer failed.");
  }
  const answer = typeof data.answer === "string" ? data.answer : "";
  if (data.final === false) next.text = state.text + answer;
  else if (data.final === true) next.text = answer ? state.text + answer : state.text;
  else if (answer) next.text = answer;
  const reference = normaliseReference(data.reference);
  if (reference && (reference.chunks.length > 0 || data.final === true || data.final === undefined)) {
    next.reference = reference;
  }
  if (typeof data.id === "string") next.messageId = data.id;
  if (typeof data.session_id === "string") next.sessionId = data.session_id;
  if (typeof data.trace_url === "string" && data.trace_url) next.traceUrl = data.trace_url;
  if (data.final === true) next.done = true;
  return next;
}

/** Reads a whole completion stream, reporting the answer after every event. */
export async function readAnswerStream(
  body: ReadableStream<Uint8Array>,
  onUpdate: (answer: StreamedAnswer) => void,
): Promise<StreamedAnswer> {
  let state = emptyAnswer;
  for await (const event of readSseData(body)) {
    state = applyEvent(state, event);
    onUpdate(state);
  }
  state = { ...state, done: true };
  onUpdate(state);
  return state;
}
