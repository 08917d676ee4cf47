import { ApiError, api, authHeaders, reportUnauthorized } from "@/lib/api-client";

/** RAGFlow's chunk methods, as the server's `chunk_method` accepts them (docs/api.md). */
export const CHUNK_METHODS = [
  "naive",
  "book",
  "email",
  "laws",
  "manual",
  "one",
  "paper",
  "picture",
  "presentation",
  "qa",
  "table",
  "tag",
] as const;
export type ChunkMethod = (typeof CHUNK_METHODS)[number];

export interface ParserConfig {
  chunk_token_num?: number;
  delimiter?: string;
  overlapped_percent?: number;
  [key: string]: unknown;
}

export interface Dataset {
  id: string;
  name: string;
  description: string | null;
  embedding_model: string;
  chunk_method: ChunkMethod;
  parser_config: ParserConfig;
  document_count: number;
  chunk_count: number;
}

export interface DatasetInput {
  name?: string;
  description?: string;
  embedding_model?: string;
  chunk_method?: ChunkMethod;
  parser_config?: ParserConfig;
}

/** A document's parsing state: RAGFlow's `run`. */
export type Run = "UNSTART" | "RUNNING" | "CANCEL" | "DONE" | "FAIL";

export interface DatasetDocument {
  id: string;
  name: string;
  size: number;
  run: Run;
  progress: number;
  progress_msg: string;
  chunk_count: number;
  token_count: number;
}

export interface Chunk {
  id: string;
  content: string;
  document_id: string;
  important_keywords: string[];
  questions: string[];
  available: boolean;
}

export interface RetrievalInput {
  question: string;
  dataset_ids: string[];
  similarity_threshold: number;
  vector_similarity_weight: number;
  top_k: number;
  rerank_id?: string;
  page_size: number;
  highlight: true;
}

export interface RetrievalHit {
  id: string;
  content: string;
  document_id: string;
  document_keyword: string;
  similarity: number;
  vector_similarity: number;
  term_similarity: number;
  highlight?: string;
  important_keywords?: string[];
}

/** What an upload may be (`GET /v1/system/upload_limits`). */
export interface UploadLimits {
  extensions: string[];
  max_file_bytes: number;
}

const id = encodeURIComponent;
const datasetPath = (datasetId: string) => `/api/v1/datasets/${id(datasetId)}`;
const documentsPath = (datasetId: string) => `${datasetPath(datasetId)}/documents`;
const chunksPath = (datasetId: string, documentId: string) => `${documentsPath(datasetId)}/${id(documentId)}/chunks`;

export const datasetsApi = {
  list: () => api.get<Dataset[]>("/api/v1/datasets?page_size=1000&orderby=create_time&desc=true"),
  create: (input: DatasetInput) => api.post<Dataset>("/api/v1/datasets", input),
  update: (datasetId: string, input: DatasetInput) => api.put<Dataset>(datasetPath(datasetId), input),
  remove: (datasetId: string) => api.delete<null>("/api/v1/datasets", { ids: [datasetId] }),
  limits: () => api.get<UploadLimits>("/v1/system/upload_limits"),
  documents: (datasetId: string) =>
    api.get<{ docs: DatasetDocument[]; total: number }>(`${documentsPath(datasetId)}?page_size=1000`),
  parse: (datasetId: string, documentIds: string[]) =>
    api.post<null>(`${datasetPath(datasetId)}/chunks`, { document_ids: documentIds }),
  removeDocument: (datasetId: string, documentId: string) =>
    api.delete<null>(documentsPath(datasetId), { ids: [documentId] }),
  chunks: (datasetId: string, documentId: string, keywords: string) =>
    api.get<{ chunks: Chunk[]; total: number }>(
      `${chunksPath(datasetId, documentId)}?page_size=1000${keywords ? `&keywords=${id(keywords)}` : ""}`,
    ),
  updateChunk: (
    datasetId: string,
    documentId: string,
    chunkId: string,
    change: { content?: string; available?: boolean },
  ) => api.put<null>(`${chunksPath(datasetId, documentId)}/${id(chunkId)}`, change),
  retrieve: (input: RetrievalInput) =>
    api.post<{ chunks: RetrievalHit[]; total: number }>("/api/v1/retrieval", input),
};

function parseEnvelope(text: string): { code?: number; message?: string; data?: DatasetDocument[] } | null {
  try {
    return JSON.parse(text) as { code?: number; message?: string; data?: DatasetDocument[] };
  } catch {
    return null;
  }
}

/**
 * Uploads one file (one request, so that each file has its own progress) with
 * XMLHttpRequest, whose upload events report the bytes sent; `fetch` has no upload progress.
 */
export function uploadDocument(
  datasetId: string,
  file: File,
  onProgress: (fraction: number) => void,
  signal?: AbortSignal,
): Promise<DatasetDocument> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", documentsPath(datasetId));
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    };
    xhr.onerror = () => reject(new ApiError(0, "The server cannot be reached. Check your connection.", 0));
    xhr.onabort = () => reject(new DOMException("Upload cancelled", "AbortError"));
    xhr.onload = () => {
      const envelope = parseEnvelope(xhr.responseText);
      if (xhr.status === 401) {
        reportUnauthorized();
        reject(new ApiError(401, "Please log in.", 401));
      } else if (envelope?.code === 0 && envelope.data?.[0]) {
        onProgress(1);
        resolve(envelope.data[0]);
      } else {
        reject(new ApiError(envelope?.code ?? 500, envelope?.message ?? `Upload failed (HTTP ${xhr.status}).`, xhr.status));
      }
    };
    signal?.addEventListener("abort", () => xhr.abort());
    const body = new FormData();
    body.append("file", file, file.name);
    xhr.send(body);
  });
}

export const datasetsKeys = {
  all: ["datasets"] as const,
  list: ["datasets", "list"] as const,
  limits: ["datasets", "upload-limits"] as const,
  documents: (datasetId: string) => ["datasets", "documents", datasetId] as const,
  chunks: (datasetId: string, documentId: string, keywords: string) =>
    ["datasets", "chunks", datasetId, documentId, keywords] as const,
};
