import type { QueryClient } from "@tanstack/react-query";

import { langfuseApi, langfuseKeys } from "./api/langfuse";

/** The page's code, for the router's lazy route. */
export const loadObservabilityPage = () => import("./components/ObservabilityPage");

/** Start what the page needs at once, in parallel with the user's role and the code. */
export function prefetchObservability(queryClient: QueryClient): void {
  void queryClient.prefetchQuery({ queryKey: langfuseKeys.config, queryFn: langfuseApi.get });
  void loadObservabilityPage();
}
