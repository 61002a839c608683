// Builds what the jobs need from a Runtime (the server's or the CLI's).
import type { AlertPoster, Clock } from '../domain/index.ts';
import type { Runtime } from '../runtime.ts';
import { flagRepository } from '../store/repositories/flags.ts';
import { jobLeases, type JobLeases } from '../store/repositories/job-leases.ts';
import { lockoutRepository } from '../store/repositories/lockouts.ts';
import { laterOutcomeRepository } from '../store/later-outcomes.ts';
import type { JobDeps } from './job.ts';

/**
 * `alerts` is the composition root's poster (Slack), null when this process cannot post. `clock` replaces the
 * runtime's (tests set the time; the repositories keep no clock of their own).
 */
export function jobDepsFromRuntime(rt: Runtime, opts: { alerts: AlertPoster | null; clock?: Clock }): JobDeps & { leases: JobLeases } {
  const ctx = opts.clock ? { ...rt.ctx, clock: opts.clock } : rt.ctx;
  return {
    ctx,
    flags: flagRepository(rt.db.models),
    lockouts: lockoutRepository(rt.db.models),
    queue: rt.queue,
    clock: ctx.clock,
    log: rt.log.child({ component: 'jobs' }),
    config: rt.config.jobs,
    retentionDays: rt.config.delivery.retentionDays,
    alerts: opts.alerts,
    later: laterOutcomeRepository(rt.db.models, rt),
    metrics: rt.metrics,
    leases: jobLeases(rt.db.models),
  };
}
