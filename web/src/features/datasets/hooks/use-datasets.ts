import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";

import { modelsApi, modelsKeys } from "@/features/models/api/models";

import { datasetsApi, datasetsKeys, type DatasetDocument, type DatasetInput, type RetrievalInput } from "../api/datasets";

export function useDatasets() {
  return useQuery({ queryKey: datasetsKeys.list, queryFn: datasetsApi.list });
}

export function useUploadLimits() {
  return useQuery({ queryKey: datasetsKeys.limits, queryFn: datasetsApi.limits, staleTime: Infinity });
}

/** The team's models (for the embedding and rerank choices). */
export function useTeamModels() {
  return useQuery({ queryKey: modelsKeys.mine, queryFn: modelsApi.mine });
}

export function useSaveDataset() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ datasetId, input }: { datasetId: string | null; input: DatasetInput }) =>
      datasetId ? datasetsApi.update(datasetId, input) : datasetsApi.create(input),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: datasetsKeys.list }),
  });
}

export function useDeleteDataset() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (datasetId: string) => datasetsApi.remove(datasetId),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: datasetsKeys.list }),
  });
}

const POLL_MS = 1000;

const parsing = (docs: DatasetDocument[] | undefined) => docs?.some((document) => document.run === "RUNNING") ?? false;

/** The dataset's documents, polled while any of them is being parsed; when the last parse
 * ends, the datasets (their chunk counts) are fetched again too. */
export function useDocuments(datasetId: string) {
  const queryClient = useQueryClient();
  const query = useQuery({
    queryKey: datasetsKeys.documents(datasetId),
    queryFn: () => datasetsApi.documents(datasetId),
    refetchInterval: (current) => (parsing(current.state.data?.docs) ? POLL_MS : false),
  });
  const running = parsing(query.data?.docs);
  const wasRunning = useRef(running);
  useEffect(() => {
    if (wasRunning.current && !running) void queryClient.invalidateQueries({ queryKey: datasetsKeys.list });
    wasRunning.current = running;
  }, [running, queryClient]);
  return query;
}

export function useParse(datasetId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (documentIds: string[]) => datasetsApi.parse(datasetId, documentIds),
    onSettled: () => queryClient.invalidateQueries({ queryKey: datasetsKeys.documents(datasetId) }),
  });
}

export function useDeleteDocument(datasetId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (documentId: string) => datasetsApi.removeDocument(datasetId, documentId),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: datasetsKeys.documents(datasetId) }),
  });
}

export function useChunks(datasetId: string, documentId: string, keywords: string) {
  return useQuery({
    queryKey: datasetsKeys.chunks(datasetId, documentId, keywords),
    queryFn: () => datasetsApi.chunks(datasetId, documentId, keywords),
    placeholderData: (previous) => previous,
  });
}

export function useUpdateChunk(datasetId: string, documentId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ chunkId, change }: { chunkId: string; change: { content?: string; available?: boolean } }) =>
      datasetsApi.updateChunk(datasetId, documentId, chunkId, change),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["datasets", "chunks", datasetId, documentId] }),
  });
}

export function useRetrieval() {
  return useMutation({ mutationFn: (input: RetrievalInput) => datasetsApi.retrieve(input) });
}
