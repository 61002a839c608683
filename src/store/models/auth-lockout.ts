import { Schema, type Connection } from 'mongoose';

/**
 * Failed AUTHs of one client address or one username, shared by every relay instance (src/relay/shared-lockouts.ts).
 * `_id` is "address:<ip>" or "username:<name>", so each is read and written by _id only. `expiresAt` (end of the
 * window or of the block, whichever is later) is for pruning: no TTL index.
 */
export const authLockoutSchema = new Schema(
  {
    _id: { type: String, required: true },
    failures: { type: Number, required: true, default: 0 },
    windowStart: { type: Date, required: true },
    blockedUntil: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'auth_lockouts', versionKey: false },
);
authLockoutSchema.index({ expiresAt: 1 });

export const authLockoutModel = (c: Connection) => c.model('AuthLockout', authLockoutSchema);
