/**
 * The app's navigation in one place. A new area (datasets, chat, usage…) adds its entry
 * here and its routes in router.tsx.
 */
export interface NavItem {
  to: string;
  label: string;
}

/** Top-level areas in the header. */
export const primaryNav: NavItem[] = [
  { to: "/datasets", label: "Datasets" },
  { to: "/chat", label: "Chat" },
  { to: "/usage", label: "Usage" },
  { to: "/settings", label: "Settings" },
];

/** Sections of Settings, in the side navigation. */
export const settingsNav: NavItem[] = [
  { to: "/settings/observability", label: "Observability" },
  { to: "/settings/api-keys", label: "API keys" },
  { to: "/settings/models", label: "Models" },
  { to: "/settings/team", label: "Team" },
];
