import { Schema, type Connection } from 'mongoose';

/**
 * Every username ever issued, so that none is reused after its account is deleted. It also points at the
 * account: AUTH finds an account by two _id reads, which every MongoDB-wire server answers from its _id index
 * (FerretDB v1 on SQLite uses no other index and would read every account to find one username).
 */
export const usernameSchema = new Schema(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    claimedAt: { type: Date, required: true },
    accountId: { type: String },
  },
  { collection: 'usernames', versionKey: false },
);

export const usernameModel = (c: Connection) => c.model('Username', usernameSchema);
