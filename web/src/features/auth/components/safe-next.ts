export const HOME = "/settings/observability";

/** The page to return to after logging in: only a path of this app, never another site. */
export function safeNext(value: string | null): string {
  if (!value || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return HOME;
  if (value.startsWith("/login") || value.startsWith("/signup")) return HOME;
  return value;
}
