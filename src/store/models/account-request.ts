import { Schema, type Connection } from 'mongoose';

const actorSchema = new Schema({ source: { type: String, required: true }, id: { type: String, required: true }, name: { type: String } }, { _id: false });

/**
 * An account request (src/domain/account-requests.ts). Read by _id (the id is on the card's buttons) and
 * decided with one atomic findOneAndUpdate guarded by `status: 'pending'`: the compare-and-set that makes a
 * decision happen once across instances. No TTL index (FerretDB has none): expiry is checked on decision.
 */
export const accountRequestSchema = new Schema(
  {
    workspaceId: { type: String, required: true },
    kind: { type: String, enum: ['create', 'delete'], required: true },
    accountName: { type: String, required: true },
    reason: { type: String },
    force: { type: Boolean },
    requestedBy: { type: actorSchema, required: true },
    status: { type: String, enum: ['pending', 'approved', 'denied', 'expired', 'failed'], required: true, default: 'pending' },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    decidedBy: { type: actorSchema },
    decidedAt: { type: Date },
    outcome: { type: String },
    card: { type: new Schema({ channel: String, ts: String }, { _id: false }) },
  },
  { collection: 'account_requests', versionKey: false },
);
// A workspace's pending requests, newest first (for a listing; decisions go by _id).
accountRequestSchema.index({ workspaceId: 1, status: 1, createdAt: -1 });

export const accountRequestModel = (c: Connection) => c.model('AccountRequest', accountRequestSchema);
