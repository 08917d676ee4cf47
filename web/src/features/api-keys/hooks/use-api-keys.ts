import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { apiKeysApi, apiKeysKeys } from "../api/api-keys";

export function useApiKeys() {
  return useQuery({ queryKey: apiKeysKeys.list, queryFn: apiKeysApi.list });
}

export function useCreateApiKey() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: apiKeysApi.create,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: apiKeysKeys.list }),
  });
}

export function useDeleteApiKey() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => apiKeysApi.remove(id),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: apiKeysKeys.list }),
  });
}
