import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";
import { z } from "zod";

import { Button } from "@/components/Button";
import { ErrorNotice } from "@/components/Card";
import { SelectField, TextField } from "@/components/Field";
import { mapArgumentError } from "@/lib/field-errors";

import { CHUNK_METHODS, type ChunkMethod, type Dataset, type DatasetInput } from "../api/datasets";
import { useSaveDataset, useTeamModels } from "../hooks/use-datasets";

const schema = z.object({
  name: z.string().trim().min(1, "Give the dataset a name.").max(128),
  description: z.string(),
  embeddingModel: z.string().optional(),
  chunkMethod: z.enum(CHUNK_METHODS),
  chunkTokens: z.coerce.number<string>().int().min(1).max(8192),
  delimiter: z.string(),
  overlap: z.coerce.number<string>().min(0).max(90),
});

type FormValues = z.input<typeof schema>;
type Parsed = z.output<typeof schema>;

// The server's field names (101 messages name them) → the form's.
const WIRE_FIELDS = {
  name: "name",
  description: "description",
  embedding_model: "embeddingModel",
  chunk_method: "chunkMethod",
  chunk_token_num: "chunkTokens",
  delimiter: "delimiter",
  overlapped_percent: "overlap",
} as const satisfies Record<string, keyof FormValues>;

function initialValues(existing: Dataset | null): FormValues {
  const config = existing?.parser_config ?? {};
  return {
    name: existing?.name ?? "",
    description: existing?.description ?? "",
    embeddingModel: existing?.embedding_model ?? "",
    chunkMethod: (existing?.chunk_method ?? "naive") as ChunkMethod,
    chunkTokens: String(config.chunk_token_num ?? 512),
    // Shown escaped (a newline as \n), as RAGFlow's form does.
    delimiter: JSON.stringify(config.delimiter ?? "\n").slice(1, -1),
    overlap: String(config.overlapped_percent ?? 0),
  };
}

function unescapeDelimiter(shown: string): string {
  try {
    return JSON.parse(`"${shown.replace(/"/g, '\\"')}"`) as string;
  } catch {
    return shown;
  }
}

interface DatasetFormProps {
  existing: Dataset | null;
  onSaved: (dataset: Dataset) => void;
  onCancel: () => void;
}

/** Create a dataset or change its name, embedding model and chunk settings. */
export function DatasetForm({ existing, onSaved, onCancel }: DatasetFormProps) {
  const save = useSaveDataset();
  const models = useTeamModels();
  const embeddingModels = Object.entries(models.data ?? {}).flatMap(([factory, { llm }]) =>
    llm.filter((model) => model.type === "embedding").map((model) => `${model.name}@${factory}`),
  );
  const current = existing?.embedding_model;
  if (current && !embeddingModels.includes(current)) embeddingModels.unshift(current);
  const form = useForm<FormValues, unknown, Parsed>({
    resolver: zodResolver(schema),
    defaultValues: initialValues(existing),
  });
  const { errors } = form.formState;

  const submit = async (values: Parsed) => {
    const input: DatasetInput = {
      name: values.name,
      description: values.description,
      chunk_method: values.chunkMethod,
      parser_config: {
        chunk_token_num: values.chunkTokens,
        delimiter: unescapeDelimiter(values.delimiter),
        overlapped_percent: values.overlap,
      },
    };
    if (values.embeddingModel && values.embeddingModel !== existing?.embedding_model)
      input.embedding_model = values.embeddingModel;
    try {
      onSaved(await save.mutateAsync({ datasetId: existing?.id ?? null, input }));
    } catch (error) {
      mapArgumentError(error, WIRE_FIELDS, (field, message) => form.setError(field, { message }));
    }
  };

  return (
    <form onSubmit={form.handleSubmit(submit)} noValidate aria-busy={save.isPending || undefined}>
      <TextField label="Name" error={errors.name?.message} {...form.register("name")} />
      <TextField label="Description" error={errors.description?.message} {...form.register("description")} />
      <SelectField
        label="Embedding model"
        error={errors.embeddingModel?.message}
        options={[
          ...(existing ? [] : [{ value: "", label: "The team's default" }]),
          ...embeddingModels.map((name) => ({ value: name, label: name })),
        ]}
        disabled={existing !== null && existing.chunk_count > 0}
        {...form.register("embeddingModel")}
      />
      {existing !== null && existing.chunk_count > 0 ? (
        <p className="hint">The embedding model cannot change once the dataset has chunks.</p>
      ) : null}
      <SelectField
        label="Chunk method"
        error={errors.chunkMethod?.message}
        options={CHUNK_METHODS.map((method) => ({ value: method, label: method }))}
        {...form.register("chunkMethod")}
      />
      <div className="field-row">
        <TextField label="Chunk size (tokens)" inputMode="numeric" error={errors.chunkTokens?.message} {...form.register("chunkTokens")} />
        <TextField label="Delimiter" hint="\n is a newline." error={errors.delimiter?.message} {...form.register("delimiter")} />
        <TextField label="Overlap (%)" inputMode="decimal" error={errors.overlap?.message} {...form.register("overlap")} />
      </div>
      {errors.root ? <ErrorNotice>{errors.root.message}</ErrorNotice> : null}
      <div className="dialog-actions">
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" pending={save.isPending} pendingLabel="Saving…">
          {existing ? "Save" : "Create dataset"}
        </Button>
      </div>
    </form>
  );
}
