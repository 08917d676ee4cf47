import type { RefObject } from "react";

import { errorMessage } from "@/lib/api-client";

import { Button } from "./Button";
import { ErrorNotice, Loading } from "./Card";

interface Named {
  id: string;
  name: string;
}

interface EntityNavProps<T extends Named> {
  /** The navigation's accessible name ("Datasets", "Assistants"). */
  label: string;
  className: string;
  /** The label of the button that creates one ("New dataset"). */
  newLabel: string;
  newButtonRef?: RefObject<HTMLButtonElement | null>;
  query: { isPending: boolean; isError: boolean; error: unknown };
  items: T[];
  currentId: string | undefined;
  onNew: () => void;
  onSelect: (item: T) => void;
  onEdit: (item: T) => void;
  onDelete: (item: T) => void;
}

/** A side list of a page's items (datasets, assistants): a "New" button, then each item
 * as a link-styled button marked current, with its Edit and Delete buttons. */
export function EntityNav<T extends Named>({
  label,
  className,
  newLabel,
  newButtonRef,
  query,
  items,
  currentId,
  onNew,
  onSelect,
  onEdit,
  onDelete,
}: EntityNavProps<T>) {
  return (
    <nav className={className} aria-label={label}>
      <Button ref={newButtonRef} variant="primary" onClick={onNew}>
        {newLabel}
      </Button>
      {query.isPending ? <Loading /> : null}
      {query.isError ? <ErrorNotice>{errorMessage(query.error)}</ErrorNotice> : null}
      <ul>
        {items.map((item) => (
          <li key={item.id}>
            <Button
              variant="link"
              aria-current={item.id === currentId ? "true" : undefined}
              onClick={() => onSelect(item)}
            >
              {item.name}
            </Button>
            <Button aria-label={`Edit ${item.name}`} onClick={() => onEdit(item)}>
              Edit
            </Button>
            <Button aria-label={`Delete ${item.name}`} onClick={() => onDelete(item)}>
              Delete
            </Button>
          </li>
        ))}
      </ul>
    </nav>
  );
}
