import * as AlertDialog from "@radix-ui/react-alert-dialog";
import * as RadixDialog from "@radix-ui/react-dialog";
import type { ReactNode, RefObject } from "react";

import { errorMessage } from "@/lib/api-client";

import { Button } from "./Button";

interface DialogProps {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  description?: ReactNode;
  children: ReactNode;
  /** Where the focus goes on close (default: the element focused before opening). */
  returnFocusTo?: RefObject<HTMLElement | null>;
  /** Shown as a panel along the right edge (for long content). */
  drawer?: boolean;
}

/** A modal dialog (Radix: focus trapped, Escape closes, focus returns to the opener). */
export function Dialog({ open, onOpenChange, title, description, children, returnFocusTo, drawer }: DialogProps) {
  return (
    <RadixDialog.Root open={open} onOpenChange={onOpenChange}>
      <RadixDialog.Portal>
        <RadixDialog.Overlay className="overlay" />
        <RadixDialog.Content
          className={drawer ? "dialog drawer" : "dialog"}
          onCloseAutoFocus={(event) => {
            const target = returnFocusTo?.current;
            if (target) {
              event.preventDefault();
              target.focus();
            }
          }}
        >
          {drawer ? (
            <RadixDialog.Close asChild>
              <Button className="drawer-close">Close</Button>
            </RadixDialog.Close>
          ) : null}
          <RadixDialog.Title className="dialog-title">{title}</RadixDialog.Title>
          {description ? (
            <RadixDialog.Description className="dialog-description">{description}</RadixDialog.Description>
          ) : (
            <RadixDialog.Description className="visually-hidden">{title}</RadixDialog.Description>
          )}
          {children}
        </RadixDialog.Content>
      </RadixDialog.Portal>
    </RadixDialog.Root>
  );
}

interface ConfirmDialogProps {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  description: ReactNode;
  confirmLabel: string;
  pending?: boolean;
  error?: string;
  onConfirm: () => void;
  returnFocusTo?: RefObject<HTMLElement | null>;
}

/** "Are you sure?" for destructive actions; Cancel has the focus first. */
export function ConfirmDialog({
  open,
  onOpenChange,
  title,
  description,
  confirmLabel,
  pending,
  error,
  onConfirm,
  returnFocusTo,
}: ConfirmDialogProps) {
  return (
    <AlertDialog.Root open={open} onOpenChange={onOpenChange}>
      <AlertDialog.Portal>
        <AlertDialog.Overlay className="overlay" />
        <AlertDialog.Content
          className="dialog"
          onCloseAutoFocus={(event) => {
            const target = returnFocusTo?.current;
            if (target) {
              event.preventDefault();
              target.focus();
            }
          }}
        >
          <AlertDialog.Title className="dialog-title">{title}</AlertDialog.Title>
          <AlertDialog.Description className="dialog-description">{description}</AlertDialog.Description>
          {error ? (
            <p className="field-error" role="alert">
              {error}
            </p>
          ) : null}
          <div className="dialog-actions">
            <AlertDialog.Cancel asChild>
              <Button>Cancel</Button>
            </AlertDialog.Cancel>
            <Button
              variant="danger"
              pending={pending}
              onClick={(event) => {
                event.preventDefault();
                if (!pending) onConfirm();
              }}
            >
              {confirmLabel}
            </Button>
          </div>
        </AlertDialog.Content>
      </AlertDialog.Portal>
    </AlertDialog.Root>
  );
}

/** What ConfirmDeletion needs of a delete mutation (TanStack Query's `useMutation` result). */
interface DeleteMutation<V> {
  mutate: (variables: V, options: { onSuccess: () => void }) => void;
  reset: () => void;
  isPending: boolean;
  isError: boolean;
  error: unknown;
}

interface ConfirmDeletionProps<T, V> {
  /** What is to be deleted: the dialog is open while it is set. */
  target: T | null;
  /** Clears `target` (after Cancel, Escape or a successful delete). */
  onClose: () => void;
  mutation: DeleteMutation<V>;
  /** The mutation's variables for `target`. */
  variables: (target: T) => V;
  title: string;
  description: ReactNode;
  confirmLabel: string;
  returnFocusTo?: RefObject<HTMLElement | null>;
}

/** A ConfirmDialog wired to a delete mutation: open while `target` is set, its error shown
 * in the dialog (and forgotten on close), closed once the delete succeeds. */
export function ConfirmDeletion<T, V>({ target, onClose, mutation, variables, ...text }: ConfirmDeletionProps<T, V>) {
  return (
    <ConfirmDialog
      open={target !== null}
      onOpenChange={(open) => {
        if (!open) {
          onClose();
          mutation.reset();
        }
      }}
      pending={mutation.isPending}
      error={mutation.isError ? errorMessage(mutation.error) : undefined}
      onConfirm={() => {
        if (target !== null) mutation.mutate(variables(target), { onSuccess: onClose });
      }}
      {...text}
    />
  );
}
