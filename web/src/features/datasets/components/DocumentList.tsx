import { useState } from "react";

import { Button } from "@/components/Button";
import { ErrorNotice, Loading } from "@/components/Card";
import { ConfirmDeletion } from "@/components/Dialog";
import { errorMessage } from "@/lib/api-client";

import type { DatasetDocument } from "../api/datasets";
import { formatBytes } from "../api/upload-check";
import { useDeleteDocument, useDocuments, useParse } from "../hooks/use-datasets";
import { ChunkBrowser } from "./ChunkBrowser";
import { DocumentStatus } from "./DocumentStatus";

const parseable = (document: DatasetDocument) => document.run !== "RUNNING";

/** The dataset's documents with their live parsing state; Parse, Chunks and Delete per document. */
export function DocumentList({ datasetId }: { datasetId: string }) {
  const documents = useDocuments(datasetId);
  const parse = useParse(datasetId);
  const remove = useDeleteDocument(datasetId);
  const [browsing, setBrowsing] = useState<DatasetDocument | null>(null);
  const [deleting, setDeleting] = useState<DatasetDocument | null>(null);
  const docs = documents.data?.docs ?? [];
  const unparsed = docs.filter((document) => document.run === "UNSTART" || document.run === "CANCEL");

  if (documents.isPending) return <Loading />;
  if (documents.isError) return <ErrorNotice>{errorMessage(documents.error)}</ErrorNotice>;
  return (
    <>
      {parse.isError ? <ErrorNotice>{errorMessage(parse.error)}</ErrorNotice> : null}
      {docs.length === 0 ? (
        <p>No documents yet.</p>
      ) : (
        <>
          <div className="row">
            <Button
              disabled={unparsed.length === 0}
              pending={parse.isPending}
              onClick={() => parse.mutate(unparsed.map((document) => document.id))}
            >
              Parse all new
            </Button>
          </div>
          <table>
            <caption className="visually-hidden">Documents of this dataset</caption>
            <thead>
              <tr>
                <th scope="col">Document</th>
                <th scope="col">Size</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {docs.map((document) => (
                <tr key={document.id}>
                  <th scope="row">{document.name}</th>
                  <td>{formatBytes(document.size)}</td>
                  <td aria-live="polite">
                    <DocumentStatus document={document} />
                  </td>
                  <td className="row">
                    <Button
                      aria-label={`Parse ${document.name}`}
                      disabled={!parseable(document)}
                      onClick={() => parse.mutate([document.id])}
                    >
                      {document.run === "DONE" || document.run === "FAIL" ? "Parse again" : "Parse"}
                    </Button>
                    <Button
                      aria-label={`Chunks of ${document.name}`}
                      disabled={document.run !== "DONE"}
                      onClick={() => setBrowsing(document)}
                    >
                      Chunks
                    </Button>
                    <Button variant="danger" aria-label={`Delete ${document.name}`} onClick={() => setDeleting(document)}>
                      Delete
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {browsing ? (
        <ChunkBrowser datasetId={datasetId} document={browsing} onClose={() => setBrowsing(null)} />
      ) : null}
      <ConfirmDeletion
        target={deleting}
        onClose={() => setDeleting(null)}
        mutation={remove}
        variables={(t) => t.id}
        title={`Delete ${deleting?.name ?? "document"}?`}
        description="Its chunks leave retrieval at once."
        confirmLabel="Delete document"
      />
    </>
  );
}
