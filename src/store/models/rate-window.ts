import { Schema, type Connection } from 'mongoose';

/**
 * Recipients an account sent in one fixed rate-limit window (src/domain/rate-limit.ts). `_id` is
 * "<accountId>:<window start ISO>", so every relay instance counts in the same document with one atomic,
 * conditional $inc, read and written by _id only. `expiresAt` (the window's end) is for pruning: no TTL index.
 */
export const rateWindowSchema = new Schema(
  {
    _id: { type: String, required: true },
    count: { type: Number, required: true, default: 0 },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'rate_windows', versionKey: false },
);
rateWindowSchema.index({ expiresAt: 1 });

export const rateWindowModel = (c: Connection) => c.model('RateWindow', rateWindowSchema);
