import { Schema, type Connection, type InferSchemaType } from 'mongoose';

export const workspaceSchema = new Schema(
  {
    name: { type: String, required: true },
    nameKey: { type: String, required: true },
    slackTeamId: { type: String },
    planId: { type: String, required: true },
    alertChannel: { type: String },
    roles: {
      admins: { type: [String], default: [] },
      responders: { type: [String], default: [] },
      adminGroup: { type: String },
      responderGroup: { type: String },
    },
    slotsUsed: { type: Number, required: true, default: 0 },
    surgeAutoDisable: { type: Boolean },
    credentialPolicy: { type: new Schema({ onLeak: String, maxPasswordAgeDays: Number, unusedAfterDays: Number }, { _id: false }), default: undefined },
    approvalsChannel: { type: String },
    deleteNeedsApproval: { type: Boolean },
    /** The reputation guard's settings (domain ReputationSettings); absent fields take the defaults. */
    reputation: { type: Schema.Types.Mixed },
    createdAt: { type: Date, required: true },
  },
  { collection: 'workspaces', versionKey: false },
);
workspaceSchema.index({ nameKey: 1 }, { unique: true });
workspaceSchema.index({ slackTeamId: 1 }, { unique: true, sparse: true });

export type WorkspaceDoc = InferSchemaType<typeof workspaceSchema>;
export const workspaceModel = (c: Connection) => c.model('Workspace', workspaceSchema);
