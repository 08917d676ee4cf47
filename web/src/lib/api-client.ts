/**
 * The one typed client of ragprism's HTTP API (RAGFlow's envelope, SPEC §1).
 *
 * Every call goes through `request`, which adds the login token and the acting tenant
 * (`X-Tenant-Id`), unwraps `{code, data, message}` and throws `ApiError` for any other
 * code. An HTTP 401 (expired or revoked login) is reported once to `onUnauthorized`, which
 * the session provider sets to show the login page again.
 */

import { readSession } from "./session-storage";

export class ApiError extends Error {
  readonly code: number;
  readonly status: number;

  constructor(code: number, message: string, status: number) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
  }
}

/** RAGFlow's response codes that the pages tell apart. */
export const RetCode = {
  success: 0,
  argument: 101,
  data: 102,
  operating: 103,
  connection: 105,
  permission: 108,
  authentication: 109,
  unauthorized: 401,
} as const;

interface Envelope<T> {
  code: number;
  message?: string;
  data: T;
}

export interface SessionCredentials {
  token: string | null;
  tenantId: string | null;
}

type Hooks = {
  credentials: () => SessionCredentials;
  onUnauthorized: () => void;
};

const hooks: Hooks = {
  // Read at each request, so a request made before any component ran carries the login.
  credentials: readSession,
  onUnauthorized: () => undefined,
};

/** Called by the session provider: what a 401 does (and, in tests, where the token comes from). */
export function configureApiClient(next: Partial<Hooks>): void {
  Object.assign(hooks, next);
}

/** The login token and acting tenant headers, for requests `request` cannot make (streams, uploads). */
export function authHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const { token, tenantId } = hooks.credentials();
  if (token) {
    headers.Authorization = `Bearer ${token}`;
    if (tenantId) headers["X-Tenant-Id"] = tenantId;
  }
  return headers;
}

/** Reports an expired login found outside `request` (e.g. by a stream's HTTP 401). */
export function reportUnauthorized(): void {
  hooks.onUnauthorized();
}

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface RequestOptions {
  body?: unknown;
  /** Log-in and sign-up requests carry no token and must not trigger the expiry path. */
  anonymous?: boolean;
  signal?: AbortSignal;
}

/** Call the API; resolves with `data` of a code-0 envelope, throws `ApiError` otherwise. */
export async function request<T>(
  method: Method,
  path: string,
  options: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const { token, tenantId } = hooks.credentials();
  if (!options.anonymous && token) {
    headers.Authorization = `Bearer ${token}`;
    if (tenantId) headers["X-Tenant-Id"] = tenantId;
  }
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      credentials: "same-origin",
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
    throw new ApiError(0, "The server cannot be reached. Check your connection.", 0);
  }
  let envelope: Envelope<T>;
  try {
    envelope = (await response.json()) as Envelope<T>;
  } catch {
    throw new ApiError(500, `The server answered ${response.status} without data.`, response.status);
  }
  if (response.status === 401 || envelope.code === RetCode.unauthorized) {
    if (!options.anonymous) hooks.onUnauthorized();
    throw new ApiError(RetCode.unauthorized, envelope.message ?? "Please log in.", 401);
  }
  if (envelope.code !== RetCode.success) {
    throw new ApiError(envelope.code, envelope.message ?? "Request failed.", response.status);
  }
  return envelope.data;
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>("GET", path, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>("POST", path, { ...options, body }),
  put: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>("PUT", path, { ...options, body }),
  patch: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>("PATCH", path, { ...options, body }),
  delete: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>("DELETE", path, { ...options, body }),
};

/** The message to show for any error thrown by a query or mutation. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}
