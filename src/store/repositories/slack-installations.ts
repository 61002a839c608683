// Slack installations (OAuth distribution) in MongoDB, collection slack_installations, read by _id only.
// The installation is opaque here (sealed by the caller); the refresh lease is one compare-and-set.
import type { Models } from '../models/index.ts';

export interface StoredInstallation {
  key: string;
  teamId?: string;
  enterpriseId?: string;
  isEnterpriseInstall: boolean;
  sealed: string;
  botExpiresAt?: Date;
  installedAt: Date;
  updatedAt: Date;
}

interface Row {
  _id: string;
  teamId?: string | null;
  enterpriseId?: string | null;
  isEnterpriseInstall?: boolean | null;
  sealed: string;
  botExpiresAt?: Date | null;
  installedAt: Date;
  updatedAt: Date;
}

function toStored(r: Row): StoredInstallation {
  const s: StoredInstallation = { key: r._id, isEnterpriseInstall: r.isEnterpriseInstall === true, sealed: r.sealed, installedAt: r.installedAt, updatedAt: r.updatedAt };
  if (r.teamId) s.teamId = r.teamId;
  if (r.enterpriseId) s.enterpriseId = r.enterpriseId;
  if (r.botExpiresAt) s.botExpiresAt = r.botExpiresAt;
  return s;
}

export interface SlackInstallationRepository {
  /** Inserts or replaces (a re-install keeps its first installedAt). */
  save(rec: Omit<StoredInstallation, 'installedAt' | 'updatedAt'>, at: Date): Promise<void>;
  find(key: string): Promise<StoredInstallation | null>;
  delete(key: string): Promise<boolean>;
  /** Takes the refresh lease of `key` if nobody holds it (or it lapsed); false otherwise. */
  leaseRefresh(key: string, owner: string, now: Date, leaseMs: number): Promise<boolean>;
  /** Stores the refreshed installation and frees the lease, only if `owner` still holds it. */
  finishRefresh(key: string, owner: string, sealed: string, botExpiresAt: Date | undefined, at: Date): Promise<boolean>;
  releaseRefresh(key: string, owner: string): Promise<void>;
}

export function slackInstallationRepository(m: Models): SlackInstallationRepository {
  const I = m.slackInstallations;
  return {
    async save(rec, at) {
      const set: Record<string, unknown> = { isEnterpriseInstall: rec.isEnterpriseInstall, sealed: rec.sealed, updatedAt: at };
      const unset: Record<string, 1> = {};
      for (const k of ['teamId', 'enterpriseId', 'botExpiresAt'] as const) {
        if (rec[k] !== undefined) set[k] = rec[k];
        else unset[k] = 1;
      }
      const update: Record<string, unknown> = { $set: set, $setOnInsert: { installedAt: at } };
      if (Object.keys(unset).length) update.$unset = unset;
      await I.updateOne({ _id: rec.key }, update, { upsert: true });
    },
    async find(key) {
      const row = await I.findById(key).lean<Row>();
      return row ? toStored(row) : null;
    },
    async delete(key) {
      return (await I.deleteOne({ _id: key })).deletedCount === 1;
    },
    async leaseRefresh(key, owner, now, leaseMs) {
      const row = await I.findOneAndUpdate(
        { _id: key, $or: [{ refreshUntil: null }, { refreshUntil: { $lte: now } }] },
        { $set: { refreshOwner: owner, refreshUntil: new Date(now.getTime() + leaseMs) } },
        { new: true },
      ).lean();
      return row !== null;
    },
    async finishRefresh(key, owner, sealed, botExpiresAt, at) {
      const set: Record<string, unknown> = { sealed, updatedAt: at };
      if (botExpiresAt) set.botExpiresAt = botExpiresAt;
      const res = await I.updateOne({ _id: key, refreshOwner: owner }, { $set: set, $unset: { refreshOwner: 1, refreshUntil: 1 } });
      return res.matchedCount === 1;
    },
    async releaseRefresh(key, owner) {
      await I.updateOne({ _id: key, refreshOwner: owner }, { $unset: { refreshOwner: 1, refreshUntil: 1 } });
    },
  };
}
