import { ApiError, RetCode } from "./api-client";

/**
 * Which form field a 101 (argument error) names. The server's messages name fields by
 * their JSON names ("host: …", "secret_key, public_key must not be blank", "required
 * arguments are missing: host"); `fields` maps those names to the form's.
 */
export function fieldsNamedBy<F extends string>(
  message: string,
  fields: Readonly<Record<string, F>>,
): F[] {
  const named: F[] = [];
  for (const [wire, field] of Object.entries(fields)) {
    if (new RegExp(`(^|[^a-z_])${wire}([^a-z_]|$)`, "i").test(message) && !named.includes(field)) {
      named.push(field);
    }
  }
  return named;
}

/** For simple forms: every field a 101 names gets the message; otherwise the form does. */
export function mapArgumentError<F extends string>(
  error: unknown,
  fields: Readonly<Record<string, F>>,
  setError: (field: F | "root", message: string) => void,
): void {
  const message = error instanceof Error ? error.message : "Something went wrong.";
  if (error instanceof ApiError && error.code === RetCode.argument) {
    const named = fieldsNamedBy(message, fields);
    if (named.length) {
      for (const field of named) setError(field, message);
      return;
    }
  }
  setError("root", message);
}
