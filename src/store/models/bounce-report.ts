import { Schema, type Connection } from 'mongoose';

/**
 * A report that arrived at a return path (src/bounces) and named no message we could find: kept for the
 * operator (`smtpdesk bounces list`) instead of being dropped. Read and written only through
 * src/store/later-outcomes.ts.
 */
export const bounceReportSchema = new Schema(
  {
    at: { type: Date, required: true },
    rcptTo: { type: String, required: true },
    clientIp: { type: String },
    /** dsn, feedback or unknown. */
    type: { type: String, required: true },
    reason: { type: String, required: true },
    originalMessageId: { type: String },
    recipients: { type: [String], default: [] },
    size: { type: Number, required: true },
  },
  { collection: 'bounce_reports', versionKey: false },
);
bounceReportSchema.index({ at: -1 });

export const bounceReportModel = (c: Connection) => c.model('BounceReport', bounceReportSchema);
