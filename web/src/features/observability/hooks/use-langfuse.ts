import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { langfuseApi, langfuseKeys, type LangfuseConfigInput } from "../api/langfuse";

/** The exporter's figures refresh this often while the card is on screen. */
export const STATUS_REFRESH_MS = 5_000;

export function useLangfuseConfig() {
  return useQuery({
    queryKey: langfuseKeys.config,
    queryFn: langfuseApi.get,
    refetchInterval: (query) => (query.state.data ? STATUS_REFRESH_MS : false),
    refetchIntervalInBackground: false,
  });
}

/** Save (upsert): the server checks the keys against Langfuse before storing them. */
export function useSaveLangfuseConfig() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: LangfuseConfigInput) => langfuseApi.save(body),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: langfuseKeys.config });
    },
  });
}

export function useDeleteLangfuseConfig() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => langfuseApi.remove(),
    onSuccess: () => {
      queryClient.setQueryData(langfuseKeys.config, null);
    },
  });
}
