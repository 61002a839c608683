// The suppression list of a workspace: addresses whose mailbox a receiving server refused permanently. The
// relay refuses RCPT TO for them (550 5.1.1, no quota spent) until someone removes them. Soft bounces never
// suppress.
import type { Actor } from './actor.ts';
import { describeActor } from './actor.ts';
import { recordChange } from './audit.ts';
import type { DomainContext } from './context.ts';
import { DomainError } from './errors.ts';
import { authorize } from './permissions.ts';
import type { Suppression } from './suppression-model.ts';

export type { Suppression, SuppressionRepository } from './suppression-model.ts';

/** How the list matches an address: the whole address, ignoring case. */
export const suppressionKey = (address: string) => address.trim().toLowerCase();

/** What a receiving server answered for one recipient, as far as the suppression rule needs it. */
export interface PermanentAnswer {
  /** The basic reply code (550…); absent when the server never answered (our own checks, a transport error). */
  replyCode?: number;
  /** RFC 3463 enhanced status, e.g. "5.1.1", when the reply had one. */
  enhancedStatus?: string;
  /** The command it answered, e.g. "RCPT TO". */
  stage?: string;
}

/**
 * Whether a permanent refusal says the mailbox is bad (and so the address is suppressed). An enhanced code
 * decides when there is one: 5.1.x (bad address or mailbox), not 5.7.x (policy) or 5.2.x (full, too big), which
 * say nothing lasting about the mailbox. Without one, 550/551/553 to RCPT TO (mailbox unavailable, not local,
 * name not allowed). Only a receiving server's own answer counts.
 */
export function isMailboxFailure(a: PermanentAnswer): boolean {
  if (a.replyCode === undefined || a.replyCode < 500 || a.replyCode >= 600) return false;
  if (a.enhancedStatus) return /^5\.1\.\d{1,3}$/.test(a.enhancedStatus);
  return a.stage === 'RCPT TO' && [550, 551, 553].includes(a.replyCode);
}

/** The relay's answer text for a suppressed recipient (after "550 5.1.1"). */
export function suppressedReply(s: Pick<Suppression, 'address' | 'at'>): string {
  return `<${s.address}> is on this workspace's suppression list since ${s.at.toISOString().slice(0, 10)} (it hard-bounced); remove it from the list to send to it again`;
}

/** Called by the delivery worker with the recipients a receiving server refused for good. */
export async function suppressHardBounces(
  ctx: DomainContext,
  workspaceId: string,
  bounces: readonly { address: string; answer: PermanentAnswer; reply: string }[],
  at: Date = ctx.clock(),
): Promise<string[]> {
  const suppressed: string[] = [];
  for (const b of bounces) {
    if (!isMailboxFailure(b.answer)) continue;
    await ctx.suppressions.upsert({ workspaceId, address: b.address.trim(), at, source: 'bounce', reason: b.reply.slice(0, 500) });
    suppressed.push(b.address);
  }
  return suppressed;
}

export async function listSuppressions(ctx: DomainContext, actor: Actor, workspaceId: string, opts: { limit?: number } = {}): Promise<Suppression[]> {
  authorize(actor, 'suppression.list');
  return ctx.suppressions.list(workspaceId, { limit: Math.min(Math.max(opts.limit ?? 100, 1), 10_000) });
}

const ADDRESS = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

export async function addSuppression(ctx: DomainContext, actor: Actor, workspaceId: string, address: string, note?: string): Promise<Suppression> {
  authorize(actor, 'suppression.manage');
  const clean = (address ?? '').trim().replace(/^<(.*)>$/, '$1');
  if (!ADDRESS.test(clean)) throw new DomainError('INPUT.INVALID', `"${clean}" is not an email address.`, { field: 'address' });
  const entry: Suppression = { workspaceId, address: clean, at: ctx.clock(), source: 'manual', reason: note?.trim().slice(0, 500) ?? '', by: describeActor(actor) };
  await ctx.suppressions.upsert(entry);
  await recordChange(ctx, actor, 'suppression.added', workspaceId, { details: { address: clean }, note: entry.reason || undefined });
  return entry;
}

export async function removeSuppression(ctx: DomainContext, actor: Actor, workspaceId: string, address: string): Promise<Suppression> {
  authorize(actor, 'suppression.manage');
  const clean = (address ?? '').trim().replace(/^<(.*)>$/, '$1');
  const existing = await ctx.suppressions.find(workspaceId, clean);
  if (!existing || !(await ctx.suppressions.remove(workspaceId, clean))) {
    throw new DomainError('SUPPRESSION.NOT_FOUND', `<${clean}> is not on the suppression list.`, { address: clean });
  }
  await recordChange(ctx, actor, 'suppression.removed', workspaceId, { details: { address: existing.address, since: existing.at.toISOString(), reason: existing.reason } });
  return existing;
}
