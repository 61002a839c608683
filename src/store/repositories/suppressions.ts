import type { Models } from '../models/index.ts';
import { suppressionKey, type Suppression, type SuppressionRepository } from '../../domain/suppressions.ts';

const docId = (workspaceId: string, address: string) => `${workspaceId}:${suppressionKey(address)}`;

interface Row {
  workspaceId: string;
  address: string;
  at: Date;
  source: Suppression['source'];
  reason?: string;
  by?: string;
}

function toSuppression(r: Row): Suppression {
  const s: Suppression = { workspaceId: r.workspaceId, address: r.address, at: r.at, source: r.source, reason: r.reason ?? '' };
  if (r.by) s.by = r.by;
  return s;
}

export function suppressionRepository(m: Models): SuppressionRepository {
  const S = m.suppressions;
  const L = m.suppressionLists;
  // After the entry is written: a cache that reads the new version reloads and sees it.
  const bump = (workspaceId: string) => L.updateOne({ _id: workspaceId }, { $inc: { version: 1 } }, { upsert: true });
  return {
    async upsert(e) {
      const set: Record<string, unknown> = { workspaceId: e.workspaceId, address: e.address, at: e.at, source: e.source, reason: e.reason };
      if (e.by) set.by = e.by;
      await S.updateOne({ _id: docId(e.workspaceId, e.address) }, { $set: set }, { upsert: true });
      await bump(e.workspaceId);
    },
    async remove(workspaceId, address) {
      const r = await S.deleteOne({ _id: docId(workspaceId, address) });
      await bump(workspaceId);
      return r.deletedCount === 1;
    },
    async find(workspaceId, address) {
      const r = await S.findById(docId(workspaceId, address)).lean<Row>();
      return r ? toSuppression(r) : null;
    },
    async list(workspaceId, opts = {}) {
      let q = S.find({ workspaceId }).sort({ at: -1, _id: 1 });
      if (opts.limit) q = q.limit(opts.limit);
      return (await q.lean<Row[]>()).map(toSuppression);
    },
    async version(workspaceId) {
      const r = await L.findById(workspaceId, { version: 1 }).lean<{ version?: number }>();
      return r?.version ?? 0;
    },
  };
}
