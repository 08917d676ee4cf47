import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { modelsApi, modelsKeys, type AddModelInput, type DEFAULT_FIELDS, type ModelType } from "../api/models";

export function useFactories() {
  return useQuery({ queryKey: modelsKeys.factories, queryFn: modelsApi.factories, staleTime: Infinity });
}

export function useMyModels() {
  return useQuery({ queryKey: modelsKeys.mine, queryFn: modelsApi.mine });
}

export function useTenantDefaults() {
  return useQuery({ queryKey: modelsKeys.defaults, queryFn: modelsApi.defaults });
}

/** Adds each named model in turn (each verified by the server); stops at the first error. */
export function useAddModels() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (inputs: AddModelInput[]) => {
      for (const input of inputs) await modelsApi.add(input);
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: modelsKeys.mine }),
  });
}

export function useDeleteModel() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ factory, name }: { factory: string; name: string }) => modelsApi.remove(factory, name),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: modelsKeys.mine }),
  });
}

export function useSetDefaults() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: Partial<Record<(typeof DEFAULT_FIELDS)[ModelType], string>>) => modelsApi.setDefaults(body),
    onSuccess: (data) => queryClient.setQueryData(modelsKeys.defaults, data),
  });
}
