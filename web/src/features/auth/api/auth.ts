import { api } from "@/lib/api-client";

export type Role = "owner" | "admin" | "normal";

export interface UserInfo {
  id: string;
  email: string;
  nickname: string;
  tenant_id: string;
  role: Role;
}

export interface TenantMembership {
  tenant_id: string;
  name: string;
  role: Role;
  nickname: string;
  email: string;
}

export interface Credentials {
  email: string;
  password: string;
}

export const authApi = {
  login: (body: Credentials) =>
    api.post<UserInfo & { access_token: string }>("/v1/user/login", body, { anonymous: true }),
  register: (body: Credentials & { nickname: string }) =>
    api.post<UserInfo>("/v1/user/register", body, { anonymous: true }),
  logout: () => api.post<boolean>("/v1/user/logout"),
  info: () => api.get<UserInfo>("/v1/user/info"),
  tenants: () => api.get<TenantMembership[]>("/v1/tenant/list"),
};

export const authKeys = {
  info: ["auth", "info"] as const,
  tenants: ["auth", "tenants"] as const,
};
