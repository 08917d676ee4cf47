// The auth feature's public face, used by the app shell and other features.
export type { Role, UserInfo } from "./api/auth";
export { LoginPage } from "./components/LoginPage";
export { RequireAuth } from "./components/RequireAuth";
export { HOME } from "./components/safe-next";
export { SignupPage } from "./components/SignupPage";
export { TenantSwitcher } from "./components/TenantSwitcher";
export { SessionProvider, useSession } from "./hooks/session";
export { useCanManage, useLogout, useUserInfo } from "./hooks/use-auth";
