import type { Models } from '../models/index.ts';
import type { AuditRepository } from '../../domain/ports.ts';
import type { AuditEntry } from '../../domain/model.ts';

export function auditRepository(m: Models): AuditRepository {
  const E = m.auditEvents;
  return {
    async append(entry) {
      await E.create(entry);
    },
    async list(workspaceId, { accountId, limit }) {
      const filter: Record<string, unknown> = { workspaceId };
      if (accountId) filter.accountId = accountId;
      const rows = await E.find(filter).sort({ at: -1, _id: -1 }).limit(limit).lean<(AuditEntry & { _id: { toString(): string } })[]>();
      return rows.map(({ _id, ...r }) => ({ ...r, id: _id.toString() }));
    },
  };
}
