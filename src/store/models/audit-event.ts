import { Schema, type Connection } from 'mongoose';

export const auditEventSchema = new Schema(
  {
    workspaceId: { type: String, required: true },
    at: { type: Date, required: true },
    actor: {
      source: { type: String, required: true },
      id: { type: String, required: true },
      name: { type: String },
    },
    action: { type: String, required: true },
    accountId: { type: String },
    accountName: { type: String },
    username: { type: String },
    details: { type: Schema.Types.Mixed },
  },
  { collection: 'audit_events', versionKey: false },
);
auditEventSchema.index({ workspaceId: 1, at: -1 });
auditEventSchema.index({ workspaceId: 1, accountId: 1, at: -1 });

export const auditEventModel = (c: Connection) => c.model('AuditEvent', auditEventSchema);
