import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useState, type ReactNode } from "react";
import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";

import { ErrorNotice, Loading } from "@/components/Card";
import { HOME, RequireAuth, useUserInfo, type UserInfo } from "@/features/auth";
import { ObservabilityPage, prefetchObservability } from "@/features/observability";
import { errorMessage } from "@/lib/api-client";

import { AppShell } from "./AppShell";
import { SettingsLayout } from "./SettingsLayout";

// One chunk per page: the first page loads only its own code (docs/benchmarks.md).
const LoginPage = lazy(() => import("@/features/auth/components/LoginPage"));
const SignupPage = lazy(() => import("@/features/auth/components/SignupPage"));
const ApiKeysPage = lazy(() => import("@/features/api-keys/components/ApiKeysPage"));
const ModelsPage = lazy(() => import("@/features/models/components/ModelsPage"));
const TeamPage = lazy(() => import("@/features/team/components/TeamPage"));
const ChatPage = lazy(() => import("@/features/chat/components/ChatPage"));
const DatasetsPage = lazy(() => import("@/features/datasets/components/DatasetsPage"));
const UsagePage = lazy(() => import("@/features/usage/components/UsagePage"));

/** Renders a page once the user's role in the acting tenant is known. `prefetch` starts the
 * page's own requests and code at the same time, so they do not wait for the role. */
function WithUser({
  render,
  prefetch,
}: {
  render: (user: UserInfo) => ReactNode;
  prefetch?: (queryClient: QueryClient) => void;
}) {
  const queryClient = useQueryClient();
  useState(() => prefetch?.(queryClient));
  const info = useUserInfo();
  if (info.isPending) return <Loading />;
  if (info.isError) return <ErrorNotice>{errorMessage(info.error)}</ErrorNotice>;
  return <>{render(info.data)}</>;
}

const manages = (user: UserInfo) => user.role === "owner" || user.role === "admin";

function NotFound() {
  return (
    <main id="main">
      <h1>Page not found</h1>
      <p>
        <a href={HOME}>Go to the settings</a>
      </p>
    </main>
  );
}

export function AppRouter() {
  return (
    <BrowserRouter>
      <Routes>
        <Route
          path="/login"
          element={
            <Suspense fallback={<Loading />}>
              <LoginPage />
            </Suspense>
          }
        />
        <Route
          path="/signup"
          element={
            <Suspense fallback={<Loading />}>
              <SignupPage />
            </Suspense>
          }
        />
        <Route
          element={
            <RequireAuth>
              <AppShell />
            </RequireAuth>
          }
        >
          <Route index element={<Navigate to={HOME} replace />} />
          <Route
            path="chat"
            element={
              <Suspense fallback={<Loading />}>
                <ChatPage />
              </Suspense>
            }
          />
          <Route
            path="datasets"
            element={
              <Suspense fallback={<Loading />}>
                <DatasetsPage />
              </Suspense>
            }
          />
          <Route
            path="usage"
            element={
              <Suspense fallback={<Loading />}>
                <UsagePage />
              </Suspense>
            }
          />
          <Route path="settings" element={<SettingsLayout />}>
            <Route index element={<Navigate to={HOME} replace />} />
            <Route
              path="observability"
              element={
                <WithUser
                  prefetch={prefetchObservability}
                  render={(user) => <ObservabilityPage canManage={manages(user)} />}
                />
              }
            />
            <Route path="api-keys" element={<ApiKeysPage />} />
            <Route path="models" element={<WithUser render={(user) => <ModelsPage canManage={manages(user)} />} />} />
            <Route
              path="team"
              element={
                <WithUser
                  render={(user) => <TeamPage tenantId={user.tenant_id} currentUserId={user.id} myRole={user.role} />}
                />
              }
            />
          </Route>
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </BrowserRouter>
  );
}
