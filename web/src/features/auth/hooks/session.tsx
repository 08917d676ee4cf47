/**
 * The login session: the token and the acting tenant, kept in localStorage so a reload
 * stays logged in. Nothing else is stored in the browser (never a Langfuse or provider
 * secret). The API client reads the token from here and reports an expired one back.
 */
import { useQueryClient } from "@tanstack/react-query";
import {
  createContext,
  useCallback,
  useContext,
  useLayoutEffect,
  useMemo,
  useState,
  type ReactNode,
} from "react";

import { configureApiClient } from "@/lib/api-client";

const TOKEN_KEY = "ragprism.token";
const TENANT_KEY = "ragprism.tenant";

interface SessionState {
  token: string | null;
  tenantId: string | null;
  /** True once the server refused the token: the login page says the session expired. */
  expired: boolean;
}

export interface Session extends SessionState {
  signIn: (token: string) => void;
  signOut: () => void;
  switchTenant: (tenantId: string | null) => void;
}

const SessionContext = createContext<Session | null>(null);

function readStored(): SessionState {
  return {
    token: localStorage.getItem(TOKEN_KEY),
    tenantId: localStorage.getItem(TENANT_KEY),
    expired: false,
  };
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [state, setState] = useState<SessionState>(readStored);

  const end = useCallback(
    (expired: boolean) => {
      localStorage.removeItem(TOKEN_KEY);
      localStorage.removeItem(TENANT_KEY);
      setState({ token: null, tenantId: null, expired });
      queryClient.clear();
    },
    [queryClient],
  );

  // Before children render their first queries: the client must know the token.
  useLayoutEffect(() => {
    configureApiClient({
      credentials: () => ({
        token: localStorage.getItem(TOKEN_KEY),
        tenantId: localStorage.getItem(TENANT_KEY),
      }),
      onUnauthorized: () => {
        if (localStorage.getItem(TOKEN_KEY)) end(true);
      },
    });
  }, [end]);

  const session = useMemo<Session>(
    () => ({
      ...state,
      signIn: (token) => {
        localStorage.setItem(TOKEN_KEY, token);
        localStorage.removeItem(TENANT_KEY);
        queryClient.clear();
        setState({ token, tenantId: null, expired: false });
      },
      signOut: () => end(false),
      switchTenant: (tenantId) => {
        if (tenantId) localStorage.setItem(TENANT_KEY, tenantId);
        else localStorage.removeItem(TENANT_KEY);
        // Every cached answer belongs to the previous tenant.
        queryClient.clear();
        setState((current) => ({ ...current, tenantId }));
      },
    }),
    [state, end, queryClient],
  );

  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}
