import { ApiError, api, authHeaders, reportUnauthorized } from "@/lib/api-client";

import type { Reference, ReferenceChunk } from "./stream";

export interface LlmSettings {
  model_name?: string | null;
  temperature?: number;
  top_p?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  max_tokens?: number | null;
}

export interface PromptSettings {
  similarity_threshold?: number;
  keywords_similarity_weight?: number;
  top_n?: number;
  rerank_model?: string | null;
  empty_response?: string | null;
  opener?: string | null;
  prompt?: string;
  show_quote?: boolean;
}

export interface Assistant {
  id: string;
  name: string;
  dataset_ids: string[];
  llm: LlmSettings;
  prompt: PromptSettings;
}

export interface AssistantInput {
  name: string;
  dataset_ids: string[];
  llm: LlmSettings;
  prompt: PromptSettings;
}

export interface ChatMessage {
  id?: string;
  role: "user" | "assistant";
  content: string;
  reference?: ReferenceChunk[] | Reference;
  trace_id?: string | null;
  trace_url?: string | null;
  status?: string;
  thumbup?: boolean;
  feedback?: string;
}

export interface ChatSession {
  id: string;
  chat_id: string;
  name: string;
  messages: ChatMessage[];
}

export interface DatasetSummary {
  id: string;
  name: string;
}

export interface InspectStep {
  name: string;
  type: string;
  parent: string | null;
  start_ms: number;
  duration_ms: number | null;
  status: string;
  model?: string | null;
  first_token_ms?: number | null;
}

export interface InspectModel {
  step: string;
  type: string;
  model: string;
  input_tokens: number | null;
  output_tokens: number | null;
  total_tokens: number | null;
  cost: { input?: number; output?: number; total?: number } | null;
  usage_estimated: boolean;
}

export interface InspectChunk {
  index: number;
  id: string;
  document_id: string;
  document_name: string;
  dataset_id: string;
  similarity: number | null;
  vector_similarity: number | null;
  term_similarity: number | null;
  cited: boolean;
  content?: string;
}

export interface AnswerRecord {
  message_id: string;
  status: string;
  model: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cost: number | null;
  total_ms: number | null;
  first_token_ms: number | null;
  trace_id: string | null;
  trace_url: string | null;
  capture: string;
  steps: InspectStep[];
  models: InspectModel[];
  chunks: InspectChunk[];
  prompt: { role: string; content: string }[] | null;
}

const id = encodeURIComponent;
const chatPath = (chatId: string) => `/api/v1/chats/${id(chatId)}`;
const sessionPath = (chatId: string, sessionId: string) => `${chatPath(chatId)}/sessions/${id(sessionId)}`;

export const chatApi = {
  listAssistants: () => api.get<Assistant[]>("/api/v1/chats?page_size=100&orderby=create_time&desc=true"),
  createAssistant: (input: AssistantInput) => api.post<Assistant>("/api/v1/chats", input),
  updateAssistant: (chatId: string, input: Partial<AssistantInput>) => api.put<unknown>(chatPath(chatId), input),
  deleteAssistant: (chatId: string) => api.delete<unknown>("/api/v1/chats", { ids: [chatId] }),
  listDatasets: () => api.get<DatasetSummary[]>("/api/v1/datasets?page_size=100"),
  listSessions: (chatId: string) =>
    api.get<ChatSession[]>(`${chatPath(chatId)}/sessions?page_size=100&orderby=update_time&desc=true`),
  createSession: (chatId: string, name: string) => api.post<ChatSession>(`${chatPath(chatId)}/sessions`, { name }),
  renameSession: (chatId: string, sessionId: string, name: string) =>
    api.put<unknown>(sessionPath(chatId, sessionId), { name }),
  deleteSession: (chatId: string, sessionId: string) =>
    api.delete<unknown>(`${chatPath(chatId)}/sessions`, { ids: [sessionId] }),
  sendFeedback: (chatId: string, sessionId: string, messageId: string, thumbup: boolean, feedback: string) =>
    api.put<ChatSession>(`${sessionPath(chatId, sessionId)}/messages/${id(messageId)}/feedback`, {
      thumbup,
      feedback,
    }),
  inspect: (chatId: string, sessionId: string, messageId: string) =>
    api.get<AnswerRecord>(`${sessionPath(chatId, sessionId)}/messages/${id(messageId)}/inspect`),
};

/** Starts a streamed completion; the caller reads the body with `readAnswerStream`. */
export async function startCompletion(
  chatId: string,
  sessionId: string,
  question: string,
  signal: AbortSignal,
): Promise<ReadableStream<Uint8Array>> {
  let response: Response;
  try {
    response = await fetch(`${chatPath(chatId)}/completions`, {
      method: "POST",
      headers: { ...authHeaders(), "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ question, stream: true, session_id: sessionId }),
      signal,
      credentials: "same-origin",
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
    throw new ApiError(0, "The server cannot be reached. Check your connection.", 0);
  }
  if (response.status === 401) {
    reportUnauthorized();
    throw new ApiError(401, "Please log in.", 401);
  }
  const type = response.headers.get("Content-Type") ?? "";
  if (!type.includes("text/event-stream") || !response.body) {
    // Refusals (bad input, unknown session) come as a plain JSON envelope.
    const envelope = (await response.json().catch(() => null)) as { code?: number; message?: string } | null;
    throw new ApiError(envelope?.code ?? 500, envelope?.message ?? "The answer failed.", response.status);
  }
  return response.body;
}

export const chatKeys = {
  assistants: ["chat", "assistants"] as const,
  datasets: ["chat", "datasets"] as const,
  sessions: (chatId: string) => ["chat", "sessions", chatId] as const,
  record: (messageId: string) => ["chat", "record", messageId] as const,
};
