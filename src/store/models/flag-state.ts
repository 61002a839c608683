import { Schema, type Connection } from 'mongoose';

/**
 * The flags a scheduled job raised for one workspace (src/domain/flag-ports.ts FlagState). `_id` is
 * "<kind>:<workspaceId>", so each workspace has one document per kind and every change is one atomic
 * single-document write conditioned on the fingerprint read before (no transactions needed).
 */
export const flagStateSchema = new Schema(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    kind: { type: String, enum: ['idle-accounts', 'plan-limits', 'surge', 'credential-hygiene', 'reputation'], required: true },
    fingerprint: { type: String, default: '' },
    flagged: { type: [String], default: [] },
    raisedAt: { type: Date, default: null },
    updatedAt: { type: Date, required: true },
    alert: {
      pending: { type: Boolean, default: false },
      channel: { type: String },
      ts: { type: String },
      postedAt: { type: Date },
      postedFlagged: { type: [String], default: undefined },
    },
  },
  { collection: 'flag_states', versionKey: false },
);
flagStateSchema.index({ kind: 1, workspaceId: 1 });

export const flagStateModel = (c: Connection) => c.model('FlagState', flagStateSchema);
