/**
 * Where the login session lives in the browser: the login token and the acting tenant,
 * nothing else (never a Langfuse or provider secret).
 */
const TOKEN_KEY = "ragprism.token";
const TENANT_KEY = "ragprism.tenant";

export const sessionStorageKeys = { token: TOKEN_KEY, tenant: TENANT_KEY } as const;

export function readSession(): { token: string | null; tenantId: string | null } {
  return { token: localStorage.getItem(TOKEN_KEY), tenantId: localStorage.getItem(TENANT_KEY) };
}

export function writeToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

export function writeTenant(tenantId: string | null): void {
  if (tenantId) localStorage.setItem(TENANT_KEY, tenantId);
  else localStorage.removeItem(TENANT_KEY);
}
