// The jobs on demand, for the CLI (`smtpdesk jobs list|run`): handed to it by the composition root as the
// CLI's JobsConsole port, so that the CLI never imports the jobs.
import type { AlertPoster } from '../domain/index.ts';
import type { Runtime } from '../runtime.ts';
import { jobLeases } from '../store/repositories/job-leases.ts';
import { jobDepsFromRuntime } from './deps.ts';
import { findJob, JOBS } from './index.ts';
import type { JobReport, JobRunOptions } from './job.ts';
import { JobRunner } from './runner.ts';

export function jobsConsole(rt: Runtime, opts: { alerts: AlertPoster | null; instanceId: string }) {
  return {
    async list() {
      const states = new Map((await jobLeases(rt.db.models).list()).map((s) => [s.job, s]));
      return JOBS.map((job) => ({ name: job.name, description: job.description, schedule: job.schedule(rt.config.jobs), lastRun: states.get(job.name)?.lastRun }));
    },
    /** Null when the job is not in this build. */
    async run(name: string, runOpts: JobRunOptions): Promise<{ name: string; report: JobReport } | null> {
      const job = findJob(name);
      if (!job) return null;
      const { leases, ...deps } = jobDepsFromRuntime(rt, { alerts: opts.alerts });
      const runner = new JobRunner({ deps, leases, metrics: rt.metrics, leaseMs: rt.config.jobs.leaseMs, instanceId: opts.instanceId });
      return { name: job.name, report: await runner.runNow(job, runOpts) };
    },
  };
}
