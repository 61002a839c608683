// One attempt's answers -> each recipient's new state, and the outcomes to count. Pure: the worker
// writes the recipients under its lease, then counts.
import type { DeliveryFailure } from './classify.ts';
import type { QueuedRecipient } from '../domain/queue-model.ts';
import { describeDuration, nextAttemptAt, type RetryPolicy } from './retry-policy.ts';
import type { RecipientResult } from './transport.ts';

export type Outcome = 'delivered' | 'deferred' | 'bounced' | 'failed';

export interface RecipientOutcome {
  address: string;
  outcome: Outcome;
  failure?: DeliveryFailure;
  /** Deferred for the first time: the account's `deferred` counter counts each email once. */
  firstDeferral: boolean;
  /** Failed because the message reached its maximum age. */
  expired: boolean;
  retryAt?: Date;
}

export interface AppliedAttempt {
  recipients: QueuedRecipient[];
  outcomes: RecipientOutcome[];
}

/** Recipients to try now: queued and due. */
export function dueRecipients(recipients: readonly QueuedRecipient[], now: Date): QueuedRecipient[] {
  return recipients.filter((r) => r.status === 'queued' && (!r.nextAttemptAt || r.nextAttemptAt.getTime() <= now.getTime()));
}

export function applyResults(
  message: { recipients: readonly QueuedRecipient[]; createdAt: Date },
  results: readonly RecipientResult[],
  now: Date,
  policy: RetryPolicy,
): AppliedAttempt {
  const byAddress = new Map(results.map((r) => [r.address, r]));
  const outcomes: RecipientOutcome[] = [];
  const recipients = message.recipients.map((r): QueuedRecipient => {
    const result = r.status === 'queued' ? byAddress.get(r.address) : undefined;
    if (!result) return { ...r };
    const attempts = r.attempts + 1;
    const base = { ...r, attempts, lastAttemptAt: now };
    if (result.delivered) {
      outcomes.push({ address: r.address, outcome: 'delivered', firstDeferral: false, expired: false });
      const { nextAttemptAt: _d, ...done } = base;
      return { ...done, status: 'delivered', finishedAt: now, response: result.response.slice(0, 500) };
    }
    const { failure } = result;
    if (failure.kind === 'permanent') {
      outcomes.push({ address: r.address, outcome: 'bounced', failure, firstDeferral: false, expired: false });
      const { nextAttemptAt: _b, ...done } = base;
      return { ...done, status: 'bounced', finishedAt: now, lastError: failure.message };
    }
    const retryAt = nextAttemptAt(policy, attempts, message.createdAt, now);
    if (!retryAt) {
      const age = describeDuration(now.getTime() - message.createdAt.getTime());
      const gaveUp: DeliveryFailure = { ...failure, message: `gave up after ${attempts} attempt(s) over ${age}: ${failure.message}`.slice(0, 500) };
      outcomes.push({ address: r.address, outcome: 'failed', failure: gaveUp, firstDeferral: false, expired: true });
      const { nextAttemptAt: _f, ...done } = base;
      return { ...done, status: 'failed', finishedAt: now, lastError: gaveUp.message };
    }
    outcomes.push({ address: r.address, outcome: 'deferred', failure, firstDeferral: r.attempts === 0, expired: false, retryAt });
    return { ...base, status: 'queued', lastError: failure.message, nextAttemptAt: retryAt };
  });
  return { recipients, outcomes };
}

/** Counter deltas for the account: each email counts once as delivered, bounced or failed; deferred once. */
export function counterDelta(outcomes: readonly RecipientOutcome[]): { delivered: number; bounced: number; deferred: number; failed: number } {
  const d = { delivered: 0, bounced: 0, deferred: 0, failed: 0 };
  for (const o of outcomes) {
    if (o.outcome === 'deferred') {
      if (o.firstDeferral) d.deferred++;
    } else {
      d[o.outcome]++;
    }
  }
  return d;
}
