// One delivery attempt of one leased message: the due recipients are checked, the body read, the message
// signed and handed to the transport; the answers become each recipient's new state (outcome.ts) and, for
// recipients that will never get it, the delivery status notice to the sender, built now so that it is
// written together with the finish (finisher.ts). Nothing is written here.
import type { Logger } from '../log.ts';
import type { NewQueuedMessage } from '../store/queue/enqueue.ts';
import { newQueueId, type Lease, type Queue } from '../store/queue/index.ts';
import { mailboxProblem } from '../shared/mailbox.ts';
import { buildBounceMessage, shouldSendBounce } from './bounce.ts';
import { permanentFailure, temporaryFailure } from './classify.ts';
import type { DkimSigner } from './dkim-signer.ts';
import type { FinishRequest } from './finisher.ts';
import { normalizeLineEndings } from './hygiene.ts';
import { applyResults, dueRecipients, type RecipientOutcome } from './outcome.ts';
import type { RetryPolicy } from './retry-policy.ts';
import { outboundEnvelopes, sendEnvelopes, type ReturnPathSettings } from './return-path-envelope.ts';
import type { RecipientResult, Transport } from './transport.ts';

export interface AttemptDeps {
  queue: Pick<Queue, 'readBody'>;
  transport: Transport;
  dkim: DkimSigner;
  policy: RetryPolicy;
  sendBounces: boolean;
  heloName: string;
  clock: () => Date;
  log: Logger;
  /** RETURN_PATH_DOMAIN: each recipient sent from its own signed return path (return-path-envelope.ts). */
  returnPath?: ReturnPathSettings;
  /** Whether the lease may still be acted on (checked right before the message is handed over). */
  usable: (lease: Lease) => boolean;
}

/** The attempt's finish; null when the lease could no longer be used (nothing was sent). */
export async function attemptDelivery(deps: AttemptDeps, lease: Lease): Promise<FinishRequest | null> {
  const msg = lease.message;
  const due = dueRecipients(msg.recipients, deps.clock());
  if (due.length === 0) return { lease, recipients: msg.recipients.map((r) => ({ ...r })), outcomes: [] };
  const senderProblem = msg.from === '' ? null : mailboxProblem(msg.from);
  const { results, sendable } = checkEnvelope(deps, lease, due, senderProblem);
  let body: Buffer | null = null;
  if (sendable.length) {
    body = await readBody(deps, lease, sendable, results);
    if (body) {
      if (!deps.usable(lease)) return null;
      const envelopes = outboundEnvelopes(msg, sendable, deps.returnPath);
      results.push(...(await sendEnvelopes(deps.transport, envelopes, await deps.dkim.sign(msg, normalizeLineEndings(body)))));
    }
  }
  const now = deps.clock();
  const applied = applyResults(msg, results, now, deps.policy);
  const undeliverable = applied.outcomes.filter((o) => o.outcome === 'bounced' || o.outcome === 'failed');
  const req: FinishRequest = { lease, recipients: applied.recipients, outcomes: applied.outcomes };
  if (undeliverable.length && !senderProblem && shouldSendBounce({ enabled: deps.sendBounces, kind: msg.kind, envelopeFrom: msg.from })) {
    const notice = await buildNotice(deps, lease, undeliverable, body, now);
    if (notice) req.notice = notice;
  }
  return req;
}

function checkEnvelope(deps: AttemptDeps, lease: Lease, due: { address: string }[], senderProblem: string | null) {
  const results: RecipientResult[] = [];
  const sendable: string[] = [];
  for (const r of due) {
    const problem = senderProblem ? `invalid envelope sender <${lease.message.from}>: ${senderProblem}` : mailboxProblem(r.address);
    if (problem) {
      const reason = senderProblem ? problem : `invalid recipient address: ${problem}`;
      results.push({ address: r.address, delivered: false, failure: permanentFailure(reason, senderProblem ? '5.1.7' : '5.1.3', 'ENVELOPE_INVALID') });
      deps.log.warn({ code: 'DELIVERY_ENVELOPE_INVALID', queueId: lease.id, problem: reason }, 'envelope address refused before sending');
    } else if (!sendable.includes(r.address)) {
      sendable.push(r.address);
    }
  }
  return { results, sendable };
}

/** The stored message, or null (then every sendable recipient has its failure in `results`). */
async function readBody(deps: AttemptDeps, lease: Lease, sendable: string[], results: RecipientResult[]): Promise<Buffer | null> {
  let body: Buffer;
  try {
    body = await deps.queue.readBody(lease.body);
  } catch (err) {
    deps.log.error({ err, code: 'DELIVERY_BODY_READ_FAILED', queueId: lease.id }, 'could not read the message body');
    const failure = temporaryFailure('could not read the stored message', '4.3.0', 'BODY_READ_FAILED');
    results.push(...sendable.map((address) => ({ address, delivered: false as const, failure })));
    return null;
  }
  if (body.length !== lease.message.size) {
    deps.log.error({ code: 'DELIVERY_BODY_MISSING', queueId: lease.id, expected: lease.message.size, found: body.length }, 'stored message body is missing or incomplete');
    const failure = permanentFailure('the stored message body is missing', '5.3.0', 'BODY_MISSING');
    results.push(...sendable.map((address) => ({ address, delivered: false as const, failure })));
    return null;
  }
  return body;
}

/** The delivery status notice for the sender (its id chosen now: stored once, whoever stores it). */
async function buildNotice(deps: AttemptDeps, lease: Lease, outcomes: RecipientOutcome[], body: Buffer | null, now: Date): Promise<NewQueuedMessage | null> {
  const msg = lease.message;
  try {
    const original = body ?? (await deps.queue.readBody(lease.body).catch(() => Buffer.alloc(0)));
    const notice = buildBounceMessage({
      reportingMta: deps.heloName,
      queueId: lease.id,
      to: msg.from,
      originalSubject: msg.subject,
      arrivalDate: msg.createdAt,
      originalMessage: original,
      recipients: outcomes.map((o) => ({ address: o.address, failure: o.failure!, expired: o.expired })),
      now,
    });
    return {
      id: newQueueId(),
      workspaceId: msg.workspaceId,
      accountId: msg.accountId,
      username: msg.username,
      from: '',
      to: [msg.from],
      head: Buffer.alloc(0),
      body: notice.raw,
      messageId: notice.messageId,
      subject: notice.subject,
      relayHost: deps.heloName,
      kind: 'bounce',
      at: now,
    };
  } catch (err) {
    deps.log.error({ err, code: 'DELIVERY_BOUNCE_FAILED', queueId: lease.id }, 'could not build the bounce notice');
    return null;
  }
}
