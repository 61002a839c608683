// What a report that arrives after the SMTP session changes. A permanent failure of a recipient the next hop
// had accepted turns it bounced (delivered -1, bounced +1, counted exactly once by the store) and suppresses a
// bad mailbox; a transient one is only noted on the recipient; an abuse complaint suppresses the address with
// reason `complaint` and counts one complaint. `not-spam` and other feedback types change nothing. A report
// that names no message we can find is kept for the operator, never dropped.
import type { Actor } from './actor.ts';
import type { DomainContext } from './context.ts';
import type { DomainEvent } from './events.ts';
import { authorize } from './permissions.ts';
import type { DeliveryReport, LaterApply, LaterOutcomeRepository, RecipientStatus, ReportTarget, UnmatchedReport } from './report-model.ts';
import { isMailboxFailure } from './suppressions.ts';

export type * from './report-model.ts';

export interface ReceivedReport {
  /** The return-path address the report came to. */
  rcptTo: string;
  /** What the return path names, when it verified (null: a report whose return path cannot be used). */
  ref: { queueId: string; recipient: number } | null;
  report: DeliveryReport;
  at: Date;
  clientIp?: string;
  size: number;
}

export type ReportResult =
  | { result: 'counted'; matchedBy: 'return_path' | 'message_id'; bounced: number; transient: number; complaints: number }
  | { result: 'duplicate'; matchedBy: 'return_path' | 'message_id' }
  /** A worker holds the message right now: the sender should try again shortly (SMTP 451). */
  | { result: 'busy' }
  | { result: 'ignored'; reason: string }
  | { result: 'unmatched'; reason: string };

export interface LaterOutcomeDeps {
  ctx: Pick<DomainContext, 'suppressions' | 'events' | 'accounts'>;
  later: LaterOutcomeRepository;
}

const SYSTEM = { source: 'system' as const, id: 'bounces', name: 'bounces listener' };

function reportAddresses(report: DeliveryReport): string[] {
  if (report.type === 'dsn') return report.recipients.map((r) => r.address);
  if (report.type === 'feedback') return report.originalRcptTo;
  return [];
}

/** The recipients a report is about, and how they were found. */
async function matchTargets(later: LaterOutcomeRepository, input: ReceivedReport): Promise<{ targets: ReportTarget[]; by: 'return_path' | 'message_id' } | null> {
  if (input.ref) {
    const all = await later.recipientsOf(input.ref.queueId);
    const one = all?.find((t) => t.recipient === input.ref!.recipient);
    if (one) return { targets: [one], by: 'return_path' };
  }
  const id = input.report.originalMessageId;
  if (!id) return null;
  const all = await later.recipientsByMessageId(id);
  if (!all.length) return null;
  const named = new Set(reportAddresses(input.report).map((a) => a.toLowerCase()));
  const targets = all.filter((t) => named.has(t.address.toLowerCase()));
  // A provider that redacts the recipient (common in feedback loops): only a one-recipient message is certain.
  if (!targets.length && all.length === 1) return { targets: all, by: 'message_id' };
  return targets.length ? { targets, by: 'message_id' } : null;
}

/** The DSN entry for a target: the one naming its address, else (a return path names one recipient) the worst. */
function statusFor(target: ReportTarget, entries: readonly RecipientStatus[], byReturnPath: boolean): RecipientStatus | undefined {
  const own = entries.filter((e) => e.address.toLowerCase() === target.address.toLowerCase());
  const pool = own.length || !byReturnPath ? own : entries;
  return pool.find((e) => e.kind === 'permanent') ?? pool.find((e) => e.kind === 'transient');
}

async function publish(deps: LaterOutcomeDeps, target: ReportTarget, type: 'message.bounced' | 'message.complained', at: Date, details: Record<string, unknown>) {
  const account = await deps.ctx.accounts.findById(target.accountId).catch(() => null);
  const event: DomainEvent = {
    type,
    workspaceId: target.workspaceId,
    at,
    actor: SYSTEM,
    ...(account ? { account: { id: account.id, name: account.name, username: account.username, status: account.status } } : {}),
    details: { queueId: target.queueId, recipient: target.address, later: true, ...details },
  };
  await deps.ctx.events.publish(event);
}

export async function receiveReport(deps: LaterOutcomeDeps, input: ReceivedReport): Promise<ReportResult> {
  const { report } = input;
  if (report.type === 'feedback' && report.feedbackType !== 'abuse') return { result: 'ignored', reason: `feedback type ${report.feedbackType} counts as no complaint` };
  if (report.type === 'dsn' && !report.recipients.some((r) => r.kind !== 'delivered')) return { result: 'ignored', reason: 'a report of successful delivery' };
  const matched = report.type === 'unknown' ? null : await matchTargets(deps.later, input);
  if (!matched) {
    const reason = report.type === 'unknown' ? report.reason : input.ref ? 'the message of the return path is no longer in the queue' : 'no message with its Message-ID';
    await deps.later.keepUnmatched({
      at: input.at,
      rcptTo: input.rcptTo,
      ...(input.clientIp ? { clientIp: input.clientIp } : {}),
      type: report.type,
      reason,
      ...(report.originalMessageId ? { originalMessageId: report.originalMessageId } : {}),
      recipients: reportAddresses(report).slice(0, 50),
      size: input.size,
    });
    return { result: 'unmatched', reason };
  }
  const counts = { bounced: 0, transient: 0, complaints: 0 };
  let busy = false;
  for (const target of matched.targets) {
    if (target.kind !== 'message') continue; // a bounce of our own bounce notice is about nobody's recipient
    let outcome: LaterApply | 'noted' | null = null;
    if (report.type === 'feedback') {
      outcome = await deps.later.applyComplaint(target, { at: input.at, feedbackType: report.feedbackType });
      if (outcome === 'applied') {
        counts.complaints++;
        await deps.ctx.suppressions.upsert({
          workspaceId: target.workspaceId,
          address: target.address,
          at: input.at,
          source: 'complaint',
          reason: `spam complaint (${report.userAgent ?? 'feedback report'})`.slice(0, 500),
        });
        await publish(deps, target, 'message.complained', input.at, { feedbackType: report.feedbackType });
      }
    } else if (report.type === 'dsn') {
      const entry = statusFor(target, report.recipients, matched.by === 'return_path');
      if (!entry) continue;
      const later = { at: input.at, status: entry.status, ...(entry.diagnostic ? { diagnostic: entry.diagnostic.slice(0, 500) } : {}) };
      if (entry.kind === 'transient') {
        await deps.later.recordTransient(target, later);
        counts.transient++;
        outcome = 'noted';
      } else {
        outcome = await deps.later.applyBounce(target, later);
        if (outcome === 'applied') {
          counts.bounced++;
          if (isMailboxFailure({ replyCode: 550, enhancedStatus: entry.status || undefined })) {
            const reason = `bounced after delivery: ${entry.status} ${entry.diagnostic ?? ''}`.trim().slice(0, 500);
            await deps.ctx.suppressions.upsert({ workspaceId: target.workspaceId, address: target.address, at: input.at, source: 'bounce', reason });
          }
          await publish(deps, target, 'message.bounced', input.at, { status: entry.status, diagnostic: entry.diagnostic ?? null });
        }
      }
    }
    if (outcome === 'busy') busy = true;
  }
  if (busy && counts.bounced + counts.complaints + counts.transient === 0) return { result: 'busy' };
  if (counts.bounced + counts.complaints + counts.transient === 0) return { result: 'duplicate', matchedBy: matched.by };
  return { result: 'counted', matchedBy: matched.by, ...counts };
}

/**
 * Reports that named no message we could find, newest first, with how many there are in all. They belong to
 * no workspace (we could not tell whose they are), so only admins see them.
 */
export async function listUnmatchedReports(later: LaterOutcomeRepository, actor: Actor, limit = 50): Promise<{ total: number; reports: UnmatchedReport[] }> {
  authorize(actor, 'workspace.manage');
  const [total, reports] = await Promise.all([later.countUnmatched(), later.listUnmatched(Math.min(Math.max(limit, 1), 1000))]);
  return { total, reports };
}
