import { Suspense } from "react";
import { NavLink, Outlet } from "react-router-dom";

import { Loading } from "@/components/Card";

import { settingsNav } from "./navigation";

export function SettingsLayout() {
  return (
    <div className="with-sidebar">
      <nav aria-label="Settings" className="sidebar">
        <ul>
          {settingsNav.map((item) => (
            <li key={item.to}>
              <NavLink to={item.to}>{item.label}</NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
