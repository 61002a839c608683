// The credential report (`smtpdesk accounts report`), after AWS IAM's: for every account its status, age of
// the password, last rotate, last use and last client address, and where it may send from. The last client
// address comes from the relay's record of successful AUTHs (familiar addresses), passed in by the adapter.
import type { Actor } from './actor.ts';
import { DAY_MS } from './clock.ts';
import type { DomainContext } from './context.ts';
import type { Account, AccountStatus } from './model.ts';
import { authorize } from './permissions.ts';

export interface CredentialReportRow {
  name: string;
  username: string;
  status: AccountStatus;
  createdAt: Date;
  /** When the current password was set: the last rotate, or the creation. */
  passwordSetAt: Date;
  passwordAgeDays: number;
  lastRotatedAt: Date | null;
  lastUsedAt: Date | null;
  lastClientAddress: string | null;
  lastAuthAt: Date | null;
  allowedSenders: string[];
  allowedNetworks: string[];
  passwordLeakedAt: Date | null;
}

/** The last successful AUTH of each username (the relay's familiar-address records). */
export type LastClientLookup = (usernames: readonly string[]) => Promise<Map<string, { address: string; at: Date }>>;

export function passwordSetAt(a: Pick<Account, 'passwordChangedAt' | 'createdAt'>): Date {
  return a.passwordChangedAt ?? a.createdAt;
}

export function passwordAgeDays(a: Pick<Account, 'passwordChangedAt' | 'createdAt'>, now: Date): number {
  return Math.max(0, Math.floor((now.getTime() - passwordSetAt(a).getTime()) / DAY_MS));
}

export async function credentialReport(ctx: DomainContext, actor: Actor, workspaceId: string, lastClients: LastClientLookup): Promise<CredentialReportRow[]> {
  // Addresses of clients and where passwords are valid: for those who read the audit.
  authorize(actor, 'audit.show');
  const accounts = (await ctx.accounts.listByWorkspace(workspaceId)).sort((a, b) => a.name.localeCompare(b.name, 'en', { sensitivity: 'base' }));
  const clients = await lastClients(accounts.map((a) => a.username));
  const now = ctx.clock();
  return accounts.map((a) => {
    const client = clients.get(a.username);
    return {
      name: a.name,
      username: a.username,
      status: a.status,
      createdAt: a.createdAt,
      passwordSetAt: passwordSetAt(a),
      passwordAgeDays: passwordAgeDays(a, now),
      lastRotatedAt: a.passwordChangedAt ?? null,
      lastUsedAt: a.lastUsedAt ?? null,
      lastClientAddress: client?.address ?? null,
      lastAuthAt: client?.at ?? null,
      allowedSenders: a.allowedSenders,
      allowedNetworks: a.allowedNetworks ?? [],
      passwordLeakedAt: a.passwordLeak?.at ?? null,
    };
  });
}
