import { usePageTitle } from "@/components/usePageTitle";

import { LangfuseCard } from "./LangfuseCard";

export function ObservabilityPage({ canManage }: { canManage: boolean }) {
  usePageTitle("Observability");
  return (
    <>
      <h1>Observability</h1>
      <p className="lead">Where this team's requests are traced.</p>
      <LangfuseCard canManage={canManage} />
    </>
  );
}

export default ObservabilityPage;
