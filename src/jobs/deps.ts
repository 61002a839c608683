// Builds what the jobs need from a Runtime (the server's or the CLI's).
import type { Runtime } from '../runtime.ts';
import { flagRepository } from '../store/repositories/flags.ts';
import { createAlertPoster, type AlertPoster } from './alert-poster.ts';
import type { JobDeps } from './job.ts';
import { jobLeases, type JobLeases } from './lease.ts';

export function jobDepsFromRuntime(rt: Runtime, overrides: { alerts?: AlertPoster | null } = {}): JobDeps & { leases: JobLeases } {
  return {
    ctx: rt.ctx,
    flags: flagRepository(rt.db.models),
    models: rt.db.models,
    clock: rt.ctx.clock,
    log: rt.log.child({ component: 'jobs' }),
    config: rt.config.jobs,
    alerts: overrides.alerts !== undefined ? overrides.alerts : createAlertPoster(rt.config.slack),
    leases: jobLeases(rt.db.models),
  };
}
