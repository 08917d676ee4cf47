import { QueryClient } from "@tanstack/react-query";

import { ApiError, RetCode } from "./api-client";

/** One query client for the app: no retries of refused requests, no refetch storms. */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        refetchOnWindowFocus: false,
        retry: (failures, error) =>
          failures < 2 && !(error instanceof ApiError && error.code !== 0),
      },
      mutations: { retry: false },
    },
  });
}

export { RetCode };
