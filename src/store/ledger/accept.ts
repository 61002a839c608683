// The relay's side of the ledger (relay/commit.ts): open a batch of messages, reserve their quota, count them
// once stored, settle or refuse it, and finish it by what the store holds once its calls have settled.
import type { CounterChange } from '../../domain/index.ts';
import type { AcceptedEntry } from './batches.ts';
import type { LedgerContext } from './context.ts';
import { applyCounterChanges, markDone } from './counters.ts';
import { batchMarker, messageMarker, quotaMarkers, workspaceMonthId } from './markers.ts';
import { finishBatch, type RecoveryResult } from './recover.ts';

type Timeout = { timeoutMS?: number };

export function acceptSide(c: LedgerContext) {
  const { batches, quota, holdings } = c;
  return {
    newId: () => batches.newId(),
    async open(batchId: string, entries: AcceptedEntry[], t: Timeout = {}): Promise<void> {
      holdings.hold(batchId);
      await batches.open({ _id: batchId, kind: 'accept', state: 'open', owner: c.owner, createdAt: c.clock(), leaseUntil: c.leaseEnd(), messages: entries }, t);
    },
    /** The whole batch's emails of one workspace month, in one step. */
    reserveWhole: (batchId: string, ws: string, month: string, emails: number, limit: number, t: Timeout = {}) => quota.reserve(ws, month, emails, limit, batchMarker(batchId), t),
    /** One message's emails (`index` in the batch), when the batch did not fit whole. */
    reserveOne: (batchId: string, index: number, ws: string, month: string, emails: number, limit: number, t: Timeout = {}) =>
      quota.reserve(ws, month, emails, limit, messageMarker(batchId, index), t),
    quotaUsed: async (ws: string, month: string, t: Timeout = {}) => (await quota.read(ws, month, t)).sent,
    narrow: (batchId: string, ids: string[], t: Timeout = {}) => batches.narrow(batchId, ids, t),
    count: (batchId: string, changes: readonly CounterChange[], t: Timeout = {}) => applyCounterChanges(c.counters, batchId, changes, c.sweeper, t),
    /** Counted: a notice of new work for other processes' workers, or closed when ours heard already. */
    async settle(batchId: string, s: { changes: CounterChange[]; months: { workspaceId: string; month: string }[]; messages: number; notice: boolean }): Promise<void> {
      if (s.changes.length && s.notice) await batches.setState(batchId, 'stored', c.leaseEnd());
      else await batches.close(batchId);
      holdings.letGo(batchId);
      const months = [...new Set(s.months.map((m) => workspaceMonthId(m.workspaceId, m.month)))];
      markDone(c.sweeper, batchId, s.changes, months, quotaMarkers(batchId, s.messages).slice(1));
    },
    /**
     * The batch's fate once its calls failed: the refusal recorded ('refused': its clients hear 451), unless
     * recovery decided it first, in which case 'counted' when every message of it is stored (recovery counts a
     * batch as accepted only then: its clients hear 250) and 'refused' otherwise (what landed is withdrawn).
     */
    async decide(batchId: string, ids: string[], t: Timeout = {}): Promise<'refused' | 'counted'> {
      if (await batches.refuse(batchId, c.leaseEnd(), t)) return 'refused';
      const present = await c.queue.presentIds(ids);
      return ids.every((id) => present.has(id)) ? 'counted' : 'refused';
    },
    /**
     * How long a relay may wait to learn how an undecided batch ended: a refused batch stays a tombstone for
     * this long, so until then "decided, not refused" can only mean counted as accepted.
     */
    decisionWindowMs: () => c.recovery.tombstone.everyMs * c.recovery.tombstone.looks,
    /** Finishes the batch by its state in the store (after its calls settled); let go of once done. */
    async finish(batchId: string): Promise<RecoveryResult | null> {
      const open = await batches.get(batchId);
      const r = open ? await finishBatch(c.recovery, open) : null;
      holdings.letGo(batchId);
      return r;
    },
    /** Stops holding the batch (the store cannot be reached): recovery finishes it once its lease runs out. */
    abandon: (batchId: string) => holdings.letGo(batchId),
  };
}
