import { zodResolver } from "@hookform/resolvers/zod";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod";

import { Button } from "@/components/Button";
import { ErrorNotice } from "@/components/Card";
import { PasswordField, SelectField, TextField } from "@/components/Field";
import { ApiError } from "@/lib/api-client";
import { mapArgumentError } from "@/lib/field-errors";

import { MODEL_TYPES, type ModelType } from "../api/models";
import { useAddModels, useFactories } from "../hooks/use-models";

const price = z
  .string()
  .trim()
  .refine((value) => value === "" || (Number.isFinite(Number(value)) && Number(value) >= 0), {
    message: "A price in USD per 1M tokens, 0 or more.",
  });

const schema = z.object({
  factory: z.string().min(1),
  baseUrl: z
    .string()
    .trim()
    .refine((value) => value === "" || /^https?:\/\/\S+$/i.test(value), { message: "Enter an http(s) URL." }),
  apiKey: z.string().trim(),
  modelNames: z
    .string()
    .trim()
    .min(1, "Enter at least one model name.")
    .refine((value) => !value.includes("@"), { message: "Model names cannot contain '@'." }),
  modelType: z.enum(MODEL_TYPES),
  inputPrice: price,
  outputPrice: price,
});
type Values = z.infer<typeof schema>;

const WIRE_NAMES = {
  llm_factory: "factory",
  api_base: "baseUrl",
  api_key: "apiKey",
  llm_name: "modelNames",
  model_type: "modelType",
  input_price: "inputPrice",
  output_price: "outputPrice",
} as const;

/** Add an OpenAI-compatible provider's models; each is checked with one real call. */
export function AddProviderForm() {
  const factories = useFactories();
  const add = useAddModels();
  const [added, setAdded] = useState("");
  const form = useForm<Values>({
    resolver: zodResolver(schema),
    defaultValues: {
      factory: "OpenAI-API-Compatible",
      baseUrl: "",
      apiKey: "",
      modelNames: "",
      modelType: "chat",
      inputPrice: "",
      outputPrice: "",
    },
  });
  const { errors } = form.formState;
  const providerOptions = (factories.data ?? [{ name: "OpenAI-API-Compatible", api_base: null, model_types: [] }])
    .filter((factory) => factory.name !== "Builtin")
    .map((factory) => ({ value: factory.name, label: factory.name }));

  const onSubmit = form.handleSubmit(async (values) => {
    if (add.isPending) return;
    setAdded("");
    const names = values.modelNames.split(/[,\n]/).map((name) => name.trim()).filter(Boolean);
    const optional = (value: string) => (value ? Number(value) : undefined);
    try {
      await add.mutateAsync(
        names.map((name) => ({
          llm_factory: values.factory,
          llm_name: name,
          model_type: values.modelType as ModelType,
          api_base: values.baseUrl || undefined,
          api_key: values.apiKey || undefined,
          input_price: optional(values.inputPrice),
          output_price: optional(values.outputPrice),
        })),
      );
      setAdded(`Added ${names.join(", ")}.`);
      form.reset({ ...values, apiKey: "", modelNames: "" });
    } catch (error) {
      const detail =
        error instanceof ApiError && error.code !== 101 ? new Error(`Verification failed: ${error.message}`) : error;
      mapArgumentError(detail, WIRE_NAMES, (field, message) =>
        form.setError(field === "root" ? "root" : field, { message }),
      );
    }
  });

  return (
    <form onSubmit={onSubmit} noValidate>
      <div className="grid-2">
        <SelectField label="Provider" options={providerOptions} error={errors.factory?.message} {...form.register("factory")} />
        <SelectField
          label="Model type"
          options={MODEL_TYPES.map((type) => ({ value: type, label: type }))}
          error={errors.modelType?.message}
          {...form.register("modelType")}
        />
      </div>
      <TextField
        label="Base URL"
        type="url"
        placeholder="https://api.example.com/v1"
        hint="The OpenAI-compatible API's address, up to /v1."
        error={errors.baseUrl?.message}
        {...form.register("baseUrl")}
      />
      <PasswordField label="API key" hint="Stored encrypted; never shown again." error={errors.apiKey?.message} {...form.register("apiKey")} />
      <TextField
        label="Model names"
        placeholder="gpt-4o-mini, text-embedding-3-small"
        hint="One or more, separated by commas; all of the chosen type."
        error={errors.modelNames?.message}
        {...form.register("modelNames")}
      />
      <div className="grid-2">
        <TextField label="Input price" inputMode="decimal" hint="USD per 1M input tokens." error={errors.inputPrice?.message} {...form.register("inputPrice")} />
        <TextField label="Output price" inputMode="decimal" hint="USD per 1M output tokens." error={errors.outputPrice?.message} {...form.register("outputPrice")} />
      </div>
      {errors.root ? <ErrorNotice>{errors.root.message}</ErrorNotice> : null}
      <div className="row">
        <Button type="submit" variant="primary" pending={add.isPending} pendingLabel="Checking the model…">
          Add models
        </Button>
        <span role="status" className="muted">
          {added}
        </span>
      </div>
    </form>
  );
}
