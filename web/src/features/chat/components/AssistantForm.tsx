import { zodResolver } from "@hookform/resolvers/zod";
import { useId } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod";

import { Button } from "@/components/Button";
import { ErrorNotice } from "@/components/Card";
import { TextField } from "@/components/Field";
import { mapArgumentError } from "@/lib/field-errors";

import type { Assistant, AssistantInput } from "../api/chat";
import { useDatasetChoices, useSaveAssistant } from "../hooks/use-chat";

const number = (min: number, max: number) => z.coerce.number<string>().min(min).max(max);

const schema = z.object({
  name: z.string().trim().min(1, "Give the assistant a name."),
  datasetIds: z.array(z.string()),
  model: z.string().trim(),
  temperature: number(0, 2),
  topP: number(0, 1),
  prompt: z.string(),
  opener: z.string(),
  emptyResponse: z.string(),
  topN: z.coerce.number<string>().int().min(1).max(100),
  threshold: number(0, 1),
  vectorWeight: number(0, 1),
  rerank: z.string().trim(),
});

type FormValues = z.input<typeof schema>;
type Parsed = z.output<typeof schema>;

// The server's field names (101 messages name them) → the form's.
const WIRE_FIELDS = {
  name: "name",
  dataset_ids: "datasetIds",
  model_name: "model",
  temperature: "temperature",
  top_p: "topP",
  prompt: "prompt",
  opener: "opener",
  empty_response: "emptyResponse",
  top_n: "topN",
  similarity_threshold: "threshold",
  keywords_similarity_weight: "vectorWeight",
  rerank_model: "rerank",
} as const satisfies Record<string, keyof FormValues>;

function initialValues(existing: Assistant | null): FormValues {
  const llm = existing?.llm ?? {};
  const prompt = existing?.prompt ?? {};
  return {
    name: existing?.name ?? "",
    datasetIds: existing?.dataset_ids ?? [],
    model: llm.model_name ?? "",
    temperature: String(llm.temperature ?? 0.1),
    topP: String(llm.top_p ?? 0.3),
    prompt: prompt.prompt ?? "",
    opener: prompt.opener ?? "Hi! I'm your assistant. What can I do for you?",
    emptyResponse: prompt.empty_response ?? "",
    topN: String(prompt.top_n ?? 6),
    threshold: String(prompt.similarity_threshold ?? 0.2),
    vectorWeight: String(1 - (prompt.keywords_similarity_weight ?? 0.7)),
    rerank: prompt.rerank_model ?? "",
  };
}

function toInput(values: Parsed): AssistantInput {
  const prompt: AssistantInput["prompt"] = {
    opener: values.opener,
    empty_response: values.emptyResponse,
    top_n: values.topN,
    similarity_threshold: values.threshold,
    // RAGFlow stores the keyword weight; the form shows the vector weight (1 − it).
    keywords_similarity_weight: Math.round((1 - values.vectorWeight) * 1000) / 1000,
    rerank_model: values.rerank || null,
  };
  if (values.prompt.trim()) prompt.prompt = values.prompt;
  const llm: AssistantInput["llm"] = { temperature: values.temperature, top_p: values.topP };
  if (values.model) llm.model_name = values.model;
  return { name: values.name, dataset_ids: values.datasetIds, llm, prompt };
}

interface AssistantFormProps {
  existing: Assistant | null;
  onSaved: () => void;
  onCancel: () => void;
}

/** Create or edit an assistant: datasets, model and parameters, prompt, retrieval settings. */
export function AssistantForm({ existing, onSaved, onCancel }: AssistantFormProps) {
  const datasets = useDatasetChoices();
  const save = useSaveAssistant();
  const form = useForm<FormValues, unknown, Parsed>({
    resolver: zodResolver(schema),
    defaultValues: initialValues(existing),
  });
  const { errors } = form.formState;
  const promptId = useId();
  const datasetsLabel = useId();

  const submit = async (values: Parsed) => {
    try {
      await save.mutateAsync({ chatId: existing?.id ?? null, input: toInput(values) });
      onSaved();
    } catch (error) {
      mapArgumentError(error, WIRE_FIELDS, (field, message) => form.setError(field, { message }));
    }
  };

  return (
    <form onSubmit={form.handleSubmit(submit)} noValidate aria-busy={save.isPending || undefined}>
      <TextField label="Name" error={errors.name?.message} {...form.register("name")} />
      <fieldset className="field" aria-describedby={errors.datasetIds ? `${datasetsLabel}-error` : undefined}>
        <legend id={datasetsLabel}>Datasets</legend>
        {datasets.data?.length === 0 ? <p className="hint">No dataset yet: the assistant answers without retrieval.</p> : null}
        {datasets.data?.map((dataset) => (
          <label key={dataset.id} className="checkbox">
            <input type="checkbox" value={dataset.id} {...form.register("datasetIds")} /> {dataset.name}
          </label>
        ))}
        {errors.datasetIds ? (
          <p className="field-error" id={`${datasetsLabel}-error`} role="alert">
            {errors.datasetIds.message}
          </p>
        ) : null}
      </fieldset>
      <TextField
        label="Chat model"
        placeholder="The team's default model"
        hint="As name@Factory, e.g. builtin-extractive@Builtin"
        error={errors.model?.message}
        {...form.register("model")}
      />
      <div className="field-row">
        <TextField label="Temperature" inputMode="decimal" error={errors.temperature?.message} {...form.register("temperature")} />
        <TextField label="Top P" inputMode="decimal" error={errors.topP?.message} {...form.register("topP")} />
      </div>
      <div className="field">
        <label htmlFor={promptId}>System prompt</label>
        <textarea id={promptId} rows={4} placeholder="RAGFlow's default prompt with {knowledge}" {...form.register("prompt")} />
        {errors.prompt ? (
          <p className="field-error" role="alert">
            {errors.prompt.message}
          </p>
        ) : null}
      </div>
      <TextField label="Opener" error={errors.opener?.message} {...form.register("opener")} />
      <TextField
        label="Empty answer text"
        hint="Answered without a model call when nothing is retrieved; leave blank to let the model answer."
        error={errors.emptyResponse?.message}
        {...form.register("emptyResponse")}
      />
      <div className="field-row">
        <TextField label="Top N" inputMode="numeric" error={errors.topN?.message} {...form.register("topN")} />
        <TextField label="Similarity threshold" inputMode="decimal" error={errors.threshold?.message} {...form.register("threshold")} />
        <TextField label="Vector weight" inputMode="decimal" error={errors.vectorWeight?.message} {...form.register("vectorWeight")} />
      </div>
      <TextField label="Rerank model" placeholder="None" error={errors.rerank?.message} {...form.register("rerank")} />
      {errors.root ? <ErrorNotice>{errors.root.message}</ErrorNotice> : null}
      <div className="dialog-actions">
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" pending={save.isPending} pendingLabel="Saving…">
          {existing ? "Save" : "Create"}
        </Button>
      </div>
    </form>
  );
}
