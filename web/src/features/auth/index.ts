// The auth feature's public face, used by the app shell. The login and sign-up pages are
// loaded lazily by the router (components/LoginPage, components/SignupPage).
export type { Role, UserInfo } from "./api/auth";
export { RequireAuth } from "./components/RequireAuth";
export { HOME } from "./components/safe-next";
export { TenantSwitcher } from "./components/TenantSwitcher";
export { SessionProvider, useSession } from "./hooks/session";
export { useCanManage, useLogout, useUserInfo } from "./hooks/use-auth";
