import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";
import { z } from "zod";

import { Button } from "@/components/Button";
import { Card, ErrorNotice } from "@/components/Card";
import { SelectField, TextField } from "@/components/Field";
import { errorMessage } from "@/lib/api-client";

import type { Dataset } from "../api/datasets";
import { useRetrieval, useTeamModels } from "../hooks/use-datasets";
import { HighlightedText } from "./HighlightedText";

const number = (min: number, max: number) => z.coerce.number<string>().min(min).max(max);

const schema = z.object({
  question: z.string().trim().min(1, "Type a question."),
  threshold: number(0, 1),
  vectorWeight: number(0, 1),
  topK: z.coerce.number<string>().int().min(1).max(2048),
  rerank: z.string(),
});

type FormValues = z.input<typeof schema>;
type Parsed = z.output<typeof schema>;

const score = (value: number | undefined) => (value ?? 0).toFixed(3);

/** Ask the dataset a question and see what retrieval finds, with the similarity's parts. */
export function RetrievalPanel({ dataset }: { dataset: Dataset }) {
  const retrieval = useRetrieval();
  const models = useTeamModels();
  const rerankModels = Object.entries(models.data ?? {}).flatMap(([factory, { llm }]) =>
    llm.filter((model) => model.type === "rerank").map((model) => `${model.name}@${factory}`),
  );
  const form = useForm<FormValues, unknown, Parsed>({
    resolver: zodResolver(schema),
    defaultValues: { question: "", threshold: "0.2", vectorWeight: "0.3", topK: "1024", rerank: "" },
  });
  const { errors } = form.formState;
  const submit = (values: Parsed) =>
    retrieval.mutate({
      question: values.question,
      dataset_ids: [dataset.id],
      similarity_threshold: values.threshold,
      vector_similarity_weight: values.vectorWeight,
      top_k: values.topK,
      ...(values.rerank ? { rerank_id: values.rerank } : {}),
      page_size: 10,
      highlight: true,
    });
  const hits = retrieval.data?.chunks ?? [];
  return (
    <Card title="Retrieval test">
      <form onSubmit={form.handleSubmit(submit)} noValidate aria-busy={retrieval.isPending || undefined}>
        <TextField label="Question" error={errors.question?.message} {...form.register("question")} />
        <div className="field-row">
          <TextField label="Similarity threshold" inputMode="decimal" error={errors.threshold?.message} {...form.register("threshold")} />
          <TextField
            label="Vector weight"
            inputMode="decimal"
            hint="The rest is the term (keyword) similarity's weight."
            error={errors.vectorWeight?.message}
            {...form.register("vectorWeight")}
          />
          <TextField label="Top K" inputMode="numeric" error={errors.topK?.message} {...form.register("topK")} />
          <SelectField
            label="Rerank model"
            options={[{ value: "", label: "None" }, ...rerankModels.map((name) => ({ value: name, label: name }))]}
            {...form.register("rerank")}
          />
        </div>
        <Button type="submit" variant="primary" pending={retrieval.isPending} pendingLabel="Searching…">
          Test retrieval
        </Button>
      </form>
      {retrieval.isError ? <ErrorNotice>{errorMessage(retrieval.error)}</ErrorNotice> : null}
      {retrieval.data ? (
        <>
          <p role="status">
            {retrieval.data.total} {retrieval.data.total === 1 ? "hit" : "hits"}
          </p>
          <ol className="hits" aria-label="Hits">
            {hits.map((hit) => (
              <li key={hit.id} className="hit">
                <p className="hit-scores">
                  <strong>{hit.document_keyword}</strong> · similarity {score(hit.similarity)} (vector{" "}
                  {score(hit.vector_similarity)}, term {score(hit.term_similarity)})
                </p>
                <p className="chunk-text">
                  {hit.highlight ? <HighlightedText html={hit.highlight} /> : hit.content}
                </p>
              </li>
            ))}
          </ol>
        </>
      ) : null}
    </Card>
  );
}
