import { zodResolver } from "@hookform/resolvers/zod";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod";

import { Button } from "@/components/Button";
import { Card, ErrorNotice, Loading } from "@/components/Card";
import { ConfirmDeletion } from "@/components/Dialog";
import { SelectField, TextField } from "@/components/Field";
import { usePageTitle } from "@/components/usePageTitle";
import { errorMessage } from "@/lib/api-client";
import { mapArgumentError } from "@/lib/field-errors";

import type { Member, MemberRole } from "../api/team";
import { useInviteMember, useMembers, useRemoveMember, useSetMemberRole } from "../hooks/use-team";

const ROLE_LABELS: Record<MemberRole, string> = { owner: "Owner", admin: "Admin", normal: "Member" };

const inviteSchema = z.object({
  email: z.string().trim().min(1, "Enter the e-mail address of an existing user.").email("Enter a valid e-mail address."),
  role: z.enum(["normal", "admin"]),
});
type InviteValues = z.infer<typeof inviteSchema>;

function InviteForm({ tenantId, isOwner }: { tenantId: string; isOwner: boolean }) {
  const invite = useInviteMember(tenantId);
  const form = useForm<InviteValues>({ resolver: zodResolver(inviteSchema), defaultValues: { email: "", role: "normal" } });
  const { errors } = form.formState;
  const [done, setDone] = useState("");
  const onSubmit = form.handleSubmit(async (values) => {
    if (invite.isPending) return;
    setDone("");
    try {
      const member = await invite.mutateAsync(values);
      setDone(`${member.email} joined the team.`);
      form.reset();
    } catch (error) {
      // "User not found" and "already a member" are about the e-mail address.
      mapArgumentError(error, { email: "email", role: "role" }, (field, message) =>
        form.setError(field === "root" ? "email" : field, { message }),
      );
    }
  });
  return (
    <form onSubmit={onSubmit} noValidate className="inline-form">
      <TextField label="E-mail address" type="email" autoComplete="off" error={errors.email?.message} {...form.register("email")} />
      <SelectField
        label="Role"
        options={[
          { value: "normal", label: "Member" },
          ...(isOwner ? [{ value: "admin", label: "Admin" }] : []),
        ]}
        error={errors.role?.message}
        {...form.register("role")}
      />
      <Button type="submit" variant="primary" pending={invite.isPending} pendingLabel="Inviting…">
        Invite
      </Button>
      <p role="status" className="muted">
        {done}
      </p>
    </form>
  );
}

interface TeamPageProps {
  tenantId: string;
  currentUserId: string;
  myRole: MemberRole;
}

export function TeamPage({ tenantId, currentUserId, myRole }: TeamPageProps) {
  usePageTitle("Team");
  const members = useMembers(tenantId);
  const setRole = useSetMemberRole(tenantId);
  const remove = useRemoveMember(tenantId);
  const [removing, setRemoving] = useState<Member | null>(null);
  const canManage = myRole === "owner" || myRole === "admin";
  const isOwner = myRole === "owner";

  // The server's rules: only the owner changes roles; owner and admins remove members, and
  // only the owner removes an admin; nobody removes the owner.
  const canChangeRole = (member: Member) => isOwner && member.role !== "owner";
  const canRemove = (member: Member) =>
    member.role !== "owner" && member.user_id !== currentUserId && (isOwner || (canManage && member.role !== "admin"));

  return (
    <>
      <h1>Team</h1>
      <p className="lead">The people who share this team's datasets, assistants and settings.</p>
      {canManage ? (
        <Card title="Invite a member">
          <p className="muted">Invite someone who already has a ragprism account, by their e-mail address.</p>
          <InviteForm tenantId={tenantId} isOwner={isOwner} />
        </Card>
      ) : null}
      <Card title="Members">
        {members.isPending ? <Loading /> : null}
        {members.isError ? <ErrorNotice>{errorMessage(members.error)}</ErrorNotice> : null}
        {setRole.isError ? <ErrorNotice>{errorMessage(setRole.error)}</ErrorNotice> : null}
        {members.data ? (
          <table>
            <caption className="visually-hidden">Members of this team</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">E-mail</th>
                <th scope="col">Role</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {members.data.map((member) => (
                <tr key={member.user_id}>
                  <td>
                    {member.nickname}
                    {member.user_id === currentUserId ? <span className="muted"> (you)</span> : null}
                  </td>
                  <td>{member.email}</td>
                  <td>
                    {canChangeRole(member) ? (
                      <select
                        aria-label={`Role of ${member.email}`}
                        value={member.role}
                        disabled={setRole.isPending}
                        onChange={(event) =>
                          setRole.mutate({ userId: member.user_id, role: event.target.value as "admin" | "normal" })
                        }
                      >
                        <option value="normal">Member</option>
                        <option value="admin">Admin</option>
                      </select>
                    ) : (
                      ROLE_LABELS[member.role]
                    )}
                  </td>
                  <td>
                    {canRemove(member) ? (
                      <Button variant="danger" aria-label={`Remove ${member.email}`} onClick={() => setRemoving(member)}>
                        Remove
                      </Button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Card>
      <ConfirmDeletion
        target={removing}
        onClose={() => setRemoving(null)}
        mutation={remove}
        variables={(t) => t.user_id}
        title="Remove this member?"
        description={`${removing?.email ?? "They"} will no longer see this team; their API keys for it are deleted.`}
        confirmLabel="Remove"
      />
    </>
  );
}

export default TeamPage;
