import type { QueryClient } from "@tanstack/react-query";

import { langfuseApi, langfuseKeys } from "./api/langfuse";

/** The first page is part of the main bundle, not a lazy chunk: revealing a lazy page
 * behind a Suspense fallback costs React's reveal throttle (~300 ms per boundary), which
 * was most of the first load (docs/benchmarks.md). Its form and dialogs stay lazy. */
export { ObservabilityPage } from "./components/ObservabilityPage";

/** Start what the page needs at once, in parallel with the user's role. */
export function prefetchObservability(queryClient: QueryClient): void {
  void queryClient.prefetchQuery({ queryKey: langfuseKeys.config, queryFn: langfuseApi.get });
}
