// Applying a batch of counter changes to the counter documents: the account (all-time counters, last used),
// its month and its day (monthly_usage), and the workspace's month (the quota). One bulk write per
// collection. Each update is conditioned on the batch's marker `cb.<batchId>` not being on that document
// yet and sets it in the same atomic step, so a batch applied twice (a crash, then recovery) counts once.
//
// Markers are taken off again once their batch can no longer be recovered (markDone): the unset rides on
// the next update of the same document (no extra command under load), or on a sweep after a while.
import { mongo } from 'mongoose';
import { dayKey, monthKey, type CounterChange } from '../../domain/index.ts';
import type { Models } from '../models/index.ts';
import { accountDayId, accountMonthId, batchMarker } from './markers.ts';

type Doc = mongo.Document;
type Coll = mongo.Collection<Doc>;
type AnyBulkOp = mongo.AnyBulkWriteOperation<Doc>;

export interface CounterCollections {
  accounts: Coll;
  usage: Coll;
}

export function counterCollections(models: Models): CounterCollections {
  return { accounts: models.accounts.collection, usage: models.monthlyUsage.collection };
}

interface Merged {
  accountId: string;
  workspaceId: string;
  inc: Record<string, number>;
  lastUsedAt?: Date;
}

/** Markers waiting to be taken off, per collection and document. */
export class MarkerSweeper {
  private readonly pending = { accounts: new Map<string, string[]>(), usage: new Map<string, string[]>() };

  add(coll: keyof CounterCollections, docId: string, fields: string[]): void {
    const cur = this.pending[coll].get(docId);
    if (cur) cur.push(...fields);
    else this.pending[coll].set(docId, [...fields]);
  }

  /** The $unset for a document about to be updated anyway (and forgets it). */
  take(coll: keyof CounterCollections, docId: string): Record<string, ''> | undefined {
    const fields = this.pending[coll].get(docId);
    if (!fields) return undefined;
    this.pending[coll].delete(docId);
    return Object.fromEntries(fields.map((f) => [f, '']));
  }

  size(): number {
    return this.pending.accounts.size + this.pending.usage.size;
  }

  /** Takes every waiting marker off in one bulk write per collection. */
  async sweep(c: CounterCollections): Promise<void> {
    for (const coll of ['accounts', 'usage'] as const) {
      const entries = [...this.pending[coll].entries()];
      if (!entries.length) continue;
      this.pending[coll].clear();
      const ops = entries.map(([id, fields]) => ({
        updateOne: { filter: { _id: docKey(coll, id) }, update: { $unset: Object.fromEntries(fields.map((f) => [f, ''])) } },
      }));
      try {
        await c[coll].bulkWrite(ops as unknown as AnyBulkOp[], { ordered: false });
      } catch {
        for (const [id, fields] of entries) this.add(coll, id, fields);
      }
    }
  }
}

function docKey(coll: keyof CounterCollections, id: string): unknown {
  return coll === 'accounts' && mongo.ObjectId.isValid(id) && id.length === 24 ? new mongo.ObjectId(id) : id;
}

function merge(changes: readonly CounterChange[]) {
  const accounts = new Map<string, Merged>();
  const usage = new Map<string, { setOnInsert: Record<string, unknown>; inc: Record<string, number> }>();
  const add = (into: Record<string, number>, key: string, v: number | undefined) => {
    if (v) into[key] = (into[key] ?? 0) + v;
  };
  for (const ch of changes) {
    const a = accounts.get(ch.accountId) ?? { accountId: ch.accountId, workspaceId: ch.workspaceId, inc: {} };
    accounts.set(ch.accountId, a);
    for (const [k, v] of Object.entries(ch.delta)) add(a.inc, `counters.${k}`, v);
    if (ch.used && (!a.lastUsedAt || a.lastUsedAt < ch.at)) a.lastUsedAt = ch.at;
    const month = monthKey(ch.at);
    const day = dayKey(ch.at);
    for (const [id, setOnInsert] of [
      [accountMonthId(ch.accountId, month), { scope: 'account', workspaceId: ch.workspaceId, accountId: ch.accountId, month }],
      [accountDayId(ch.accountId, day), { scope: 'account-day', workspaceId: ch.workspaceId, accountId: ch.accountId, month, day }],
    ] as const) {
      const u = usage.get(id) ?? { setOnInsert, inc: {} };
      usage.set(id, u);
      for (const [k, v] of Object.entries(ch.delta)) add(u.inc, k, v);
    }
  }
  return { accounts, usage };
}

/**
 * Applies the batch's changes at most once per document. Resolves when every document has it (now or
 * before); throws when the store failed (the caller's batch stays open for recovery).
 */
export async function applyCounterChanges(
  c: CounterCollections,
  batchId: string,
  changes: readonly CounterChange[],
  sweeper?: MarkerSweeper,
  t: { timeoutMS?: number } = {},
): Promise<void> {
  const { accounts, usage } = merge(changes);
  const m = batchMarker(batchId);
  const accountOps: AnyBulkOp[] = [];
  for (const a of accounts.values()) {
    if (!Object.keys(a.inc).length && !a.lastUsedAt) continue;
    const update: Doc = { $set: { [m]: 1 } };
    if (Object.keys(a.inc).length) update.$inc = a.inc;
    if (a.lastUsedAt) update.$max = { lastUsedAt: a.lastUsedAt };
    const unset = sweeper?.take('accounts', a.accountId);
    if (unset) update.$unset = unset;
    if (!mongo.ObjectId.isValid(a.accountId)) continue;
    accountOps.push({ updateOne: { filter: { _id: new mongo.ObjectId(a.accountId), [m]: { $exists: false } }, update } });
  }
  const usageOps: { id: string; op: Doc }[] = [];
  for (const [id, u] of usage) {
    if (!Object.keys(u.inc).length) continue;
    const update: Doc = { $inc: u.inc, $set: { [m]: 1 }, $setOnInsert: u.setOnInsert };
    const unset = sweeper?.take('usage', id);
    if (unset) update.$unset = unset;
    usageOps.push({ id, op: update });
  }
  await Promise.all([accountOps.length ? c.accounts.bulkWrite(accountOps, { ordered: false, ...t }) : null, usageOps.length ? upsertOnce(c.usage, m, usageOps, t) : null]);
}

/**
 * Upserts conditioned on the marker's absence. An upsert whose filter does not match an existing document
 * (the marker is there: applied before) tries to insert and meets a duplicate key; so can the loser of two
 * first upserts of a new month. A plain conditional update of those tells the two apart.
 */
async function upsertOnce(coll: Coll, m: string, ops: { id: string; op: Doc }[], t: { timeoutMS?: number }): Promise<void> {
  const bulk = ops.map(({ id, op }) => ({ updateOne: { filter: { _id: id, [m]: { $exists: false } }, update: op, upsert: true } }));
  try {
    await coll.bulkWrite(bulk as unknown as AnyBulkOp[], { ordered: false, ...t });
  } catch (err) {
    const duplicates = bulkErrors(err).filter((e) => e.code === 11000);
    if (!duplicates.length || duplicates.length !== bulkErrors(err).length) throw err;
    await coll.bulkWrite(
      duplicates.map(({ index }) => {
        const { id, op } = ops[index]!;
        const { $setOnInsert: _, ...update } = op;
        return { updateOne: { filter: { _id: id, [m]: { $exists: false } }, update } };
      }) as unknown as AnyBulkOp[],
      { ordered: false },
    );
  }
}

/** The per-operation errors of a failed bulk write (index into the ops, error code). */
function bulkErrors(err: unknown): { index: number; code: number }[] {
  const raw = (err as { writeErrors?: unknown }).writeErrors;
  const list = (Array.isArray(raw) ? raw : raw ? [raw] : []) as { index?: number; code?: number }[];
  return list.filter((e) => typeof e.index === 'number').map((e) => ({ index: e.index!, code: e.code ?? 0 }));
}

/** Queues the batch's markers to be taken off the documents it touched (after it can no longer be recovered). */
export function markDone(sweeper: MarkerSweeper, batchId: string, changes: readonly CounterChange[], workspaceMonths: string[] = [], extraFields: string[] = []): void {
  const fields = [batchMarker(batchId), ...extraFields];
  const { accounts, usage } = merge(changes);

  for (const id of accounts.keys()) sweeper.add('accounts', id, [batchMarker(batchId)]);
  for (const id of usage.keys()) sweeper.add('usage', id, [batchMarker(batchId)]);
  for (const id of workspaceMonths) sweeper.add('usage', id, fields);
}
