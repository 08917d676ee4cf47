import { api } from "@/lib/api-client";

export const MODEL_TYPES = ["chat", "embedding", "rerank", "image2text", "speech2text"] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

/** The tenant's default model of each type, as `/v1/user/tenant_info` names them. */
export const DEFAULT_FIELDS: Record<ModelType, "llm_id" | "embd_id" | "rerank_id" | "img2txt_id" | "asr_id"> = {
  chat: "llm_id",
  embedding: "embd_id",
  rerank: "rerank_id",
  image2text: "img2txt_id",
  speech2text: "asr_id",
};

export interface Factory {
  name: string;
  model_types: ModelType[];
  api_base: string | null;
}

export interface TenantModel {
  type: ModelType;
  name: string;
  api_base?: string | null;
  has_api_key?: boolean;
  input_price: number | null;
  output_price: number | null;
}

export type MyModels = Record<string, { tags: string; llm: TenantModel[] }>;

export type TenantDefaults = Partial<Record<(typeof DEFAULT_FIELDS)[ModelType], string | null>> & {
  tenant_id: string;
};

export interface AddModelInput {
  llm_factory: string;
  llm_name: string;
  model_type: ModelType;
  api_base?: string;
  api_key?: string;
  input_price?: number;
  output_price?: number;
}

export const modelsApi = {
  factories: () => api.get<Factory[]>("/v1/llm/factories"),
  mine: () => api.get<MyModels>("/v1/llm/my_llms"),
  add: (body: AddModelInput) => api.post<{ llm_id: string }>("/v1/llm/add_llm", body),
  remove: (llm_factory: string, llm_name: string) =>
    api.post<boolean>("/v1/llm/delete_llm", { llm_factory, llm_name }),
  defaults: () => api.get<TenantDefaults>("/v1/user/tenant_info"),
  setDefaults: (body: Partial<Record<(typeof DEFAULT_FIELDS)[ModelType], string>>) =>
    api.post<TenantDefaults>("/v1/user/set_tenant_info", body),
};

export const modelsKeys = {
  factories: ["models", "factories"] as const,
  mine: ["models", "mine"] as const,
  defaults: ["models", "defaults"] as const,
};
