import type { ReactNode } from "react";

/** The frame of the pages shown before logging in. */
export function AuthLayout({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main id="main" className="auth-page">
      <div className="auth-box">
        <p className="brand brand-large" aria-hidden="true">
          ragprism
        </p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}
