import { Schema, type Connection } from 'mongoose';

/**
 * One suppressed address of a workspace. `_id` is "<workspaceId>:<lower-cased address>", so adding the same
 * address twice is one upsert and a removal is one delete by _id.
 */
export const suppressionSchema = new Schema(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    address: { type: String, required: true },
    at: { type: Date, required: true },
    /** 'bounce' (the receiving server's permanent answer) or 'manual' (someone added it). */
    source: { type: String, enum: ['bounce', 'complaint', 'manual'], required: true },
    /** The receiving server's answer, or the note given when added by hand. */
    reason: { type: String, default: '' },
    by: { type: String },
  },
  { collection: 'suppressions', versionKey: false },
);

/**
 * Per workspace: a version bumped by every add and removal. Relays read this one small document (by _id)
 * when their cached list is older than SUPPRESSION_CACHE_SECONDS, and reload the list only when it moved.
 */
export const suppressionListSchema = new Schema(
  {
    _id: { type: String, required: true },
    version: { type: Number, required: true, default: 0 },
  },
  { collection: 'suppression_lists', versionKey: false },
);

export const suppressionModel = (c: Connection) => c.model('Suppression', suppressionSchema);
export const suppressionListModel = (c: Connection) => c.model('SuppressionList', suppressionListSchema);
