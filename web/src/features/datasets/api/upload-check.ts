import type { UploadLimits } from "./datasets";

/** A size for people: 1.5 MB, 640 KB, 12 bytes (powers of 1024, as the server's limit). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot).toLowerCase() : "";
}

/**
 * Why the server would refuse `file` (its type or size, as `limits` from the server say),
 * or null when it may be uploaded. Checked before sending so that nothing is uploaded in vain.
 */
export function refusalReason(file: Pick<File, "name" | "size">, limits: UploadLimits): string | null {
  const extension = extensionOf(file.name);
  if (!limits.extensions.includes(extension)) {
    const shown = extension ? `${extension} files are` : "Files without an extension are";
    return `${shown} not supported. Supported: ${limits.extensions.join(", ")}.`;
  }
  if (file.size === 0) return "The file is empty.";
  if (file.size > limits.max_file_bytes) {
    return `${formatBytes(file.size)} is over the limit of ${formatBytes(limits.max_file_bytes)} per file.`;
  }
  return null;
}
