// What each accepted message and each delivery outcome adds to an account's counters. The relay and the
// worker hand these changes to the store's counter batches, which apply each at most once (exact across
// crashes); the rules of what counts live here.
import type { DeliveryCounters } from './model.ts';

export type CounterName = keyof DeliveryCounters;

export interface CounterChange {
  accountId: string;
  workspaceId: string;
  /** When it happened: picks the month and the day it counts in. */
  at: Date;
  delta: Partial<DeliveryCounters>;
  /** An accepted message: the account's "last used" moves to `at`. */
  used?: boolean;
}

/** One email per recipient of an accepted message: total sent, sent this month and today, last used. */
export function acceptedChange(account: { id: string; workspaceId: string }, recipients: number, at: Date): CounterChange {
  return { accountId: account.id, workspaceId: account.workspaceId, at, delta: { sent: recipients }, used: true };
}

/** Delivery outcomes (a bounce notice smtpdesk wrote itself counts for nobody). */
export function outcomeChange(
  message: { accountId: string; workspaceId: string; kind: 'message' | 'bounce' },
  delta: Partial<Omit<DeliveryCounters, 'sent'>>,
  at: Date,
): CounterChange | null {
  if (message.kind === 'bounce' || !Object.values(delta).some((v) => v)) return null;
  return { accountId: message.accountId, workspaceId: message.workspaceId, at, delta };
}

/** Day key of the daily statistics (UTC), e.g. "2026-12-01". */
export function dayKey(at: Date): string {
  return at.toISOString().slice(0, 10);
}
