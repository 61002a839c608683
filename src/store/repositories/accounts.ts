import type { Models } from '../models/index.ts';
import type { AccountRepository } from '../../domain/ports.ts';
import type { Account, AccountWithSecret, DeliveryCounters, DisableReason, SurgeSignal } from '../../domain/model.ts';
import type { RateUnit } from '../../domain/rate-limit.ts';
import { accountNameKey } from '../../domain/account-name.ts';
import { accountNameTakenError } from '../../domain/accounts.ts';
import { isDuplicateKeyError } from '../connection.ts';

type AccountRow = {
  _id: { toString(): string };
  workspaceId: string;
  name: string;
  username: string;
  passwordHash?: string;
  credentialVersion: number;
  status: 'active' | 'disabled';
  disabled?: { by?: string | null; at?: Date | null; reason?: string | null; note?: string | null } | null;
  createdAt: Date;
  createdBy: string;
  lastUsedAt?: Date | null;
  counters?: Partial<DeliveryCounters> | null;
  idleSnoozedUntil?: Date | null;
  allowedSenders?: string[] | null;
  rateLimit?: { limit?: number | null; per?: string | null } | null;
  previousPasswordHash?: string | null;
  previousPassword?: { validUntil?: Date | null; credentialVersion?: number | null; lastUsedAt?: Date | null } | null;
  surgeSnoozes?: Partial<Record<SurgeSignal, Date | null>> | null;
  allowedNetworks?: string[] | null;
  passwordChangedAt?: Date | null;
  passwordLeak?: { at?: Date | null; url?: string | null; source?: string | null } | null;
};

/** Every read that is not AUTH leaves the hashes in the database. */
const NO_SECRET = { passwordHash: 0, previousPasswordHash: 0 } as const;
/** What ends a previous password (a rotate without keep, a disable). */
const NO_PREVIOUS = { previousPasswordHash: 1, previousPassword: 1 } as const;
/** A new password is not the leaked one: a rotate clears the mark (and so allows an enable again). */
const rotated = (at: Date | undefined) => (at ? { passwordChangedAt: at } : {});

export function toAccount(row: AccountRow): Account {
  const c = row.counters ?? {};
  const a: Account = {
    id: row._id.toString(),
    workspaceId: row.workspaceId,
    name: row.name,
    username: row.username,
    credentialVersion: row.credentialVersion,
    status: row.status,
    createdAt: row.createdAt,
    createdBy: row.createdBy,
    counters: {
      sent: c.sent ?? 0,
      delivered: c.delivered ?? 0,
      bounced: c.bounced ?? 0,
      deferred: c.deferred ?? 0,
      failed: c.failed ?? 0,
    },
    allowedSenders: [...(row.allowedSenders ?? [])],
  };
  if (row.rateLimit?.limit && row.rateLimit.per) a.rateLimit = { limit: row.rateLimit.limit, per: row.rateLimit.per as RateUnit };
  const prev = row.previousPassword;
  if (prev?.validUntil && typeof prev.credentialVersion === 'number') {
    a.previousPassword = { validUntil: prev.validUntil, credentialVersion: prev.credentialVersion };
    if (prev.lastUsedAt) a.previousPassword.lastUsedAt = prev.lastUsedAt;
  }
  if (row.surgeSnoozes) {
    const snoozes: NonNullable<Account['surgeSnoozes']> = {};
    for (const [k, v] of Object.entries(row.surgeSnoozes)) if (v) snoozes[k as SurgeSignal] = v;
    if (Object.keys(snoozes).length) a.surgeSnoozes = snoozes;
  }
  if (row.allowedNetworks?.length) a.allowedNetworks = [...row.allowedNetworks];
  if (row.passwordChangedAt) a.passwordChangedAt = row.passwordChangedAt;
  if (row.passwordLeak?.at) {
    a.passwordLeak = { at: row.passwordLeak.at };
    if (row.passwordLeak.url) a.passwordLeak.url = row.passwordLeak.url;
    if (row.passwordLeak.source) a.passwordLeak.source = row.passwordLeak.source;
  }
  if (row.lastUsedAt) a.lastUsedAt = row.lastUsedAt;
  if (row.idleSnoozedUntil) a.idleSnoozedUntil = row.idleSnoozedUntil;
  if (row.status === 'disabled' && row.disabled?.at) {
    a.disabled = { by: row.disabled.by ?? 'unknown', at: row.disabled.at, reason: (row.disabled.reason ?? 'other') as DisableReason };
    if (row.disabled.note) a.disabled.note = row.disabled.note;
  }
  return a;
}

const isObjectId = (id: string) => /^[a-f0-9]{24}$/i.test(id);

export function accountRepository(m: Models): AccountRepository {
  const A = m.accounts;
  const updateAndRead = async (id: string, update: Record<string, unknown>) => {
    if (!isObjectId(id)) return null;
    // FerretDB v1 has no projection in findAndModify; toAccount drops the hash anyway.
    const row = await A.findByIdAndUpdate(id, update, { new: true }).lean<AccountRow>();
    return row ? toAccount(row) : null;
  };
  const accountIdOfUsername = new Map<string, string>();
  return {
    async claimUsername(username, workspaceId, at) {
      try {
        await m.usernames.create({ _id: username, workspaceId, claimedAt: at });
        return true;
      } catch (err) {
        if (isDuplicateKeyError(err)) return false;
        throw err;
      }
    },
    async insert(input) {
      try {
        const doc = await A.create({ ...input, nameKey: accountNameKey(input.name), credentialVersion: 1, status: 'active' });
        await m.usernames.updateOne({ _id: input.username }, { $set: { accountId: doc._id.toString() } });
        const { passwordHash: _hash, ...row } = doc.toObject();
        return toAccount(row);
      } catch (err) {
        if (isDuplicateKeyError(err)) throw accountNameTakenError(input.name);
        throw err;
      }
    },
    async findById(id) {
      if (!isObjectId(id)) return null;
      const row = await A.findById(id, NO_SECRET).lean<AccountRow>();
      return row ? toAccount(row) : null;
    },
    async findManyById(ids) {
      const valid = [...new Set(ids.filter(isObjectId))];
      if (!valid.length) return [];
      const rows = await A.find({ _id: { $in: valid } }, NO_SECRET).lean<AccountRow[]>();
      return rows.map(toAccount);
    },
    async findByName(workspaceId, name) {
      const row = await A.findOne({ workspaceId, nameKey: accountNameKey(name) }, NO_SECRET).lean<AccountRow>();
      return row ? toAccount(row) : null;
    },
    async findByUsernameWithSecret(username) {
      // A username belongs to one account for ever (never reused), so which account is safe to remember: an
      // AUTH then costs one read by _id instead of two.
      const known = accountIdOfUsername.get(username);
      if (known) {
        const row = await A.findById(known).lean<AccountRow>();
        return row && row.username === username && row.passwordHash ? { ...toAccount(row), passwordHash: row.passwordHash } : null;
      }
      const claim = await m.usernames.findById(username, { accountId: 1 }).lean<{ accountId?: string }>();
      if (!claim) return null; // never issued
      if (claim.accountId) {
        if (accountIdOfUsername.size >= 10_000) accountIdOfUsername.clear();
        accountIdOfUsername.set(username, claim.accountId);
      }
      // A claim without accountId: the process stopped between claiming and creating; look the slow way.
      const row = claim.accountId ? await A.findById(claim.accountId).lean<AccountRow>() : await A.findOne({ username }).lean<AccountRow>();
      if (row && row.username !== username) return null;
      if (!row || !row.passwordHash) return null;
      const withSecret: AccountWithSecret = { ...toAccount(row), passwordHash: row.passwordHash };
      if (withSecret.previousPassword && row.previousPasswordHash) withSecret.previousPasswordHash = row.previousPasswordHash;
      else delete withSecret.previousPassword;
      return withSecret;
    },
    async listByWorkspace(workspaceId) {
      const rows = await A.find({ workspaceId }, NO_SECRET).lean<AccountRow[]>();
      return rows.map(toAccount);
    },
    countByWorkspace(workspaceId) {
      return A.countDocuments({ workspaceId });
    },
    async setPasswordHash(id, passwordHash, keepPrevious, at) {
      if (!keepPrevious) return updateAndRead(id, { $set: { passwordHash, ...rotated(at) }, $unset: { ...NO_PREVIOUS, passwordLeak: 1 }, $inc: { credentialVersion: 1 } });
      if (!isObjectId(id)) return null;
      // The hash being replaced becomes the previous one: read it, then write only if nothing changed since
      // (same credential version), so a concurrent rotate or disable is never overwritten.
      const current = await A.findById(id, { passwordHash: 1, credentialVersion: 1 }).lean<{ passwordHash?: string; credentialVersion: number }>();
      if (!current?.passwordHash) return null;
      const row = await A.findOneAndUpdate(
        { _id: id, credentialVersion: current.credentialVersion },
        {
          $set: {
            passwordHash,
            previousPasswordHash: current.passwordHash,
            previousPassword: { validUntil: keepPrevious.validUntil, credentialVersion: current.credentialVersion },
            ...rotated(at),
          },
          $unset: { passwordLeak: 1 },
          $inc: { credentialVersion: 1 },
        },
        { new: true },
      ).lean<AccountRow>();
      return row ? toAccount(row) : null;
    },
    setStatus(id, status, disabled) {
      return updateAndRead(
        id,
        disabled
          ? { $set: { status, disabled }, $unset: NO_PREVIOUS, $inc: { credentialVersion: 1 } }
          : { $set: { status }, $unset: { disabled: 1 }, $inc: { credentialVersion: 1 } },
      );
    },
    setSendingPolicy(id, patch) {
      const set: Record<string, unknown> = {};
      const unset: Record<string, 1> = {};
      if (patch.allowedSenders !== undefined) {
        if (patch.allowedSenders === null || patch.allowedSenders.length === 0) unset.allowedSenders = 1;
        else set.allowedSenders = patch.allowedSenders;
      }
      if (patch.rateLimit !== undefined) {
        if (patch.rateLimit === null) unset.rateLimit = 1;
        else set.rateLimit = { limit: patch.rateLimit.limit, per: patch.rateLimit.per };
      }
      const update: Record<string, unknown> = {};
      if (patch.allowedNetworks !== undefined) {
        if (patch.allowedNetworks === null || patch.allowedNetworks.length === 0) unset.allowedNetworks = 1;
        else set.allowedNetworks = patch.allowedNetworks;
        // Where a password is valid is part of the credential: sessions opened under the old networks
        // re-authenticate (the session check sees the new version at MAIL FROM on every instance).
        update.$inc = { credentialVersion: 1 };
      }
      if (Object.keys(set).length) update.$set = set;
      if (Object.keys(unset).length) update.$unset = unset;
      return Object.keys(update).length ? updateAndRead(id, update) : this.findById(id);
    },
    markPasswordLeaked(id, leak) {
      return updateAndRead(id, { $set: { passwordLeak: leak } });
    },
    async markPreviousPasswordUsed(id, at) {
      if (!isObjectId(id)) return;
      await A.updateOne({ _id: id, previousPassword: { $exists: true } }, { $max: { 'previousPassword.lastUsedAt': at } });
    },
    setSurgeSnooze(id, signal, until) {
      return updateAndRead(id, { $set: { [`surgeSnoozes.${signal}`]: until } });
    },
    setIdleSnooze(id, until) {
      return updateAndRead(id, until ? { $set: { idleSnoozedUntil: until } } : { $unset: { idleSnoozedUntil: 1 } });
    },
    async delete(id) {
      if (!isObjectId(id)) return false;
      const res = await A.deleteOne({ _id: id });
      return res.deletedCount === 1;
    },
    async recordAccepted(id, recipients, at) {
      // $max keeps lastUsedAt monotonic when relay instances finish out of order.
      await A.updateOne({ _id: id }, { $inc: { 'counters.sent': recipients }, $max: { lastUsedAt: at } });
    },
    async addCounters(id, delta) {
      const inc: Record<string, number> = {};
      for (const [k, v] of Object.entries(delta)) if (v) inc[`counters.${k}`] = v;
      if (Object.keys(inc).length) await A.updateOne({ _id: id }, { $inc: inc });
    },
  };
}
