// Account requests in MongoDB (collection account_requests). A decision is one atomic findOneAndUpdate
// guarded by `status: 'pending'`, so two admins clicking at once on two instances decide it once.
import { mongo } from 'mongoose';
import type { AccountRequest, AccountRequestRepository } from '../../domain/account-request-model.ts';
import type { AuditEntry } from '../../domain/model.ts';
import type { Models } from '../models/index.ts';

type ActorRow = { source: AuditEntry['actor']['source']; id: string; name?: string | null };

interface Row {
  _id: { toString(): string };
  workspaceId: string;
  kind: AccountRequest['kind'];
  accountName: string;
  reason?: string | null;
  force?: boolean | null;
  requestedBy: ActorRow;
  status: AccountRequest['status'];
  createdAt: Date;
  expiresAt: Date;
  decidedBy?: ActorRow | null;
  decidedAt?: Date | null;
  outcome?: string | null;
  card?: { channel?: string | null; ts?: string | null } | null;
}

function actorOf(a: ActorRow): AuditEntry['actor'] {
  return a.name ? { source: a.source, id: a.id, name: a.name } : { source: a.source, id: a.id };
}

/** Null-safe: a field the document lacks (or holds as null) is absent from the record. */
function toRequest(r: Row): AccountRequest {
  const out: AccountRequest = {
    id: r._id.toString(),
    workspaceId: r.workspaceId,
    kind: r.kind,
    accountName: r.accountName,
    requestedBy: actorOf(r.requestedBy),
    status: r.status,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
  };
  if (r.reason) out.reason = r.reason;
  if (r.force) out.force = true;
  if (r.decidedBy) out.decidedBy = actorOf(r.decidedBy);
  if (r.decidedAt) out.decidedAt = r.decidedAt;
  if (r.outcome) out.outcome = r.outcome;
  if (r.card?.channel && r.card.ts) out.card = { channel: r.card.channel, ts: r.card.ts };
  return out;
}

const isId = (id: string) => mongo.ObjectId.isValid(id) && /^[a-f0-9]{24}$/i.test(id);

export function accountRequestRepository(m: Models): AccountRequestRepository {
  const R = m.accountRequests;
  return {
    async insert(input) {
      const doc = await R.create({ ...input, status: 'pending' });
      return toRequest(doc.toObject() as unknown as Row);
    },
    async findById(workspaceId, id) {
      if (!isId(id)) return null;
      const row = await R.findOne({ _id: id, workspaceId }).lean<Row>();
      return row ? toRequest(row) : null;
    },
    async decide(workspaceId, id, change) {
      if (!isId(id)) return null;
      const row = await R.findOneAndUpdate(
        { _id: id, workspaceId, status: 'pending' },
        { $set: { status: change.status, decidedBy: change.by, decidedAt: change.at } },
        { new: true },
      ).lean<Row>();
      return row ? toRequest(row) : null;
    },
    async setOutcome(id, outcome, failed) {
      await R.updateOne({ _id: id }, { $set: failed ? { outcome, status: 'failed' } : { outcome } });
    },
    async setCard(id, card) {
      await R.updateOne({ _id: id }, { $set: { card } });
    },
  };
}
