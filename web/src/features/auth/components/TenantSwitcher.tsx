import { useId } from "react";

import { useSession } from "../hooks/session";
import { useTenants, useUserInfo } from "../hooks/use-auth";

/** Shown when the user belongs to several teams: which one the pages act on. */
export function TenantSwitcher() {
  const tenants = useTenants();
  const info = useUserInfo();
  const { tenantId, switchTenant } = useSession();
  const id = useId();
  if (!tenants.data || tenants.data.length < 2 || !info.data) return null;
  const own = info.data.id;
  const current = tenantId ?? own;
  return (
    <div className="tenant-switcher">
      <label htmlFor={id}>Team</label>
      <select
        id={id}
        value={current}
        onChange={(event) => switchTenant(event.target.value === own ? null : event.target.value)}
      >
        {tenants.data.map((tenant) => (
          <option key={tenant.tenant_id} value={tenant.tenant_id}>
            {tenant.name} ({tenant.role})
          </option>
        ))}
      </select>
    </div>
  );
}
