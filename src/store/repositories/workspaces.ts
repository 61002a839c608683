import type { Models } from '../models/index.ts';
import type { NewWorkspace, WorkspacePatch, WorkspaceRepository } from '../../domain/ports.ts';
import type { Workspace } from '../../domain/model.ts';
import { DomainError } from '../../domain/errors.ts';
import { isDuplicateKeyError } from '../connection.ts';

type WorkspaceRow = {
  _id: { toString(): string };
  name: string;
  slackTeamId?: string | null;
  planId: string;
  alertChannel?: string | null;
  roles?: { admins?: string[]; responders?: string[]; adminGroup?: string | null; responderGroup?: string | null } | null;
  slotsUsed?: number | null;
  surgeAutoDisable?: boolean | null;
  credentialPolicy?: { onLeak?: string | null; maxPasswordAgeDays?: number | null; unusedAfterDays?: number | null } | null;
  approvalsChannel?: string | null;
  deleteNeedsApproval?: boolean | null;
  reputation?: Workspace['reputation'] | null;
  createdAt: Date;
};

export function toWorkspace(row: WorkspaceRow): Workspace {
  const ws: Workspace = {
    id: row._id.toString(),
    name: row.name,
    planId: row.planId,
    roles: {
      admins: [...(row.roles?.admins ?? [])],
      responders: [...(row.roles?.responders ?? [])],
    },
    slotsUsed: row.slotsUsed ?? 0,
    createdAt: row.createdAt,
  };
  if (row.slackTeamId) ws.slackTeamId = row.slackTeamId;
  if (row.alertChannel) ws.alertChannel = row.alertChannel;
  if (row.roles?.adminGroup) ws.roles.adminGroup = row.roles.adminGroup;
  if (row.roles?.responderGroup) ws.roles.responderGroup = row.roles.responderGroup;
  if (row.surgeAutoDisable) ws.surgeAutoDisable = true;
  const cp = row.credentialPolicy;
  if (cp && (cp.onLeak || cp.maxPasswordAgeDays || cp.unusedAfterDays)) {
    ws.credentialPolicy = {};
    if (cp.onLeak === 'disable' || cp.onLeak === 'rotate') ws.credentialPolicy.onLeak = cp.onLeak;
    if (cp.maxPasswordAgeDays) ws.credentialPolicy.maxPasswordAgeDays = cp.maxPasswordAgeDays;
    if (cp.unusedAfterDays) ws.credentialPolicy.unusedAfterDays = cp.unusedAfterDays;
  }
  if (row.approvalsChannel) ws.approvalsChannel = row.approvalsChannel;
  if (row.deleteNeedsApproval) ws.deleteNeedsApproval = true;
  if (row.reputation && Object.keys(row.reputation).length) ws.reputation = { ...row.reputation };
  return ws;
}

const isObjectId = (id: string) => /^[a-f0-9]{24}$/i.test(id);

export function workspaceRepository(m: Models): WorkspaceRepository {
  const W = m.workspaces;
  return {
    async create(input: NewWorkspace) {
      try {
        const doc = await W.create({ ...input, nameKey: input.name.toLowerCase(), slotsUsed: 0, roles: { admins: [], responders: [] } });
        return toWorkspace(doc.toObject());
      } catch (err) {
        if (isDuplicateKeyError(err)) {
          throw new DomainError('WORKSPACE.EXISTS', `A workspace named "${input.name}" (or for that Slack team) already exists.`, {
            name: input.name,
          });
        }
        throw err;
      }
    },
    async findById(id) {
      if (!isObjectId(id)) return null;
      const row = await W.findById(id).lean<WorkspaceRow>();
      return row ? toWorkspace(row) : null;
    },
    async findByName(name) {
      const row = await W.findOne({ nameKey: name.trim().toLowerCase() }).lean<WorkspaceRow>();
      return row ? toWorkspace(row) : null;
    },
    async findBySlackTeam(teamId) {
      const row = await W.findOne({ slackTeamId: teamId }).lean<WorkspaceRow>();
      return row ? toWorkspace(row) : null;
    },
    async list() {
      const rows = await W.find().sort({ createdAt: 1 }).lean<WorkspaceRow[]>();
      return rows.map(toWorkspace);
    },
    async update(id, patch: WorkspacePatch) {
      const set: Record<string, unknown> = {};
      const unset: Record<string, 1> = {};
      for (const [k, v] of Object.entries(patch)) {
        if (v === undefined) unset[k] = 1;
        else set[k] = v;
      }
      if (patch.name) set.nameKey = patch.name.toLowerCase();
      // Only unset fields the caller named explicitly.
      for (const k of Object.keys(unset)) if (!(k in patch)) delete unset[k];
      const update: Record<string, unknown> = {};
      if (Object.keys(set).length) update.$set = set;
      if (Object.keys(unset).length) update.$unset = unset;
      if (!Object.keys(update).length) return this.findById(id);
      const row = await W.findByIdAndUpdate(id, update, { new: true }).lean<WorkspaceRow>();
      return row ? toWorkspace(row) : null;
    },
    async takeSlot(id, limit) {
      const row = await W.findOneAndUpdate({ _id: id, slotsUsed: { $lt: limit } }, { $inc: { slotsUsed: 1 } }, { new: true }).lean();
      return row !== null;
    },
    async releaseSlot(id) {
      await W.updateOne({ _id: id, slotsUsed: { $gt: 0 } }, { $inc: { slotsUsed: -1 } });
    },
  };
}
