import { QueryClientProvider } from "@tanstack/react-query";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import { createQueryClient } from "@/lib/query-client";

import type { DatasetDocument, UploadLimits } from "../api/datasets";
import { DocumentStatus } from "./DocumentStatus";
import { HighlightedText } from "./HighlightedText";
import { UploadArea } from "./UploadArea";

const LIMITS: UploadLimits = { extensions: [".docx", ".pdf", ".txt"], max_file_bytes: 1000 };

function renderUpload() {
  render(
    <QueryClientProvider client={createQueryClient()}>
      <UploadArea datasetId="d1" limits={LIMITS} />
    </QueryClientProvider>,
  );
}

/** Stops XMLHttpRequest at `send` and records what would have been uploaded. */
function recordUploads() {
  const sent: string[] = [];
  vi.spyOn(XMLHttpRequest.prototype, "send").mockImplementation(function (this: XMLHttpRequest, body) {
    sent.push(((body as FormData).get("file") as File).name);
  });
  return sent;
}

const file = (name: string, size: number) => new File(["x".repeat(size)], name);

describe("UploadArea", () => {
  it("refuses unsupported types and files over the limit before uploading, with the reason", async () => {
    const sent = recordUploads();
    renderUpload();
    // The picker's `accept` only suggests the types (a user can choose "All files").
    const user = userEvent.setup({ applyAccept: false });
    await user.upload(screen.getByLabelText("Files to upload"), [
      file("notes.txt", 10),
      file("old.doc", 10),
      file("huge.pdf", 1001),
      file("README", 10),
    ]);
    const uploads = within(screen.getByRole("list", { name: "Uploads" }));
    const row = (name: string) => uploads.getByText(name).closest("li") as HTMLElement;
    expect(row("old.doc")).toHaveTextContent("Refused: .doc files are not supported. Supported: .docx, .pdf, .txt.");
    expect(row("huge.pdf")).toHaveTextContent("Refused: 1001 bytes is over the limit of 1000 bytes per file.");
    expect(row("README")).toHaveTextContent("Refused: Files without an extension are not supported.");
    expect(within(row("old.doc")).queryByRole("progressbar")).toBeNull();
    // Only the acceptable file is sent, on its own request with its own progress bar.
    expect(sent).toEqual(["notes.txt"]);
    expect(within(row("notes.txt")).getByRole("progressbar", { name: "Uploading notes.txt" })).toBeInTheDocument();
    expect(uploads.getAllByRole("alert")).toHaveLength(3);
  });

  it("takes dropped files through the same checks", () => {
    const sent = recordUploads();
    renderUpload();
    const dropzone = screen.getByTestId("dropzone");
    const dataTransfer = { files: [file("slides.key", 5), file("a.txt", 5), file("b.pdf", 5)] };
    dropzone.dispatchEvent(Object.assign(new Event("drop", { bubbles: true }), { dataTransfer }));
    return vi.waitFor(() => {
      expect(screen.getByText("slides.key").closest("li")).toHaveTextContent("Refused: .key files are not supported.");
      expect(sent).toEqual(["a.txt", "b.pdf"]);
    });
  });
});

describe("Parse on upload", () => {
  it("queues each uploaded file for parsing when ticked, and remembers the choice", async () => {
    vi.spyOn(XMLHttpRequest.prototype, "send").mockImplementation(function (this: XMLHttpRequest) {
      const reply = JSON.stringify({ code: 0, data: [{ id: "doc9", name: "notes.txt", run: "UNSTART" }] });
      Object.defineProperty(this, "status", { value: 200 });
      Object.defineProperty(this, "responseText", { value: reply });
      queueMicrotask(() => this.onload?.(new ProgressEvent("load")));
    });
    const parsed: unknown[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init: RequestInit) => {
        if (init.method === "POST") parsed.push({ url, body: JSON.parse(String(init.body)) });
        return new Response(JSON.stringify({ code: 0, data: { docs: [], total: 0 } }));
      }),
    );
    renderUpload();
    await userEvent.click(screen.getByRole("checkbox", { name: "Parse on upload" }));
    await userEvent.upload(screen.getByLabelText("Files to upload"), file("notes.txt", 10));
    await vi.waitFor(() => expect(parsed).toEqual([{ url: "/api/v1/datasets/d1/chunks", body: { document_ids: ["doc9"] } }]));
    expect(screen.getByText("notes.txt").closest("li")).toHaveTextContent("Uploaded");
    expect(localStorage.getItem("ragprism.parseOnUpload")).toBe("1");
  });
});

const doc = (change: Partial<DatasetDocument>): DatasetDocument => ({
  id: "doc1",
  name: "handbook.pdf",
  size: 100,
  run: "UNSTART",
  progress: 0,
  progress_msg: "",
  chunk_count: 0,
  token_count: 0,
  ...change,
});

describe("DocumentStatus", () => {
  it.each([
    [doc({ run: "UNSTART" }), "Not parsed"],
    [doc({ run: "RUNNING", progress: 0 }), "Queued"],
    [doc({ run: "RUNNING", progress: 0.456 }), "Parsing 46%"],
    [doc({ run: "DONE", progress: 1, chunk_count: 7 }), "Done · 7 chunks"],
    [doc({ run: "DONE", progress: 1, chunk_count: 1 }), "Done · 1 chunk"],
    [
      doc({
        run: "FAIL",
        progress: -1,
        progress_msg: "14:02:01 Task has been received.\n14:02:02 could not read handbook.pdf as PDF",
      }),
      "Failed: could not read handbook.pdf as PDF",
    ],
    [doc({ run: "CANCEL" }), "Cancelled"],
  ])("shows %o as %s", (document, text) => {
    const { container } = render(<DocumentStatus document={document} />);
    expect(container).toHaveTextContent(text);
  });

  it("draws a progress bar while parsing", () => {
    render(<DocumentStatus document={doc({ run: "RUNNING", progress: 0.5 })} />);
    expect(screen.getByRole("progressbar", { name: "Parsing handbook.pdf" })).toHaveAttribute("value", "50");
  });
});

describe("HighlightedText", () => {
  it("marks the highlighted words and shows any other markup as text", () => {
    const { container } = render(
      <HighlightedText html={'<img src=x onerror="alert(1)"> the <em>aardvark</em> <script>alert(2)</script><em>digs</em>'} />,
    );
    expect(Array.from(container.querySelectorAll("mark")).map((mark) => mark.textContent)).toEqual(["aardvark", "digs"]);
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("script")).toBeNull();
    expect(container).toHaveTextContent('<img src=x onerror="alert(1)"> the aardvark <script>alert(2)</script>digs');
  });
});
