// Builds what the jobs need from a Runtime (the server's or the CLI's).
import type { Clock } from '../domain/index.ts';
import type { Runtime } from '../runtime.ts';
import { flagRepository } from '../store/repositories/flags.ts';
import { createAlertPoster, type AlertPoster } from './alert-poster.ts';
import type { JobDeps } from './job.ts';
import { jobLeases, type JobLeases } from './lease.ts';

/** `clock` replaces the runtime's (tests set the time; the repositories keep no clock of their own). */
export function jobDepsFromRuntime(rt: Runtime, overrides: { alerts?: AlertPoster | null; clock?: Clock } = {}): JobDeps & { leases: JobLeases } {
  const ctx = overrides.clock ? { ...rt.ctx, clock: overrides.clock } : rt.ctx;
  return {
    ctx,
    flags: flagRepository(rt.db.models),
    models: rt.db.models,
    queue: rt.queue,
    clock: ctx.clock,
    log: rt.log.child({ component: 'jobs' }),
    config: rt.config.jobs,
    retentionDays: rt.config.delivery.retentionDays,
    slashCommand: rt.config.slack.command,
    alerts: overrides.alerts !== undefined ? overrides.alerts : createAlertPoster(rt.config, rt.log),
    leases: jobLeases(rt.db.models),
  };
}
