import { useRef, useState } from "react";

import { Card, ErrorNotice, Loading } from "@/components/Card";
import { ConfirmDeletion, Dialog } from "@/components/Dialog";
import { EntityNav } from "@/components/EntityNav";
import { usePageTitle } from "@/components/usePageTitle";
import { errorMessage } from "@/lib/api-client";

import type { Dataset } from "../api/datasets";
import { useDatasets, useDeleteDataset, useUploadLimits } from "../hooks/use-datasets";
import { DatasetForm } from "./DatasetForm";
import { DocumentList } from "./DocumentList";
import { RetrievalPanel } from "./RetrievalPanel";
import { UploadArea } from "./UploadArea";

function DatasetDetail({ dataset }: { dataset: Dataset }) {
  const limits = useUploadLimits();
  const config = dataset.parser_config;
  return (
    <div className="dataset-detail">
      <Card title={dataset.name}>
        <dl className="settings-list">
          <dt>Embedding model</dt>
          <dd>{dataset.embedding_model}</dd>
          <dt>Chunk method</dt>
          <dd>{dataset.chunk_method}</dd>
          <dt>Chunk size</dt>
          <dd>{config.chunk_token_num ?? 512} tokens</dd>
          <dt>Overlap</dt>
          <dd>{config.overlapped_percent ?? 0}%</dd>
          <dt>Documents</dt>
          <dd>{dataset.document_count}</dd>
        </dl>
      </Card>
      <Card title="Documents">
        {limits.isPending ? <Loading /> : null}
        {limits.isError ? <ErrorNotice>{errorMessage(limits.error)}</ErrorNotice> : null}
        {limits.data ? <UploadArea datasetId={dataset.id} limits={limits.data} /> : null}
        <DocumentList datasetId={dataset.id} />
      </Card>
      <RetrievalPanel dataset={dataset} />
    </div>
  );
}

/** Datasets: list, create, edit, delete; per dataset its documents, their chunks and a retrieval test. */
export default function DatasetsPage() {
  usePageTitle("Datasets");
  const datasets = useDatasets();
  const remove = useDeleteDataset();
  const [selected, setSelected] = useState<string | null>(null);
  const [editing, setEditing] = useState<Dataset | "new" | null>(null);
  const [deleting, setDeleting] = useState<Dataset | null>(null);
  const newButton = useRef<HTMLButtonElement>(null);
  const list = datasets.data ?? [];
  const current = list.find((dataset) => dataset.id === selected) ?? list[0] ?? null;
  return (
    <main id="main" className="datasets-page">
      <h1>Datasets</h1>
      <div className="datasets-layout">
        <EntityNav
          label="Datasets"
          className="dataset-list"
          newLabel="New dataset"
          newButtonRef={newButton}
          query={datasets}
          items={list}
          currentId={current?.id}
          onNew={() => setEditing("new")}
          onSelect={(dataset) => setSelected(dataset.id)}
          onEdit={setEditing}
          onDelete={setDeleting}
        />
        {current ? (
          <DatasetDetail key={current.id} dataset={current} />
        ) : datasets.isSuccess ? (
          <p>Create a dataset to upload documents.</p>
        ) : null}
      </div>
      <Dialog
        open={editing !== null}
        onOpenChange={(open) => !open && setEditing(null)}
        title={editing === "new" ? "New dataset" : `Edit ${editing?.name ?? "dataset"}`}
      >
        {editing !== null ? (
          <DatasetForm
            existing={editing === "new" ? null : editing}
            onSaved={(dataset) => {
              setEditing(null);
              setSelected(dataset.id);
            }}
            onCancel={() => setEditing(null)}
          />
        ) : null}
      </Dialog>
      <ConfirmDeletion
        target={deleting}
        onClose={() => setDeleting(null)}
        mutation={remove}
        variables={(t) => t.id}
        title={`Delete ${deleting?.name ?? "dataset"}?`}
        description="Its documents and chunks are deleted too."
        confirmLabel="Delete dataset"
        returnFocusTo={newButton}
      />
    </main>
  );
}
