import type { ReactNode } from "react";
import Markdown, { type Components } from "react-markdown";

/** `[ID:n]` as the server writes citations (SPEC §4). */
const CITATION = /\[ID:(\d+)\]/g;
const CITE_PREFIX = "#cite-";

/** Turns `[ID:n]` into a Markdown link the renderer below shows as a citation marker. */
export function markCitations(text: string): string {
  return text.replace(CITATION, (_match, index: string) => `[${index}](${CITE_PREFIX}${index})`);
}

interface AnswerMarkdownProps {
  text: string;
  /** Opens the cited chunk; without it citations are plain text markers. */
  onCite?: (index: number) => void;
  /** Names the chunk in the marker's accessible name. */
  describeCitation?: (index: number) => string | undefined;
}

/**
 * An answer's (or a chunk's) Markdown, rendered without executing anything it contains:
 * react-markdown builds React elements, raw HTML is never parsed (no rehype-raw), and
 * link URLs go through its safe-URL filter (no `javascript:`). Citations become buttons.
 */
export function AnswerMarkdown({ text, onCite, describeCitation }: AnswerMarkdownProps) {
  const components: Components = {
    a({ href, children }) {
      if (href?.startsWith(CITE_PREFIX)) {
        const index = Number(href.slice(CITE_PREFIX.length));
        const what = describeCitation?.(index);
        const label = `Citation ${index}${what ? `: ${what}` : ""}`;
        if (!onCite) return <sup className="citation">[{index}]</sup>;
        return (
          <button type="button" className="citation" aria-label={label} onClick={() => onCite(index)}>
            {index}
          </button>
        );
      }
      if (!href) return <>{children}</>;
      return (
        <a href={href} target="_blank" rel="noopener noreferrer">
          {children as ReactNode}
        </a>
      );
    },
    // Images in answers would load arbitrary URLs: show their text instead.
    img({ alt }) {
      return <span className="image-alt">{alt ? `[image: ${alt}]` : "[image]"}</span>;
    },
  };
  return (
    <div className="markdown">
      <Markdown skipHtml components={components}>
        {markCitations(text)}
      </Markdown>
    </div>
  );
}
