import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { chatApi, chatKeys, type AssistantInput } from "../api/chat";

export function useAssistants() {
  return useQuery({ queryKey: chatKeys.assistants, queryFn: chatApi.listAssistants });
}

export function useDatasetChoices() {
  return useQuery({ queryKey: chatKeys.datasets, queryFn: chatApi.listDatasets });
}

export function useSaveAssistant() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ chatId, input }: { chatId: string | null; input: AssistantInput }) =>
      chatId ? chatApi.updateAssistant(chatId, input) : chatApi.createAssistant(input),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: chatKeys.assistants }),
  });
}

export function useDeleteAssistant() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (chatId: string) => chatApi.deleteAssistant(chatId),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: chatKeys.assistants }),
  });
}

export function useSessions(chatId: string | null) {
  return useQuery({
    queryKey: chatKeys.sessions(chatId ?? ""),
    queryFn: () => chatApi.listSessions(chatId ?? ""),
    enabled: chatId !== null,
  });
}

export function useCreateSession(chatId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => chatApi.createSession(chatId, name),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: chatKeys.sessions(chatId) }),
  });
}

export function useRenameSession(chatId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ sessionId, name }: { sessionId: string; name: string }) =>
      chatApi.renameSession(chatId, sessionId, name),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: chatKeys.sessions(chatId) }),
  });
}

export function useDeleteSession(chatId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (sessionId: string) => chatApi.deleteSession(chatId, sessionId),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: chatKeys.sessions(chatId) }),
  });
}

export function useSendFeedback(chatId: string, sessionId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ messageId, thumbup, feedback }: { messageId: string; thumbup: boolean; feedback: string }) =>
      chatApi.sendFeedback(chatId, sessionId, messageId, thumbup, feedback),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: chatKeys.sessions(chatId) }),
  });
}

export function useAnswerRecord(chatId: string, sessionId: string, messageId: string, enabled: boolean) {
  return useQuery({
    queryKey: chatKeys.record(messageId),
    queryFn: () => chatApi.inspect(chatId, sessionId, messageId),
    enabled,
  });
}
