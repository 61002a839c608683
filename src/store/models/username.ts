import { Schema, type Connection } from 'mongoose';

/** Every username ever issued, so that none is reused after its account is deleted. */
export const usernameSchema = new Schema(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    claimedAt: { type: Date, required: true },
  },
  { collection: 'usernames', versionKey: false },
);

export const usernameModel = (c: Connection) => c.model('Username', usernameSchema);
