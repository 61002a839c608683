import { Schema, type Connection, type InferSchemaType } from 'mongoose';

const counters = {
  sent: { type: Number, default: 0 },
  delivered: { type: Number, default: 0 },
  bounced: { type: Number, default: 0 },
  deferred: { type: Number, default: 0 },
  failed: { type: Number, default: 0 },
};

export const accountSchema = new Schema(
  {
    workspaceId: { type: String, required: true },
    name: { type: String, required: true },
    /** Lower-cased name: names are unique in a workspace ignoring case. */
    nameKey: { type: String, required: true },
    username: { type: String, required: true },
    passwordHash: { type: String, required: true },
    credentialVersion: { type: Number, required: true, default: 1 },
    status: { type: String, enum: ['active', 'disabled'], required: true, default: 'active' },
    disabled: {
      type: new Schema({ by: String, at: Date, reason: String, note: String }, { _id: false }),
      default: undefined,
    },
    createdAt: { type: Date, required: true },
    createdBy: { type: String, required: true },
    lastUsedAt: { type: Date },
    counters: { type: counters, default: () => ({}) },
    idleSnoozedUntil: { type: Date },
    allowedSenders: { type: [String], default: undefined },
    rateLimit: { type: new Schema({ limit: Number, per: String }, { _id: false }), default: undefined },
    /** Kept apart from previousPassword so that one projection ({ previousPasswordHash: 0 }) leaves it behind. */
    previousPasswordHash: { type: String },
    previousPassword: {
      type: new Schema({ validUntil: Date, credentialVersion: Number, lastUsedAt: Date }, { _id: false }),
      default: undefined,
    },
    surgeSnoozes: { type: new Schema({ volume: Date, network: Date, refused: Date }, { _id: false }), default: undefined },
    allowedNetworks: { type: [String], default: undefined },
    passwordChangedAt: { type: Date },
    passwordLeak: { type: new Schema({ at: Date, url: String, source: String }, { _id: false }), default: undefined },
  },
  { collection: 'accounts', versionKey: false },
);
accountSchema.index({ workspaceId: 1, nameKey: 1 }, { unique: true });
accountSchema.index({ username: 1 }, { unique: true });
// The daily idle scan: { lastUsedAt <= cutoff } or { lastUsedAt: null, createdAt <= cutoff } (src/store/repositories/flags.ts).
accountSchema.index({ lastUsedAt: 1, createdAt: 1 });

export type AccountDoc = InferSchemaType<typeof accountSchema>;
export const accountModel = (c: Connection) => c.model('Account', accountSchema);
