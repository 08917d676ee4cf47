import { useState } from "react";

import { Button } from "@/components/Button";
import { Card, ErrorNotice, Loading } from "@/components/Card";
import { ConfirmDeletion } from "@/components/Dialog";
import { usePageTitle } from "@/components/usePageTitle";
import { errorMessage } from "@/lib/api-client";

import { DEFAULT_FIELDS, MODEL_TYPES, type ModelType, type MyModels } from "../api/models";
import { useDeleteModel, useMyModels, useSetDefaults, useTenantDefaults } from "../hooks/use-models";
import { AddProviderForm } from "./AddProviderForm";

const TYPE_LABELS: Record<ModelType, string> = {
  chat: "Chat model",
  embedding: "Embedding model",
  rerank: "Rerank model",
  image2text: "Image-to-text model",
  speech2text: "Speech-to-text model",
};

function modelIds(models: MyModels | undefined, type: ModelType): string[] {
  if (!models) return [];
  return Object.entries(models).flatMap(([factory, entry]) =>
    entry.llm.filter((model) => model.type === type).map((model) => `${model.name}@${factory}`),
  );
}

function DefaultsForm({ canManage }: { canManage: boolean }) {
  const models = useMyModels();
  const defaults = useTenantDefaults();
  const save = useSetDefaults();
  if (defaults.isPending || models.isPending) return <Loading />;
  if (defaults.isError) return <ErrorNotice>{errorMessage(defaults.error)}</ErrorNotice>;
  return (
    <div className="grid-2">
      {MODEL_TYPES.map((type) => {
        const field = DEFAULT_FIELDS[type];
        const current = defaults.data?.[field] ?? "";
        const ids = modelIds(models.data, type);
        const options = current && !ids.includes(current) ? [current, ...ids] : ids;
        const id = `default-${type}`;
        return (
          <div className="field" key={type}>
            <label htmlFor={id}>{TYPE_LABELS[type]}</label>
            <select
              id={id}
              value={current}
              disabled={!canManage || save.isPending}
              onChange={(event) => save.mutate({ [field]: event.target.value })}
            >
              <option value="">None</option>
              {options.map((option) => (
                <option key={option} value={option}>
                  {option}
                </option>
              ))}
            </select>
          </div>
        );
      })}
      {save.isError ? <ErrorNotice>{errorMessage(save.error)}</ErrorNotice> : null}
      <p role="status" className="muted">
        {save.isSuccess ? "Defaults saved." : ""}
      </p>
    </div>
  );
}

export function ModelsPage({ canManage }: { canManage: boolean }) {
  usePageTitle("Models");
  const models = useMyModels();
  const remove = useDeleteModel();
  const [deleting, setDeleting] = useState<{ factory: string; name: string } | null>(null);
  return (
    <>
      <h1>Models</h1>
      <p className="lead">The models this team's assistants and datasets use.</p>
      {canManage ? (
        <Card title="Add an OpenAI-compatible provider">
          <AddProviderForm />
        </Card>
      ) : null}
      <Card title="Default models">
        <DefaultsForm canManage={canManage} />
      </Card>
      <Card title="This team's models">
        {models.isPending ? <Loading /> : null}
        {models.isError ? <ErrorNotice>{errorMessage(models.error)}</ErrorNotice> : null}
        {models.data ? (
          <table>
            <caption className="visually-hidden">Models by provider</caption>
            <thead>
              <tr>
                <th scope="col">Provider</th>
                <th scope="col">Model</th>
                <th scope="col">Type</th>
                <th scope="col">Price in / out (USD per 1M tokens)</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(models.data).flatMap(([factory, entry]) =>
                entry.llm.map((model) => (
                  <tr key={`${factory}/${model.type}/${model.name}`}>
                    <td>{factory}</td>
                    <td className="mono">{model.name}</td>
                    <td>{model.type}</td>
                    <td>
                      {model.input_price ?? "—"} / {model.output_price ?? "—"}
                    </td>
                    <td>
                      {canManage && factory !== "Builtin" ? (
                        <Button
                          variant="danger"
                          aria-label={`Delete model ${model.name}`}
                          onClick={() => setDeleting({ factory, name: model.name })}
                        >
                          Delete
                        </Button>
                      ) : null}
                    </td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        ) : null}
      </Card>
      <ConfirmDeletion
        target={deleting}
        onClose={() => setDeleting(null)}
        mutation={remove}
        variables={(t) => t}
        title="Delete this model?"
        description={`${deleting?.name ?? "The model"} is removed from this team.`}
        confirmLabel="Delete"
      />
    </>
  );
}

export default ModelsPage;
