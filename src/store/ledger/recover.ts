// Finishing a batch: by its owner once its calls settled, or by recovery once its owner stopped holding it.
// Whatever happened before, the counters end equal to what the queue holds, each change counted once
// (markers). The rules, one per state (drawn in docs/delivery.md):
//   accept/open     the owner is gone. Every message of the batch in the queue: its insert completed, so its
//                   client may have heard 250: counted. Any missing: no client heard 250 (250 comes only after
//                   the whole insert), so the batch is refused, as below.
//   accept/refused  its clients heard 451: what landed is withdrawn (a message a worker already has is kept
//                   and counted), the quota of the rest given back; the batch stays as a tombstone, looked at
//                   again a few times, so that an insert landing late is withdrawn too.
//   accept/stored   counted; only its notice was never taken (workers find the messages by due time): closed.
//   outcome, correction: the entries whose write landed on their message are counted, their notices stored.
import { acceptedChange, monthKey, type CounterChange } from '../../domain/index.ts';
import type { NewQueuedMessage } from '../queue/enqueue.ts';
import type { LedgerBatch, LedgerBatches } from './batches.ts';
import { applyCounterChanges, markDone, type CounterCollections, type MarkerSweeper } from './counters.ts';
import { markerKeys, quotaMarkers, releaseMarker, workspaceMonthId } from './markers.ts';
import type { QuotaCounters } from './quota.ts';

/** What the ledger needs of the queue (src/store/queue). */
export interface LedgerQueue {
  /** The ids among `ids` that are stored. */
  presentIds(ids: string[]): Promise<Set<string>>;
  /** Removes those no worker has touched; returns the ids removed and the ids kept because a worker has them. */
  withdrawMany(ids: string[]): Promise<{ removed: string[]; inDelivery: string[] }>;
  /** The ids among `ids` that carry batch `batchId`'s outcome write. */
  outcomesLanded(ids: string[], batchId: string): Promise<Set<string>>;
  /** Stores notices; one already stored (same id) is not an error. */
  storeNotices(msgs: NewQueuedMessage[]): Promise<void>;
}

export interface RecoveryDeps {
  batches: LedgerBatches;
  quota: QuotaCounters;
  counters: CounterCollections;
  sweeper: MarkerSweeper;
  queue: LedgerQueue;
  /** How long a tombstone waits between looks, and how many looks it gets. */
  tombstone: { everyMs: number; looks: number };
  clock: () => Date;
}

export type RecoveryResult = { batch: string; kind: LedgerBatch['kind']; state: LedgerBatch['state']; counted: number; withdrawn: number; released: number };

export async function finishBatch(deps: RecoveryDeps, batch: LedgerBatch): Promise<RecoveryResult> {
  const result: RecoveryResult = { batch: batch._id, kind: batch.kind, state: batch.state, counted: 0, withdrawn: 0, released: 0 };
  if (batch.kind !== 'accept') return finishOutcomes(deps, batch, result);
  if (batch.state === 'stored') {
    await deps.batches.close(batch._id);
    return result;
  }
  const messages = batch.messages ?? [];
  // The messages the owner went on to insert (all, unless the quota refused some of them).
  const expected = batch.accepted ? messages.filter((m) => batch.accepted!.includes(m.id)) : messages;
  const present = await deps.queue.presentIds(messages.map((m) => m.id));
  if (batch.state === 'open' && expected.length > 0 && expected.every((m) => present.has(m.id))) {
    return countAccepted(deps, batch, expected, result);
  }
  return finishRefused(deps, { ...batch, state: 'refused' }, present, result);
}

async function countAccepted(deps: RecoveryDeps, batch: LedgerBatch, messages: NonNullable<LedgerBatch['messages']>, result: RecoveryResult) {
  const changes = messages.map((m) => acceptedChange({ id: m.accountId, workspaceId: m.workspaceId }, m.to.length, new Date(m.at)));
  await releaseQuota(deps, batch, messages, result);
  await applyCounterChanges(deps.counters, batch._id, changes);
  await deps.batches.close(batch._id);
  const all = batch.messages ?? [];
  markDone(deps.sweeper, batch._id, changes, workspaceMonths(all), quotaMarkers(batch._id, all.length).slice(1));
  await deps.sweeper.sweep(deps.counters);
  result.counted = messages.length;
  return result;
}

async function finishRefused(deps: RecoveryDeps, batch: LedgerBatch, present: Set<string>, result: RecoveryResult) {
  const messages = batch.messages ?? [];
  const { removed, inDelivery } = present.size ? await deps.queue.withdrawMany([...present]) : { removed: [], inDelivery: [] };
  result.withdrawn = removed.length;
  if (!batch.checks) {
    // Kept: a worker had it before the withdrawal. It is counted, and keeps its quota.
    const kept = messages.filter((m) => inDelivery.includes(m.id));
    await releaseQuota(deps, batch, kept, result);
    const changes = kept.map((m) => acceptedChange({ id: m.accountId, workspaceId: m.workspaceId }, m.to.length, new Date(m.at)));
    await applyCounterChanges(deps.counters, batch._id, changes);
    markDone(deps.sweeper, batch._id, changes, workspaceMonths(messages), quotaMarkers(batch._id, messages.length).slice(1));
    result.counted = kept.length;
  }
  if ((batch.checks ?? 0) + 1 >= deps.tombstone.looks) await deps.batches.close(batch._id);
  else await deps.batches.recheckLater(batch._id, new Date(deps.clock().getTime() + deps.tombstone.everyMs));
  return result;
}

/** Quota: what the batch reserved (whole, or message by message) minus what stays, given back once. */
async function releaseQuota(deps: RecoveryDeps, batch: LedgerBatch, keep: NonNullable<LedgerBatch['messages']>, result: RecoveryResult) {
  const messages = batch.messages ?? [];
  const months = new Map<string, { workspaceId: string; month: string; keep: number; keys: string[] }>();
  messages.forEach((m, i) => {
    const month = monthKey(new Date(m.at));
    const key = workspaceMonthId(m.workspaceId, month);
    const entry = months.get(key) ?? { workspaceId: m.workspaceId, month, keep: 0, keys: [markerKeys.batch(batch._id)] };
    months.set(key, entry);
    entry.keys.push(markerKeys.message(batch._id, i));
  });
  for (const m of keep) months.get(workspaceMonthId(m.workspaceId, monthKey(new Date(m.at))))!.keep += m.to.length;
  for (const e of months.values()) {
    const { markers } = await deps.quota.read(e.workspaceId, e.month);
    const reserved = e.keys.reduce((n, k) => n + (markers[k] ?? 0), 0);
    const releasedBefore = -(markers[markerKeys.release(batch._id)] ?? 0);
    const excess = reserved - releasedBefore - e.keep;
    if (excess > 0) {
      await deps.quota.release(e.workspaceId, e.month, excess, releaseMarker(batch._id));
      result.released += excess;
    }
  }
}

async function finishOutcomes(deps: RecoveryDeps, batch: LedgerBatch, result: RecoveryResult) {
  const entries = batch.outcomes ?? [];
  const notices = batch.notices ?? [];
  const landed = await deps.queue.outcomesLanded([...new Set([...entries.map((o) => o.id), ...notices.map((n) => n.forId)])], batch._id);
  const changes: CounterChange[] = entries.filter((o) => landed.has(o.id)).map((o) => ({ accountId: o.accountId, workspaceId: o.workspaceId, at: new Date(o.at), delta: o.delta }));
  const owed = notices.filter((n) => landed.has(n.forId)).map((n) => n.message);
  if (owed.length) await deps.queue.storeNotices(owed);
  await applyCounterChanges(deps.counters, batch._id, changes);
  await deps.batches.close(batch._id);
  markDone(deps.sweeper, batch._id, changes);
  result.counted = changes.length;
  return result;
}

function workspaceMonths(messages: NonNullable<LedgerBatch['messages']>): string[] {
  return [...new Set(messages.map((m) => workspaceMonthId(m.workspaceId, monthKey(new Date(m.at)))))];
}
