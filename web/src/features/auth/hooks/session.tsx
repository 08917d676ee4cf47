/**
 * The login session: the token and the acting tenant, kept in localStorage so a reload
 * stays logged in. Nothing else is stored in the browser (never a Langfuse or provider
 * secret). The API client reads the token from here and reports an expired one back.
 */
import { useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from "react";

import { configureApiClient } from "@/lib/api-client";
import { readSession, writeTenant, writeToken } from "@/lib/session-storage";

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
  return { ...readSession(), expired: false };
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [state, setState] = useState<SessionState>(readStored);

  const end = useCallback(
    (expired: boolean) => {
      writeToken(null);
      writeTenant(null);
      setState({ token: null, tenantId: null, expired });
      queryClient.clear();
    },
    [queryClient],
  );

  // Set during the first render, before any child can send a request: a 401 ends the session.
  const endRef = useRef(end);
  endRef.current = end;
  useState(() =>
    configureApiClient({
      onUnauthorized: () => {
        if (readSession().token) endRef.current(true);
      },
    }),
  );

  const session = useMemo<Session>(
    () => ({
      ...state,
      signIn: (token) => {
        writeToken(token);
        writeTenant(null);
        queryClient.clear();
        setState({ token, tenantId: null, expired: false });
      },
      signOut: () => end(false),
      switchTenant: (tenantId) => {
        writeTenant(tenantId);
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
