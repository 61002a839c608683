import { Schema, type Connection } from 'mongoose';

/**
 * Shared by every relay instance (src/relay/shared-lockouts.ts), one document per key, read and written by _id
 * only:
 *   - "address:<ip>", "pair:<username>|<ip>", "username:<name>": failed AUTHs (failures, windowStart, blockedUntil);
 *   - "network:<accountId>": AUTHs refused for an account's allowed networks (one alert per episode);
 *   - "familiar:<username>|<ip>": the last successful AUTH of that username from that address (lastSuccessAt),
 *     which exempts the address from a username-wide lock for 30 days.
 * `expiresAt` (end of the window, block or familiarity, whichever is later) is for pruning: no TTL index.
 */
export const authLockoutSchema = new Schema(
  {
    _id: { type: String, required: true },
    failures: { type: Number },
    windowStart: { type: Date },
    blockedUntil: { type: Date },
    /** familiar:… documents: who, from where and when (the credential report shows the last client address). */
    username: { type: String },
    address: { type: String },
    lastSuccessAt: { type: Date },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'auth_lockouts', versionKey: false },
);
authLockoutSchema.index({ expiresAt: 1 });
// The credential report: last successful AUTH per username.
authLockoutSchema.index({ username: 1 }, { sparse: true });

export const authLockoutModel = (c: Connection) => c.model('AuthLockout', authLockoutSchema);
