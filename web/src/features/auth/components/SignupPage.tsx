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
import { useLogin, useRegister } from "../hooks/use-auth";
import { AuthLayout } from "./AuthLayout";
import { safeNext } from "./safe-next";

const schema = z.object({
  nickname: z.string().trim().max(100, "At most 100 characters."),
  email: z.string().trim().min(1, "Enter your e-mail address.").email("Enter a valid e-mail address."),
  password: z.string().min(8, "At least 8 characters.").max(256, "At most 256 characters."),
});
type Values = z.infer<typeof schema>;

export function SignupPage() {
  usePageTitle("Sign up");
  const { token } = useSession();
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const navigate = useNavigate();
  const register = useRegister();
  const login = useLogin();
  const form = useForm<Values>({
    resolver: zodResolver(schema),
    defaultValues: { nickname: "", email: "", password: "" },
  });
  const { errors } = form.formState;
  const pending = register.isPending || login.isPending;

  if (token && !pending) return <Navigate to={next} replace />;

  const onSubmit = form.handleSubmit(async (values) => {
    if (pending) return;
    try {
      await register.mutateAsync(values);
      await login.mutateAsync({ email: values.email, password: values.password });
      navigate(next, { replace: true });
    } catch (error) {
      mapArgumentError(
        error,
        { email: "email", password: "password", nickname: "nickname" },
        (field, message) => form.setError(field, { message }),
      );
    }
  });

  return (
    <AuthLayout title="Create your account">
      <form onSubmit={onSubmit} noValidate>
        <TextField label="Name" autoComplete="nickname" error={errors.nickname?.message} {...form.register("nickname")} />
        <TextField label="Email" type="email" autoComplete="email" error={errors.email?.message} {...form.register("email")} />
        <PasswordField
          label="Password"
          autoComplete="new-password"
          hint="At least 8 characters."
          error={errors.password?.message}
          {...form.register("password")}
        />
        {errors.root ? <ErrorNotice>{errors.root.message}</ErrorNotice> : null}
        <Button type="submit" variant="primary" pending={pending} pendingLabel="Creating your account…">
          Sign up
        </Button>
      </form>
      <p>
        Already have an account? <Link to={`/login${params.toString() ? `?${params.toString()}` : ""}`}>Log in</Link>
      </p>
    </AuthLayout>
  );
}

export default SignupPage;
