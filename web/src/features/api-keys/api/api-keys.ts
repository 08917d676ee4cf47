import { api } from "@/lib/api-client";

export interface ApiKey {
  id: string;
  tenant_id: string;
  /** The full key only in the creation response; masked in the list. */
  token: string;
  create_time: number;
  create_date: string;
}

export const apiKeysApi = {
  list: () => api.get<ApiKey[]>("/v1/system/token_list"),
  create: () => api.post<ApiKey>("/v1/system/new_token"),
  // Named by id: the full key is not kept by the page once it has been shown.
  remove: (id: string) => api.delete<boolean>(`/v1/system/token/${encodeURIComponent(id)}`),
};

export const apiKeysKeys = { list: ["api-keys", "list"] as const };
