import { useState } from "react";

import { Button } from "@/components/Button";
import { ErrorNotice, Loading } from "@/components/Card";
import { ConfirmDeletion, Dialog } from "@/components/Dialog";
import { EntityNav } from "@/components/EntityNav";
import { usePageTitle } from "@/components/usePageTitle";
import { errorMessage } from "@/lib/api-client";

import type { Assistant } from "../api/chat";
import {
  useAssistants,
  useCreateSession,
  useDeleteAssistant,
  useDeleteSession,
  useRenameSession,
  useSessions,
} from "../hooks/use-chat";
import { AssistantForm } from "./AssistantForm";
import { Conversation } from "./Conversation";

function Sessions({ assistant }: { assistant: Assistant }) {
  const sessions = useSessions(assistant.id);
  const create = useCreateSession(assistant.id);
  const rename = useRenameSession(assistant.id);
  const remove = useDeleteSession(assistant.id);
  const [selected, setSelected] = useState<string | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [newName, setNewName] = useState("");
  const [deleting, setDeleting] = useState<string | null>(null);
  const list = sessions.data ?? [];
  const current = list.find((session) => session.id === selected) ?? list[0] ?? null;
  return (
    <div className="chat-body">
      <nav className="sessions" aria-label="Sessions">
        <Button
          variant="primary"
          pending={create.isPending}
          onClick={() => create.mutate("New session", { onSuccess: (session) => setSelected(session.id) })}
        >
          New session
        </Button>
        {sessions.isPending ? <Loading /> : null}
        {sessions.isError ? <ErrorNotice>{errorMessage(sessions.error)}</ErrorNotice> : null}
        <ul>
          {list.map((session) => (
            <li key={session.id}>
              <Button
                variant="link"
                aria-current={session.id === current?.id ? "true" : undefined}
                onClick={() => setSelected(session.id)}
              >
                {session.name}
              </Button>
              <Button
                aria-label={`Rename ${session.name}`}
                onClick={() => {
                  setRenaming(session.id);
                  setNewName(session.name);
                }}
              >
                Rename
              </Button>
              <Button aria-label={`Delete ${session.name}`} onClick={() => setDeleting(session.id)}>
                Delete
              </Button>
            </li>
          ))}
        </ul>
      </nav>
      {current ? <Conversation chatId={assistant.id} session={current} /> : <p>Start a new session to ask.</p>}
      <Dialog open={renaming !== null} onOpenChange={(open) => !open && setRenaming(null)} title="Rename session">
        <form
          onSubmit={(event) => {
            event.preventDefault();
            if (renaming && newName.trim())
              rename.mutate({ sessionId: renaming, name: newName.trim() }, { onSuccess: () => setRenaming(null) });
          }}
        >
          <label htmlFor="session-name">Name</label>
          <input id="session-name" value={newName} onChange={(e) => setNewName(e.target.value)} />
          {rename.isError ? <ErrorNotice>{errorMessage(rename.error)}</ErrorNotice> : null}
          <div className="dialog-actions">
            <Button onClick={() => setRenaming(null)}>Cancel</Button>
            <Button type="submit" variant="primary" pending={rename.isPending}>
              Save
            </Button>
          </div>
        </form>
      </Dialog>
      <ConfirmDeletion
        target={deleting}
        onClose={() => setDeleting(null)}
        mutation={remove}
        variables={(t) => t}
        title="Delete session?"
        description="Its messages are deleted too."
        confirmLabel="Delete session"
      />
    </div>
  );
}

/** Chat: the team's assistants, each with its sessions and the conversation. */
export default function ChatPage() {
  usePageTitle("Chat");
  const assistants = useAssistants();
  const remove = useDeleteAssistant();
  const [selected, setSelected] = useState<string | null>(null);
  const [editing, setEditing] = useState<Assistant | "new" | null>(null);
  const [deleting, setDeleting] = useState<Assistant | null>(null);
  const list = assistants.data ?? [];
  const current = list.find((assistant) => assistant.id === selected) ?? list[0] ?? null;
  return (
    <main id="main" className="chat-page">
      <h1>Chat</h1>
      <div className="chat-layout">
        <EntityNav
          label="Assistants"
          className="assistants"
          newLabel="New assistant"
          query={assistants}
          items={list}
          currentId={current?.id}
          onNew={() => setEditing("new")}
          onSelect={(assistant) => setSelected(assistant.id)}
          onEdit={setEditing}
          onDelete={setDeleting}
        />
        {current ? <Sessions key={current.id} assistant={current} /> : <p>Create an assistant to start chatting.</p>}
      </div>
      <Dialog
        open={editing !== null}
        onOpenChange={(open) => !open && setEditing(null)}
        title={editing === "new" ? "New assistant" : "Edit assistant"}
      >
        {editing !== null ? (
          <AssistantForm
            existing={editing === "new" ? null : editing}
            onSaved={() => setEditing(null)}
            onCancel={() => setEditing(null)}
          />
        ) : null}
      </Dialog>
      <ConfirmDeletion
        target={deleting}
        onClose={() => setDeleting(null)}
        mutation={remove}
        variables={(t) => t.id}
        title={`Delete ${deleting?.name ?? "assistant"}?`}
        description="Its sessions and messages are deleted too."
        confirmLabel="Delete assistant"
      />
    </main>
  );
}
