import { Schema, type Connection } from 'mongoose';

/**
 * One account's counts for one clock hour (src/domain/surge.ts AccountHour): `_id` is "<accountId>:<hour ISO>",
 * so the relay's write is one upsert by _id. The surge job reads a workspace's last 14 days and prunes older ones.
 */
export const accountHourSchema = new Schema(
  {
    _id: { type: String, required: true },
    accountId: { type: String, required: true },
    workspaceId: { type: String, required: true },
    hour: { type: Date, required: true },
    recipients: { type: Number, default: 0 },
    refused: { type: Number, default: 0 },
    networks: { type: [String], default: undefined },
  },
  { collection: 'account_hours', versionKey: false },
);
accountHourSchema.index({ workspaceId: 1, hour: 1 });
accountHourSchema.index({ hour: 1 });

export const accountHourModel = (c: Connection) => c.model('AccountHour', accountHourSchema);
