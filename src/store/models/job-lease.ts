import { Schema, type Connection } from 'mongoose';

/**
 * One document per scheduled job (`_id` = job name): the last tick claimed and the lease of the run in
 * progress. A run is claimed with one atomic findOneAndUpdate (src/store/repositories/job-leases.ts), so with several
 * instances each tick runs once, and a run never overlaps another run of the same job. The last run's
 * outcome is kept here for `smtpdesk jobs list`.
 */
export const jobLeaseSchema = new Schema(
  {
    _id: { type: String, required: true },
    /** The scheduled time of the last tick claimed (not when it ran). */
    tick: { type: Date, required: true },
    leaseUntil: { type: Date, required: true },
    owner: { type: String, required: true },
    lastRun: {
      trigger: { type: String, enum: ['schedule', 'manual'] },
      owner: { type: String },
      startedAt: { type: Date },
      finishedAt: { type: Date },
      result: { type: String, enum: ['running', 'ok', 'error'] },
      summary: { type: String },
      error: { type: String },
    },
  },
  { collection: 'job_leases', versionKey: false },
);

export const jobLeaseModel = (c: Connection) => c.model('JobLease', jobLeaseSchema);
