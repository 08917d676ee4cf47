import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router-dom";
import { z } from "zod";

import { Button } from "@/components/Button";
import { ErrorNotice } from "@/components/Card";
import { PasswordField, TextField } from "@/components/Field";
import { usePageTitle } from "@/components/usePageTitle";
import { mapArgumentError } from "@/lib/field-errors";

import { useSession } from "../hooks/session";
import { useLogin } from "../hooks/use-auth";
import { AuthLayout } from "./AuthLayout";
import { safeNext } from "./safe-next";

const schema = z.object({
  email: z.string().trim().min(1, "Enter your e-mail address."),
  password: z.string().min(1, "Enter your password."),
});
type Values = z.infer<typeof schema>;

export function LoginPage() {
  usePageTitle("Log in");
  const { token, expired } = useSession();
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const navigate = useNavigate();
  const login = useLogin();
  const form = useForm<Values>({ resolver: zodResolver(schema), defaultValues: { email: "", password: "" } });
  const { errors } = form.formState;

  if (token && !login.isPending) return <Navigate to={next} replace />;

  const onSubmit = form.handleSubmit(async (values) => {
    if (login.isPending) return;
    try {
      await login.mutateAsync(values);
      navigate(next, { replace: true });
    } catch (error) {
      mapArgumentError(error, { email: "email", password: "password" }, (field, message) =>
        form.setError(field, { message }),
      );
    }
  });

  return (
    <AuthLayout title="Log in">
      {expired ? (
        <p className="notice" role="status">
          Your session has expired. Log in again to continue where you were.
        </p>
      ) : null}
      <form onSubmit={onSubmit} noValidate>
        <TextField label="Email" type="email" autoComplete="username" error={errors.email?.message} {...form.register("email")} />
        <PasswordField
          label="Password"
          autoComplete="current-password"
          error={errors.password?.message}
          {...form.register("password")}
        />
        {errors.root ? <ErrorNotice>{errors.root.message}</ErrorNotice> : null}
        <Button type="submit" variant="primary" pending={login.isPending} pendingLabel="Logging in…">
          Log in
        </Button>
      </form>
      <p>
        New here? <Link to={`/signup${params.toString() ? `?${params.toString()}` : ""}`}>Create an account</Link>
      </p>
    </AuthLayout>
  );
}

export default LoginPage;
