import type { ReactNode } from "react";

const EM = /<em>([\s\S]*?)<\/em>/g;

/**
 * Renders retrieval's `highlight` (chunk text with matched words in `<em>`) safely: only the
 * `<em>` pairs become elements (`<mark>`); everything else, markup included, is shown as text.
 * No HTML from documents is ever parsed.
 */
export function HighlightedText({ html }: { html: string }) {
  const parts: ReactNode[] = [];
  let last = 0;
  for (const match of html.matchAll(EM)) {
    if (match.index > last) parts.push(html.slice(last, match.index));
    parts.push(<mark key={match.index}>{match[1]}</mark>);
    last = match.index + match[0].length;
  }
  if (last < html.length) parts.push(html.slice(last));
  return <>{parts}</>;
}
