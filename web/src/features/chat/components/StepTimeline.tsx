import type { InspectStep } from "../api/chat";

/** Milliseconds as a person reads them. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.round(ms)} ms`;
}

/**
 * The answer's steps as a timeline: one row per step, indented under its parent, with a
 * bar placed at its start and as long as its duration (relative to the whole answer).
 */
export function StepTimeline({ steps, totalMs }: { steps: InspectStep[]; totalMs: number | null }) {
  const end = Math.max(
    totalMs ?? 0,
    ...steps.map((step) => step.start_ms + (step.duration_ms ?? 0)),
    1,
  );
  return (
    <ol className="timeline" aria-label="Steps">
      {steps.map((step, position) => {
        const left = (step.start_ms / end) * 100;
        const width = Math.max(((step.duration_ms ?? 0) / end) * 100, 0.5);
        return (
          <li key={`${step.name}-${position}`} className={`timeline-step${step.parent ? " timeline-child" : ""}`}>
            <span className="timeline-name">
              {step.name}
              {step.model ? <span className="timeline-model"> ({step.model})</span> : null}
            </span>
            <span className="timeline-duration">
              {formatMs(step.duration_ms)}
              {step.status !== "ok" ? ` · ${step.status}` : ""}
            </span>
            <span className="timeline-track" aria-hidden="true">
              <span className="timeline-bar" style={{ left: `${left}%`, width: `${width}%` }} />
            </span>
          </li>
        );
      })}
    </ol>
  );
}
