// Durable acceptance of one message: reserve the quota, store the message, count it — and only then 250.
// Each step waits at most what is left of RELAY_STORE_TIMEOUT_MS. When the store fails or is too slow the
// client gets 451 and whatever might still land late is undone by the repair queue: a stored message is
// withdrawn and the reservation given back, so a message the client will send again is neither kept nor
// counted twice.
import { randomBytes } from 'node:crypto';
import { acceptedMessageCounts, getWorkspaceOrThrow, isDomainError, reserveQuota, type SmtpPrincipal } from '../domain/index.ts';
import { DeadlineExceeded, remainingOf, withDeadline } from './deadline.ts';
import type { RelayDeps } from './deps.ts';
import type { RepairTask } from './repairs.ts';
import { recordAcceptedHour } from './hourly-counts.ts';

export interface IncomingMessage {
  principal: SmtpPrincipal;
  from: string;
  to: string[];
  /** As received (after dot-unstuffing), without our Received header. */
  body: Buffer;
  messageId?: string;
  subject?: string;
  hasDate: boolean;
  clientIp: string;
  /** What the client said in EHLO/HELO (only for the Received header). */
  heloName: string;
  secure: boolean;
}

/** Thrown when the store did not answer in time or failed: the client gets 451 4.3.0. */
export class StoreUnavailable extends Error {
  readonly code = 'RELAY_STORE_UNAVAILABLE';
  constructor(
    readonly stage: 'workspace' | 'reserve' | 'store',
    override readonly cause: unknown,
  ) {
    super(`store unavailable at ${stage}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'StoreUnavailable';
  }
}

/** Counting after the message is stored is not worth a 451; it gets a short wait, then the repair queue. */
const RECORD_WAIT_MS = 2_000;

export async function acceptMessage(deps: RelayDeps, msg: IncomingMessage): Promise<string> {
  const { ctx, repairs, queue, log, settings } = deps;
  const started = Date.now();
  const left = () => remainingOf(settings.storeTimeoutMs, started);
  const p = msg.principal;

  const workspace = await guard('workspace', withDeadline(getWorkspaceOrThrow(ctx, p.workspaceId), left(), 'read workspace'));

  // 1. Reserve one email per recipient: atomic, so parallel sessions cannot overshoot the quota.
  const reserving = reserveQuota(ctx, workspace.id, workspace.planId, msg.to.length);
  let reservation: Awaited<typeof reserving>;
  try {
    reservation = await withDeadline(reserving, left(), 'reserve quota');
  } catch (err) {
    if (!(err instanceof DeadlineExceeded)) throw isStoreError(err) ? new StoreUnavailable('reserve', err) : err;
    repairs.afterSettled(reserving, (o) =>
      o.ok ? { name: 'release-quota', run: o.value.release, details: { workspaceId: workspace.id, emails: msg.to.length } } : null,
    );
    throw new StoreUnavailable('reserve', err);
  }

  // 2. Store body and envelope (majority, journaled). The insert of the message document is the commit.
  const queueId = newQueueId();
  const at = ctx.clock();
  const added = settings.addMissingHeaders ? missingHeaders(deps, msg, queueId, at) : { text: '' };
  const storing = queue.enqueue({
    id: queueId,
    workspaceId: p.workspaceId,
    accountId: p.accountId,
    username: p.username,
    from: msg.from,
    to: msg.to,
    body: Buffer.concat([Buffer.from(receivedHeader(deps, msg, queueId, at) + added.text, 'latin1'), msg.body]),
    messageId: msg.messageId ?? added.messageId,
    subject: msg.subject,
    clientIp: msg.clientIp,
    relayHost: deps.relayHost,
    at,
  });
  try {
    await withDeadline(storing, left(), 'store message');
  } catch (err) {
    const undo: RepairTask = {
      name: 'withdraw-message',
      details: { queueId, workspaceId: workspace.id, emails: msg.to.length },
      async run() {
        const outcome = await queue.withdraw(queueId);
        if (outcome === 'in_delivery') {
          // A worker took it before we could: it will be delivered, so it stays counted.
          log.warn({ code: 'RELAY_LATE_COMMIT_KEPT', queueId }, 'message stored after its 451 was already in delivery; kept and counted');
          return;
        }
        if (outcome === 'removed') log.warn({ code: 'RELAY_LATE_COMMIT_REMOVED', queueId }, 'message stored after its 451 was withdrawn');
        await reservation.release();
      },
    };
    if (err instanceof DeadlineExceeded) repairs.afterSettled(storing, () => undo);
    else repairs.schedule(undo);
    throw new StoreUnavailable('store', err);
  }

  // 3. Count it for the account: total sent, sent this month, last used. Two writes, each repaired on its own:
  // redoing both after only one failed would count the message twice.
  const counting = acceptedMessageCounts(ctx, { id: p.accountId, workspaceId: p.workspaceId }, msg.to.length, at).map((step) => ({
    step,
    work: step.run(),
  }));
  try {
    await withDeadline(Promise.all(counting.map((c) => c.work)), Math.min(left(), RECORD_WAIT_MS), 'record usage');
  } catch (err) {
    log.warn({ err, code: 'RELAY_USAGE_DEFERRED', queueId }, 'message stored; counting it for the account is deferred');
    for (const { step, work } of counting) {
      const redo: RepairTask = { name: 'record-usage', details: { queueId, accountId: p.accountId, emails: msg.to.length, step: step.name }, run: step.run };
      repairs.afterSettled(work, (o) => (o.ok ? null : redo));
    }
  }
  recordAcceptedHour(deps, p, msg.to.length, msg.clientIp, at);
  return queueId;
}

async function guard<T>(stage: StoreUnavailable['stage'], work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw isStoreError(err) ? new StoreUnavailable(stage, err) : err;
  }
}

/** Domain errors (quota, workspace gone) are answers; everything else is the store failing. */
function isStoreError(err: unknown): boolean {
  return !isDomainError(err);
}

/** A MongoDB ObjectId (seconds since epoch + 8 random bytes) chosen before the write, so a late write can be found. */
function newQueueId(): string {
  const seconds = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0');
  return seconds + randomBytes(8).toString('hex');
}

/**
 * RFC 6409 section 8: a submission server may add the Message-ID and Date a message lacks. Scripts that write
 * raw SMTP often leave them out, and large mailbox providers refuse mail without a Message-ID.
 */
function missingHeaders(deps: RelayDeps, msg: IncomingMessage, queueId: string, at: Date): { text: string; messageId?: string } {
  const messageId = msg.messageId === undefined ? `<${queueId}@${deps.settings.hostname}>` : undefined;
  const text = (messageId ? `Message-ID: ${messageId}\r\n` : '') + (msg.hasDate ? '' : `Date: ${rfc5322Date(at)}\r\n`);
  return messageId ? { text, messageId } : { text };
}

function rfc5322Date(at: Date): string {
  return at.toUTCString().replace('GMT', '+0000');
}

function receivedHeader(deps: RelayDeps, msg: IncomingMessage, queueId: string, at: Date): string {
  const proto = msg.secure ? 'ESMTPSA' : 'ESMTPA';
  const helo = (msg.heloName || 'unknown').replace(/[^\w.:[\]-]/g, '').slice(0, 255);
  // RFC 5321 address literals: [192.0.2.1], and [IPv6:2001:db8::1] for IPv6.
  const literal = msg.clientIp.includes(':') ? `IPv6:${msg.clientIp}` : msg.clientIp;
  return `Received: from ${helo} ([${literal}])\r\n\tby ${deps.settings.hostname} (smtpdesk) with ${proto} id ${queueId};\r\n\t${rfc5322Date(at)}\r\n`;
}
