import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { teamApi, teamKeys } from "../api/team";

export function useMembers(tenantId: string) {
  return useQuery({ queryKey: teamKeys.members(tenantId), queryFn: () => teamApi.members(tenantId) });
}

function useInvalidateMembers(tenantId: string) {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: teamKeys.members(tenantId) });
}

export function useInviteMember(tenantId: string) {
  const invalidate = useInvalidateMembers(tenantId);
  return useMutation({
    mutationFn: (body: { email: string; role: "admin" | "normal" }) => teamApi.invite(tenantId, body),
    onSuccess: invalidate,
  });
}

export function useSetMemberRole(tenantId: string) {
  const invalidate = useInvalidateMembers(tenantId);
  return useMutation({
    mutationFn: ({ userId, role }: { userId: string; role: "admin" | "normal" }) =>
      teamApi.setRole(tenantId, userId, role),
    onSettled: invalidate,
  });
}

export function useRemoveMember(tenantId: string) {
  const invalidate = useInvalidateMembers(tenantId);
  return useMutation({
    mutationFn: (userId: string) => teamApi.remove(tenantId, userId),
    onSuccess: invalidate,
  });
}
