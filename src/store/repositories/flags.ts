import type { Models } from '../models/index.ts';
import type { FlagAlert, FlagRepository, FlagState } from '../../domain/flag-ports.ts';
import type { FlagKind } from '../../domain/flags.ts';
import { isDuplicateKeyError } from '../connection.ts';
import { toAccount } from './accounts.ts';

type AccountRow = Parameters<typeof toAccount>[0];

type FlagStateRow = {
  _id: string;
  workspaceId: string;
  kind: FlagKind;
  fingerprint?: string | null;
  flagged?: string[] | null;
  raisedAt?: Date | null;
  updatedAt: Date;
  alert?: { pending?: boolean | null; channel?: string | null; ts?: string | null; postedAt?: Date | null; postedFlagged?: string[] | null } | null;
};

const stateId = (kind: FlagKind, workspaceId: string) => `${kind}:${workspaceId}`;

/**
 * The idle scan's filter: no send since `cutoff`, or never sent and created before it. Both branches are
 * served by the { lastUsedAt: 1, createdAt: 1 } index (lastUsedAt null is an equality on the first key).
 */
export function idleCandidateFilter(cutoff: Date, workspaceId?: string): Record<string, unknown> {
  const filter: Record<string, unknown> = {
    $or: [{ lastUsedAt: { $lte: cutoff } }, { lastUsedAt: null, createdAt: { $lte: cutoff } }],
  };
  if (workspaceId) filter.workspaceId = workspaceId;
  return filter;
}

/** Every field but the password hash. */
export const IDLE_CANDIDATE_PROJECTION = { passwordHash: 0 } as const;

function toFlagState(row: FlagStateRow): FlagState {
  const alert: FlagAlert = { pending: row.alert?.pending ?? false };
  if (row.alert?.channel) alert.channel = row.alert.channel;
  if (row.alert?.ts) alert.ts = row.alert.ts;
  if (row.alert?.postedAt) alert.postedAt = row.alert.postedAt;
  if (row.alert?.postedFlagged) alert.postedFlagged = [...row.alert.postedFlagged];
  return {
    workspaceId: row.workspaceId,
    kind: row.kind,
    fingerprint: row.fingerprint ?? '',
    flagged: [...(row.flagged ?? [])],
    raisedAt: row.raisedAt ?? null,
    updatedAt: row.updatedAt,
    alert,
  };
}

function alertFields(alert: FlagAlert): Record<string, unknown> {
  const out: Record<string, unknown> = { pending: alert.pending };
  if (alert.channel) out.channel = alert.channel;
  if (alert.ts) out.ts = alert.ts;
  if (alert.postedAt) out.postedAt = alert.postedAt;
  if (alert.postedFlagged) out.postedFlagged = alert.postedFlagged;
  return out;
}

export function flagRepository(m: Models): FlagRepository {
  const F = m.flagStates;
  return {
    async idleCandidates(cutoff, workspaceId) {
      const rows = await m.accounts.find(idleCandidateFilter(cutoff, workspaceId), IDLE_CANDIDATE_PROJECTION).lean<AccountRow[]>();
      return rows.map(toAccount);
    },
    async accountsOfWorkspaces(workspaceIds) {
      if (workspaceIds.length === 0) return [];
      const rows = await m.accounts.find({ workspaceId: { $in: workspaceIds } }, IDLE_CANDIDATE_PROJECTION).lean<AccountRow[]>();
      return rows.map(toAccount);
    },
    async get(workspaceId, kind) {
      const row = await F.findById(stateId(kind, workspaceId)).lean<FlagStateRow>();
      return row ? toFlagState(row) : null;
    },
    async list(kind, workspaceId) {
      const filter: Record<string, unknown> = { kind };
      if (workspaceId) filter.workspaceId = workspaceId;
      const rows = await F.find(filter).lean<FlagStateRow[]>();
      return rows.map(toFlagState);
    },
    async replace(expected, next) {
      const _id = stateId(next.kind, next.workspaceId);
      const doc = { ...next, alert: alertFields(next.alert) };
      if (expected === null) {
        try {
          await F.create({ _id, ...doc });
          return true;
        } catch (err) {
          if (isDuplicateKeyError(err)) return false;
          throw err;
        }
      }
      const res = await F.updateOne({ _id, fingerprint: expected }, { $set: doc });
      return res.matchedCount === 1;
    },
    async claimPendingAlert(workspaceId, kind, fingerprint) {
      const res = await F.updateOne({ _id: stateId(kind, workspaceId), fingerprint, 'alert.pending': true }, { $set: { 'alert.pending': false } });
      return res.matchedCount === 1;
    },
    async recordAlert(workspaceId, kind, fingerprint, alert) {
      await F.updateOne({ _id: stateId(kind, workspaceId), fingerprint }, { $set: { alert: alertFields(alert) } });
    },
  };
}
