import type { Models } from '../models/index.ts';
import type { DkimKey, SendingDomain, SendingDomainRepository } from '../../domain/dkim-model.ts';
import { domainExistsError } from '../../domain/dkim.ts';
import { isDuplicateKeyError } from '../connection.ts';

interface Row {
  _id: string;
  workspaceId: string;
  keys: DkimKey[];
  createdAt: Date;
  createdBy: string;
  lastVerifiedAt?: Date;
}

function toDomain(r: Row): SendingDomain {
  const d: SendingDomain = {
    domain: r._id,
    workspaceId: r.workspaceId,
    keys: (r.keys ?? []).map((k) => {
      const key: DkimKey = { selector: k.selector, state: k.state, publicKey: k.publicKey, sealedPrivateKey: k.sealedPrivateKey, createdAt: k.createdAt };
      if (k.activatedAt) key.activatedAt = k.activatedAt;
      return key;
    }),
    createdAt: r.createdAt,
    createdBy: r.createdBy,
  };
  if (r.lastVerifiedAt) d.lastVerifiedAt = r.lastVerifiedAt;
  return d;
}

export function sendingDomainRepository(m: Models): SendingDomainRepository {
  const D = m.dkimDomains;
  return {
    async insert(d) {
      try {
        await D.create({ _id: d.domain, workspaceId: d.workspaceId, keys: d.keys, createdAt: d.createdAt, createdBy: d.createdBy });
      } catch (err) {
        if (isDuplicateKeyError(err)) throw domainExistsError(d.domain);
        throw err;
      }
    },
    async findByName(domain) {
      const r = await D.findById(domain).lean<Row>();
      return r ? toDomain(r) : null;
    },
    async findByNames(domains) {
      if (!domains.length) return [];
      const rows = await D.find({ _id: { $in: [...domains] } }).lean<Row[]>();
      return rows.map(toDomain);
    },
    async listByWorkspace(workspaceId) {
      const rows = await D.find({ workspaceId }).lean<Row[]>();
      return rows.map(toDomain);
    },
    async setKeys(domain, keys, lastVerifiedAt) {
      const set: Record<string, unknown> = { keys };
      if (lastVerifiedAt) set.lastVerifiedAt = lastVerifiedAt;
      const r = await D.findOneAndUpdate({ _id: domain }, { $set: set }, { new: true }).lean<Row>();
      return r ? toDomain(r) : null;
    },
    async delete(domain) {
      const r = await D.deleteOne({ _id: domain });
      return r.deletedCount === 1;
    },
    async any() {
      return (await D.findOne({}, { _id: 1 }).lean()) !== null;
    },
  };
}
