import { Schema, type Connection } from 'mongoose';

/**
 * Monthly counters, and daily ones per account ("2026-11-05:day:<accountId>", scope 'account-day', with `day`). `_id` is deterministic ("2026-11:ws:<workspaceId>" or "2026-11:acct:<accountId>") so
 * upserts never race into duplicates. The workspace document's `sent` is the quota reservation; account
 * documents keep their own month when the account is deleted, and the workspace's never goes down.
 */
export const monthlyUsageSchema = new Schema(
  {
    _id: { type: String, required: true },
    scope: { type: String, enum: ['workspace', 'account', 'account-day'], required: true },
    workspaceId: { type: String, required: true },
    accountId: { type: String },
    month: { type: String, required: true },
    /** UTC day (YYYY-MM-DD) of an 'account-day' document. */
    day: { type: String },
    sent: { type: Number, default: 0 },
    delivered: { type: Number, default: 0 },
    bounced: { type: Number, default: 0 },
    deferred: { type: Number, default: 0 },
    failed: { type: Number, default: 0 },
  },
  { collection: 'monthly_usage', versionKey: false },
);
monthlyUsageSchema.index({ workspaceId: 1, month: 1, scope: 1 });

export const monthlyUsageModel = (c: Connection) => c.model('MonthlyUsage', monthlyUsageSchema);
