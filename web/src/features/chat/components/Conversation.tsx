import { useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type FormEvent } from "react";

import { Button } from "@/components/Button";
import { ErrorNotice } from "@/components/Card";
import { Dialog } from "@/components/Dialog";
import { errorMessage } from "@/lib/api-client";

import { chatKeys, startCompletion, type ChatMessage, type ChatSession } from "../api/chat";
import { emptyAnswer, readAnswerStream, type ReferenceChunk, type StreamedAnswer } from "../api/stream";
import { useSendFeedback } from "../hooks/use-chat";
import { AnswerMarkdown } from "./AnswerMarkdown";
import { InspectorDrawer } from "./InspectorDrawer";

function chunksOf(message: ChatMessage): ReferenceChunk[] {
  const reference = message.reference;
  if (!reference) return [];
  return Array.isArray(reference) ? reference : reference.chunks;
}

function AnswerActions({ chatId, sessionId, message }: { chatId: string; sessionId: string; message: ChatMessage }) {
  const feedback = useSendFeedback(chatId, sessionId);
  const [inspecting, setInspecting] = useState(false);
  const [commenting, setCommenting] = useState(false);
  const [comment, setComment] = useState("");
  const messageId = message.id;
  if (!messageId) return null;
  const send = (thumbup: boolean, text: string) => feedback.mutate({ messageId, thumbup, feedback: text });
  return (
    <div className="answer-actions">
      {message.trace_url ? (
        <a href={message.trace_url} target="_blank" rel="noopener noreferrer">
          View trace
        </a>
      ) : null}
      <Button aria-pressed={message.thumbup === true} onClick={() => send(true, "")}>
        Good answer
      </Button>
      <Button aria-pressed={message.thumbup === false} onClick={() => setCommenting(true)}>
        Bad answer
      </Button>
      <Button onClick={() => setInspecting(true)}>Inspect</Button>
      {feedback.isError ? <ErrorNotice>{errorMessage(feedback.error)}</ErrorNotice> : null}
      <Dialog open={commenting} onOpenChange={setCommenting} title="What was wrong?">
        <form
          onSubmit={(event) => {
            event.preventDefault();
            send(false, comment);
            setCommenting(false);
          }}
        >
          <label htmlFor={`comment-${messageId}`}>Comment (optional)</label>
          <textarea id={`comment-${messageId}`} rows={3} value={comment} onChange={(e) => setComment(e.target.value)} />
          <div className="dialog-actions">
            <Button onClick={() => setCommenting(false)}>Cancel</Button>
            <Button type="submit" variant="primary">
              Send
            </Button>
          </div>
        </form>
      </Dialog>
      <InspectorDrawer
        open={inspecting}
        onOpenChange={setInspecting}
        chatId={chatId}
        sessionId={sessionId}
        messageId={messageId}
      />
    </div>
  );
}

function Answer({ text, chunks }: { text: string; chunks: ReferenceChunk[] }) {
  const [cited, setCited] = useState<ReferenceChunk | null>(null);
  return (
    <>
      <AnswerMarkdown
        text={text}
        onCite={(index) => setCited(chunks[index] ?? null)}
        describeCitation={(index) => chunks[index]?.document_name}
      />
      <Dialog open={cited !== null} onOpenChange={(open) => !open && setCited(null)} title="Cited chunk">
        {cited ? (
          <>
            <p>Document: {cited.document_name ?? cited.document_id}</p>
            <AnswerMarkdown text={cited.content ?? ""} />
          </>
        ) : null}
      </Dialog>
    </>
  );
}

/** One session's messages, the question box, and the answer streaming in. */
export function Conversation({ chatId, session }: { chatId: string; session: ChatSession }) {
  const queryClient = useQueryClient();
  const [question, setQuestion] = useState("");
  const [pending, setPending] = useState<{ question: string; answer: StreamedAnswer } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const controller = useRef<AbortController | null>(null);

  const ask = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const text = question.trim();
    if (!text || controller.current) return;
    setQuestion("");
    setError(null);
    const abort = new AbortController();
    controller.current = abort;
    setPending({ question: text, answer: emptyAnswer });
    try {
      const body = await startCompletion(chatId, session.id, text, abort.signal);
      const answer = await readAnswerStream(body, (next) => setPending({ question: text, answer: next }));
      if (answer.error) setError(answer.error);
    } catch (cause) {
      if (!(cause instanceof DOMException && cause.name === "AbortError")) setError(errorMessage(cause));
    } finally {
      controller.current = null;
      // The server stores the answer however the stream ended: show the stored one.
      await queryClient.invalidateQueries({ queryKey: chatKeys.sessions(chatId) });
      setPending(null);
    }
  };

  return (
    <section className="conversation" aria-label="Conversation">
      <ol className="messages">
        {session.messages.map((message, index) => (
          <li key={message.id ?? index} className={`message message-${message.role}`}>
            {message.role === "assistant" ? (
              <>
                <Answer text={message.content} chunks={chunksOf(message)} />
                {message.status ? <p className="hint">Answer {message.status}.</p> : null}
                {index > 0 ? <AnswerActions chatId={chatId} sessionId={session.id} message={message} /> : null}
              </>
            ) : (
              <p>{message.content}</p>
            )}
          </li>
        ))}
        {pending ? (
          <>
            <li className="message message-user">
              <p>{pending.question}</p>
            </li>
            <li className="message message-assistant" aria-live="polite" aria-busy={!pending.answer.done}>
              <Answer text={pending.answer.text} chunks={pending.answer.reference?.chunks ?? []} />
            </li>
          </>
        ) : null}
      </ol>
      {error ? <ErrorNotice>{error}</ErrorNotice> : null}
      <form className="ask" onSubmit={ask}>
        <label htmlFor="question" className="visually-hidden">
          Question
        </label>
        <textarea
          id="question"
          rows={2}
          value={question}
          placeholder="Ask a question"
          onChange={(e) => setQuestion(e.target.value)}
        />
        {pending ? (
          <Button variant="danger" onClick={() => controller.current?.abort()}>
            Stop
          </Button>
        ) : (
          <Button type="submit" variant="primary" disabled={!question.trim()}>
            Send
          </Button>
        )}
      </form>
    </section>
  );
}
