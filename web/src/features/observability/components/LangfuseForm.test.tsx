import { QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { createQueryClient } from "@/lib/query-client";

import type { LangfuseConfig } from "../api/langfuse";
import { LangfuseForm } from "./LangfuseForm";

const STORED: LangfuseConfig = {
  tenant_id: "t".repeat(32),
  public_key: "pk-lf-stored",
  secret_key: "sk-lf-…a1b2",
  host: "http://127.0.0.1:3000",
  project_id: "proj-1",
  project_name: "Support bot",
  project_url: "http://127.0.0.1:3000/project/proj-1",
  enabled: true,
  sample_rate: 1,
  capture: "full",
  redact: [],
  environment: null,
};

type Reply = { code: number; message?: string; data?: unknown };

/** The server as `fetch` sees it: records each request, answers with `reply`. */
function serve(reply: Reply | (() => Promise<Reply>)) {
  const calls: Array<{ method: string; url: string; body: Record<string, unknown> }> = [];
  const fetchMock = vi.fn(async (url: string, init: RequestInit) => {
    calls.push({ method: String(init.method), url, body: JSON.parse(String(init.body ?? "{}")) });
    const answer = typeof reply === "function" ? await reply() : reply;
    return new Response(JSON.stringify(answer), { status: 200, headers: { "Content-Type": "application/json" } });
  });
  vi.stubGlobal("fetch", fetchMock);
  return calls;
}

function renderForm(existing: LangfuseConfig | null = null) {
  const onSaved = vi.fn();
  const onCancel = vi.fn();
  render(
    <QueryClientProvider client={createQueryClient()}>
      <LangfuseForm existing={existing} onSaved={onSaved} onCancel={onCancel} />
    </QueryClientProvider>,
  );
  return { onSaved, onCancel };
}

async function fillNew(user: ReturnType<typeof userEvent.setup>) {
  await user.type(screen.getByLabelText("Public key"), "pk-lf-new");
  await user.type(screen.getByLabelText("Secret key"), "sk-lf-typed-secret");
  await user.type(screen.getByLabelText("Host"), "http://127.0.0.1:3000");
}

/** The error texts that describe an input (aria-describedby), as a user of a screen reader hears them. */
function description(input: HTMLElement): string {
  return (input.getAttribute("aria-describedby") ?? "")
    .split(" ")
    .filter(Boolean)
    .map((id) => document.getElementById(id)?.textContent ?? "")
    .join(" ");
}

beforeEach(() => {
  vi.unstubAllGlobals();
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe("LangfuseForm", () => {
  it("labels the inputs as the contract says, keys as password inputs with a toggle", async () => {
    const user = userEvent.setup();
    renderForm();
    const publicKey = screen.getByLabelText("Public key");
    const secretKey = screen.getByLabelText("Secret key");
    expect(publicKey).toHaveAttribute("type", "password");
    expect(secretKey).toHaveAttribute("type", "password");
    expect(screen.getByLabelText("Host")).toHaveAttribute("placeholder", "https://cloud.langfuse.com");
    await user.click(screen.getByRole("button", { name: "Show secret key" }));
    expect(secretKey).toHaveAttribute("type", "text");
    await user.click(screen.getByRole("button", { name: "Hide secret key" }));
    expect(secretKey).toHaveAttribute("type", "password");
  });

  it("never pre-fills the secret when editing; shows the mask and keeps it when left blank", async () => {
    const user = userEvent.setup();
    const calls = serve({ code: 0, data: STORED });
    const { onSaved } = renderForm(STORED);
    const secret = screen.getByLabelText("Secret key");
    expect(secret).toHaveValue("");
    expect(screen.getByLabelText("Public key")).toHaveValue("pk-lf-stored");
    expect(screen.getByText(/leave blank to keep the current secret/)).toHaveTextContent("sk-lf-…a1b2");
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(onSaved).toHaveBeenCalled());
    expect(calls).toHaveLength(1);
    expect(calls[0]?.method).toBe("PUT");
    expect(calls[0]?.body.secret_key).toBe("sk-lf-…a1b2");
    expect(calls[0]?.body.public_key).toBe("pk-lf-stored");
  });

  it("sends a newly typed secret instead of the mask", async () => {
    const user = userEvent.setup();
    const calls = serve({ code: 0, data: STORED });
    renderForm(STORED);
    await user.type(screen.getByLabelText("Secret key"), "sk-lf-rotated");
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]?.body.secret_key).toBe("sk-lf-rotated");
  });

  it("shows 102 (wrong keys) under the keys and keeps what was typed", async () => {
    const user = userEvent.setup();
    serve({ code: 102, message: "Invalid Langfuse keys" });
    const { onSaved } = renderForm();
    await fillNew(user);
    await user.click(screen.getByRole("button", { name: "Save" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Invalid Langfuse keys");
    for (const label of ["Public key", "Secret key"]) {
      const input = screen.getByLabelText(label);
      expect(input).toHaveAttribute("aria-invalid", "true");
      expect(description(input)).toContain("Invalid Langfuse keys");
    }
    expect(description(screen.getByLabelText("Host"))).not.toContain("Invalid Langfuse keys");
    expect(screen.getByLabelText("Secret key")).toHaveValue("sk-lf-typed-secret");
    expect(screen.getByLabelText("Public key")).toHaveValue("pk-lf-new");
    expect(onSaved).not.toHaveBeenCalled();
  });

  it("shows 105 (unreachable) under Host", async () => {
    const user = userEvent.setup();
    serve({ code: 105, message: "Langfuse at http://127.0.0.1:3000 is unreachable: connection refused" });
    renderForm();
    await fillNew(user);
    await user.click(screen.getByRole("button", { name: "Save" }));
    await screen.findByRole("alert");
    const host = screen.getByLabelText("Host");
    expect(host).toHaveAttribute("aria-invalid", "true");
    expect(description(host)).toContain("unreachable");
    expect(screen.getByLabelText("Secret key")).not.toHaveAttribute("aria-invalid");
    expect(screen.getByLabelText("Secret key")).toHaveValue("sk-lf-typed-secret");
  });

  it("shows 101 next to the field its message names", async () => {
    const user = userEvent.setup();
    serve({ code: 101, message: "host: link-local or cloud metadata address" });
    renderForm();
    await fillNew(user);
    await user.click(screen.getByRole("button", { name: "Save" }));
    await screen.findByRole("alert");
    expect(description(screen.getByLabelText("Host"))).toContain("link-local");
    expect(screen.getByLabelText("Public key")).not.toHaveAttribute("aria-invalid");
  });

  it("opens Advanced for a 101 naming an advanced option", async () => {
    const user = userEvent.setup();
    serve({ code: 101, message: "sample_rate: Input should be less than or equal to 1" });
    renderForm();
    await fillNew(user);
    await user.click(screen.getByRole("button", { name: "Save" }));
    await screen.findByRole("alert");
    const rate = screen.getByLabelText("Sample rate");
    expect(rate).toBeVisible();
    expect(description(rate)).toContain("less than or equal to 1");
  });

  it("shows other codes for the whole form", async () => {
    const user = userEvent.setup();
    serve({ code: 108, message: "Only the tenant's owner or an admin may change this setting." });
    renderForm();
    await fillNew(user);
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("owner or an admin");
    for (const label of ["Public key", "Secret key", "Host"]) {
      expect(screen.getByLabelText(label)).not.toHaveAttribute("aria-invalid");
    }
  });

  it("sends once however often Save is pressed while the keys are checked", async () => {
    const user = userEvent.setup();
    let release: (reply: Reply) => void = () => undefined;
    const calls = serve(() => new Promise<Reply>((resolve) => (release = resolve)));
    const { onSaved } = renderForm();
    await fillNew(user);
    const save = screen.getByRole("button", { name: "Save" });
    await user.click(save);
    await screen.findByText("Checking the keys with Langfuse…");
    const busy = screen.getByRole("button", { name: /Saving/ });
    expect(busy).toBeDisabled();
    await user.click(busy);
    busy.closest("form")?.requestSubmit();
    await user.keyboard("{Enter}");
    expect(calls).toHaveLength(1);
    release({ code: 0, data: STORED });
    await waitFor(() => expect(onSaved).toHaveBeenCalledTimes(1));
    expect(calls).toHaveLength(1);
  });

  it("refuses an empty secret for a new configuration without asking the server", async () => {
    const user = userEvent.setup();
    const calls = serve({ code: 0, data: STORED });
    renderForm();
    await user.type(screen.getByLabelText("Public key"), "pk-lf-new");
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Enter the secret key");
    expect(calls).toHaveLength(0);
  });
});
