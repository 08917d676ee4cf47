import { useMutation, useQuery } from "@tanstack/react-query";

import { authApi, authKeys, type Credentials, type Role } from "../api/auth";
import { useSession } from "./session";

export function useLogin() {
  const { signIn } = useSession();
  return useMutation({
    mutationFn: (body: Credentials) => authApi.login(body),
    onSuccess: (data) => signIn(data.access_token),
  });
}

export function useRegister() {
  return useMutation({
    mutationFn: (body: Credentials & { nickname: string }) => authApi.register(body),
  });
}

export function useLogout() {
  const { signOut } = useSession();
  return useMutation({
    mutationFn: () => authApi.logout(),
    // Logged out locally even if the server could not be told.
    onSettled: () => signOut(),
  });
}

/** The user and their role in the acting tenant. */
export function useUserInfo() {
  const { token, tenantId } = useSession();
  return useQuery({
    queryKey: [...authKeys.info, tenantId],
    queryFn: authApi.info,
    enabled: Boolean(token),
    staleTime: 60_000,
  });
}

export function useTenants() {
  const { token } = useSession();
  return useQuery({
    queryKey: authKeys.tenants,
    queryFn: authApi.tenants,
    enabled: Boolean(token),
    staleTime: 60_000,
  });
}

/** Whether the caller may change the acting tenant's settings (owner or admin). */
export function useCanManage(): boolean {
  const info = useUserInfo();
  const role: Role | undefined = info.data?.role;
  return role === "owner" || role === "admin";
}
