import { api } from "@/lib/api-client";

export type MemberRole = "owner" | "admin" | "normal";

export interface Member {
  user_id: string;
  tenant_id: string;
  email: string;
  nickname: string;
  role: MemberRole;
  create_date: string;
}

const base = (tenantId: string) => `/v1/tenant/${encodeURIComponent(tenantId)}/user`;

export const teamApi = {
  members: (tenantId: string) => api.get<Member[]>(`${base(tenantId)}/list`),
  invite: (tenantId: string, body: { email: string; role: "admin" | "normal" }) =>
    api.post<Member>(base(tenantId), body),
  setRole: (tenantId: string, userId: string, role: "admin" | "normal") =>
    api.put<Member>(`${base(tenantId)}/${encodeURIComponent(userId)}`, { role }),
  remove: (tenantId: string, userId: string) =>
    api.delete<boolean>(`${base(tenantId)}/${encodeURIComponent(userId)}`),
};

export const teamKeys = { members: (tenantId: string) => ["team", tenantId, "members"] as const };
