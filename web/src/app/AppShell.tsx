import { Suspense } from "react";
import { NavLink, Outlet } from "react-router-dom";

import { Button } from "@/components/Button";
import { Loading } from "@/components/Card";
import { TenantSwitcher, useLogout, useUserInfo } from "@/features/auth";

import { primaryNav } from "./navigation";

/** The frame of every page behind the login: header, navigation, tenant switcher. */
export function AppShell() {
  const info = useUserInfo();
  const logout = useLogout();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <span className="brand">ragprism</span>
        <nav aria-label="Main">
          <ul>
            {primaryNav.map((item) => (
              <li key={item.to}>
                <NavLink to={item.to}>{item.label}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="header-end">
          <TenantSwitcher />
          {info.data ? <span className="muted user-email">{info.data.email}</span> : null}
          <Button onClick={() => logout.mutate()} pending={logout.isPending}>
            Log out
          </Button>
        </div>
      </header>
      <Suspense fallback={<Loading />}>
        <Outlet />
      </Suspense>
    </>
  );
}
