// Leases of scheduled jobs in MongoDB (collection job_leases, one document per job): with several
// instances, each tick of a job runs once across all of them, and two runs of one job never overlap.
// Every claim is one atomic findOneAndUpdate with upsert; a lost race surfaces as a duplicate key.
import type { Models } from '../models/index.ts';
import { isDuplicateKeyError } from '../connection.ts';

export interface JobLastRun {
  trigger: 'schedule' | 'manual';
  owner: string;
  startedAt: Date;
  finishedAt?: Date;
  result: 'running' | 'ok' | 'error';
  summary?: string;
  error?: string;
}

export interface JobLeaseState {
  job: string;
  tick: Date;
  leaseUntil: Date;
  owner: string;
  lastRun?: JobLastRun;
}

export interface LeaseClaim {
  job: string;
  owner: string;
  /** Records the outcome and frees the lease at once. */
  release(outcome: { at: Date; result: 'ok' | 'error'; summary?: string; error?: string }): Promise<void>;
}

export interface JobLeases {
  /**
   * Claims the scheduled tick `tick` of `job`: succeeds for one caller, and only if no earlier claim took this
   * tick (or a later one) and no run of the job holds an unexpired lease.
   */
  claimTick(job: string, tick: Date, opts: { owner: string; now: Date; leaseMs: number }): Promise<LeaseClaim | null>;
  /** Claims the job for a run on demand: only the lease, the ticks are left to the schedule. */
  claimManual(job: string, opts: { owner: string; now: Date; leaseMs: number }): Promise<LeaseClaim | null>;
  get(job: string): Promise<JobLeaseState | null>;
  list(): Promise<JobLeaseState[]>;
}

type LeaseRow = {
  _id: string;
  tick: Date;
  leaseUntil: Date;
  owner: string;
  lastRun?: Partial<JobLastRun> | null;
};

function toState(row: LeaseRow): JobLeaseState {
  const s: JobLeaseState = { job: row._id, tick: row.tick, leaseUntil: row.leaseUntil, owner: row.owner };
  const r = row.lastRun;
  if (r?.startedAt && r.result && r.trigger) {
    s.lastRun = { trigger: r.trigger, owner: r.owner ?? row.owner, startedAt: r.startedAt, result: r.result };
    if (r.finishedAt) s.lastRun.finishedAt = r.finishedAt;
    if (r.summary) s.lastRun.summary = r.summary;
    if (r.error) s.lastRun.error = r.error;
  }
  return s;
}

export function jobLeases(models: Models): JobLeases {
  const L = models.jobLeases;

  async function claim(
    job: string,
    filter: Record<string, unknown>,
    set: Record<string, unknown>,
    setOnInsert: Record<string, unknown>,
    owner: string,
  ): Promise<LeaseClaim | null> {
    try {
      const update: Record<string, unknown> = { $set: set };
      if (Object.keys(setOnInsert).length) update.$setOnInsert = setOnInsert;
      const row = await L.findOneAndUpdate({ _id: job, ...filter }, update, { upsert: true, new: true }).lean<LeaseRow>();
      if (!row || row.owner !== owner) return null;
    } catch (err) {
      // The document exists and did not match: someone else holds the lease or took the tick.
      if (isDuplicateKeyError(err)) return null;
      throw err;
    }
    return {
      job,
      owner,
      async release({ at, result, summary, error }) {
        const fields: Record<string, unknown> = { leaseUntil: at, 'lastRun.finishedAt': at, 'lastRun.result': result };
        if (summary !== undefined) fields['lastRun.summary'] = summary;
        if (error !== undefined) fields['lastRun.error'] = error;
        await L.updateOne({ _id: job, owner }, { $set: fields });
      },
    };
  }

  const lastRun = (trigger: JobLastRun['trigger'], owner: string, now: Date) => ({ trigger, owner, startedAt: now, result: 'running' });

  return {
    claimTick(job, tick, { owner, now, leaseMs }) {
      return claim(
        job,
        { tick: { $lt: tick }, leaseUntil: { $lte: now } },
        { tick, owner, leaseUntil: new Date(now.getTime() + leaseMs), lastRun: lastRun('schedule', owner, now) },
        {},
        owner,
      );
    },
    claimManual(job, { owner, now, leaseMs }) {
      return claim(
        job,
        { leaseUntil: { $lte: now } },
        { owner, leaseUntil: new Date(now.getTime() + leaseMs), lastRun: lastRun('manual', owner, now) },
        // A job first run by hand has taken no tick yet.
        { tick: new Date(0) },
        owner,
      );
    },
    async get(job) {
      const row = await L.findById(job).lean<LeaseRow>();
      return row ? toState(row) : null;
    },
    async list() {
      const rows = await L.find().lean<LeaseRow[]>();
      return rows.map(toState);
    },
  };
}
