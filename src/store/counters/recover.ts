// Finishing a counter batch that its process left open (killed, or the store failed under it). Whatever
// happened before, the counters end equal to what the queue holds: the messages of the batch that exist are
// counted (each document at most once, by its marker), quota reserved for messages that do not exist is
// given back, and messages whose senders were told 451 are withdrawn first unless a worker already has them.
import { acceptedChange, monthKey, type CounterChange } from '../../domain/index.ts';
import type { CounterBatch, CounterBatches } from './batches.ts';
import type { QuotaCounters } from './quota.ts';
import { applyCounterChanges, markDone, marker, workspaceMonthId, type CounterCollections, type MarkerSweeper } from './targets.ts';

export interface RecoveryDeps {
  batches: CounterBatches;
  quota: QuotaCounters;
  counters: CounterCollections;
  sweeper: MarkerSweeper;
  queue: {
    withdraw(id: string): Promise<'removed' | 'absent' | 'in_delivery'>;
    exists(id: string): Promise<boolean>;
    outcomeLanded(id: string, batchId: string): Promise<boolean>;
  };
}

export type RecoveryResult = { batch: string; kind: CounterBatch['kind']; counted: number; withdrawn: number; released: number };

export async function finishBatch(deps: RecoveryDeps, batch: CounterBatch): Promise<RecoveryResult> {
  const result: RecoveryResult = { batch: batch._id, kind: batch.kind, counted: 0, withdrawn: 0, released: 0 };
  if (batch.kind === 'outcome') {
    const changes: CounterChange[] = [];
    for (const o of batch.outcomes ?? []) {
      if (await deps.queue.outcomeLanded(o.id, batch._id)) changes.push({ accountId: o.accountId, workspaceId: o.workspaceId, at: new Date(o.at), delta: o.delta });
    }
    await applyCounterChanges(deps.counters, batch._id, changes);
    await deps.batches.close(batch._id);
    markDone(deps.sweeper, batch._id, changes);
    result.counted = changes.length;
    return result;
  }
  if (batch.state === 'stored') {
    // Counted already; only the notice was never taken (no worker ran, or it died): workers find these
    // messages by their due time anyway.
    await deps.batches.close(batch._id);
    return result;
  }
  const messages = batch.messages ?? [];
  const present: typeof messages = [];
  for (const m of messages) {
    if (batch.state === 'refused') {
      const outcome = await deps.queue.withdraw(m.id);
      if (outcome === 'removed') result.withdrawn++;
      if (outcome !== 'in_delivery') continue;
    }
    if (await deps.queue.exists(m.id)) present.push(m);
  }
  // Quota: what the batch reserved (its own marker, and each message reserved on its own) minus what stays.
  const months = new Map<string, { workspaceId: string; month: string; keep: number; fields: string[] }>();
  // A batch that did not fit reserved message by message, each under "<batch>m<index>".
  messages.forEach((m, i) => {
    const month = monthKey(new Date(m.at));
    const key = workspaceMonthId(m.workspaceId, month);
    const entry = months.get(key) ?? { workspaceId: m.workspaceId, month, keep: 0, fields: [batch._id] };
    months.set(key, entry);
    entry.fields.push(`${batch._id}m${i}`);
  });
  for (const m of present) months.get(workspaceMonthId(m.workspaceId, monthKey(new Date(m.at))))!.keep += m.recipients;
  for (const e of months.values()) {
    const { markers } = await deps.quota.read(e.workspaceId, e.month);
    const reserved = [...new Set(e.fields)].reduce((n, f) => n + (markers[f] ?? 0), 0);
    const releasedBefore = -(markers[`${batch._id}r`] ?? 0);
    const excess = reserved - releasedBefore - e.keep;
    if (excess > 0) {
      await deps.quota.release(e.workspaceId, e.month, excess, `${marker(batch._id)}r`);
      result.released += excess;
    }
  }
  const changes = present.map((m) => acceptedChange({ id: m.accountId, workspaceId: m.workspaceId }, m.recipients, new Date(m.at)));
  await applyCounterChanges(deps.counters, batch._id, changes);
  await deps.batches.close(batch._id);
  const extra = messages.map((_, i) => marker(`${batch._id}m${i}`)).concat(`${marker(batch._id)}r`);
  markDone(deps.sweeper, batch._id, changes, [...months.keys()], extra);
  await deps.sweeper.sweep(deps.counters);
  result.counted = present.length;
  return result;
}
