// A workspace's credential policy: what a leak report does (disable or rotate), and when the hygiene digest
// calls a password too old or an account unused. Set with `smtpdesk workspace set --on-leak --max-password-age
// --unused-after`; absent fields take the defaults below.
import type { Actor } from './actor.ts';
import { recordChange } from './audit.ts';
import type { DomainContext } from './context.ts';
import { DomainError } from './errors.ts';
import type { CredentialPolicy, Workspace } from './model.ts';
import { authorize } from './permissions.ts';
import { getWorkspaceOrThrow } from './workspaces.ts';

export const LEAK_POLICIES = ['disable', 'rotate'] as const;
export type LeakPolicy = (typeof LEAK_POLICIES)[number];

/** Defaults: disable on leak; AWS/CIS-like ages (passwords 90 days, unused 45 days). */
export const DEFAULT_CREDENTIAL_POLICY = { onLeak: 'disable', maxPasswordAgeDays: 90, unusedAfterDays: 45 } as const satisfies Required<CredentialPolicy>;

export function effectiveCredentialPolicy(ws: Pick<Workspace, 'credentialPolicy'>): Required<CredentialPolicy> {
  return { ...DEFAULT_CREDENTIAL_POLICY, ...(ws.credentialPolicy ?? {}) };
}

export function parseLeakPolicy(input: string): LeakPolicy {
  const v = input.trim().toLowerCase();
  if (!(LEAK_POLICIES as readonly string[]).includes(v)) {
    throw new DomainError('INPUT.INVALID', `--on-leak is one of: ${LEAK_POLICIES.join(', ')}.`, { field: 'onLeak', allowed: LEAK_POLICIES });
  }
  return v as LeakPolicy;
}

/** "90d", "90", "12w" -> days (1 to 3650). */
export function parseDays(input: string, field: string): number {
  const m = /^\s*(\d{1,5})\s*(d|day|days|w|week|weeks)?\s*$/i.exec(input);
  const days = m ? Number(m[1]) * (m[2] && m[2].toLowerCase().startsWith('w') ? 7 : 1) : NaN;
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new DomainError('INPUT.INVALID', `${field} is a number of days from 1 to 3650, such as 90d.`, { field });
  }
  return days;
}

export async function setCredentialPolicy(ctx: DomainContext, actor: Actor, workspaceId: string, patch: CredentialPolicy): Promise<Workspace> {
  authorize(actor, 'workspace.manage');
  const ws = await getWorkspaceOrThrow(ctx, workspaceId);
  const next: CredentialPolicy = { ...(ws.credentialPolicy ?? {}), ...patch };
  const updated = (await ctx.workspaces.update(workspaceId, { credentialPolicy: next })) ?? ws;
  await recordChange(ctx, actor, 'workspace.updated', workspaceId, {
    details: { settings: Object.keys(patch), credentialPolicy: { from: effectiveCredentialPolicy(ws), to: effectiveCredentialPolicy(updated) } },
  });
  return updated;
}
