import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { usageApi, usageKeys, type UsageGrouping, type UsageRange } from "../api/usage";

export function useUsage(range: UsageRange | null, groupBy: UsageGrouping) {
  return useQuery({
    queryKey: range ? usageKeys.report(range, groupBy) : usageKeys.all,
    queryFn: () => usageApi.report(range as UsageRange, groupBy),
    enabled: range !== null,
    placeholderData: keepPreviousData,
  });
}
