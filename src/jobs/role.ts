// The jobs role: every job on its node-cron schedule in JOBS_TIMEZONE, each tick run under the job's lease
// so that with several instances it runs once.
import cron, { type ScheduledTask } from 'node-cron';
import type { AlertPoster } from '../domain/index.ts';
import type { RoleStarter } from '../role-starter.ts';
import type { Runtime } from '../runtime.ts';
import { jobDepsFromRuntime } from './deps.ts';
import { JOBS } from './index.ts';
import { JobRunner } from './runner.ts';

/** How long stop() waits for a run in progress before leaving it to its lease. */
const STOP_GRACE_MS = 30_000;

/** The role, with the alert poster the composition root chose (null: alerts stay pending). */
export const jobsRole =
  (alertsFor: (rt: Runtime) => AlertPoster | null): RoleStarter =>
  async (rt) => {
    const { leases, ...deps } = jobDepsFromRuntime(rt, { alerts: alertsFor(rt) });
    const runner = new JobRunner({ deps, leases, metrics: rt.metrics, leaseMs: rt.config.jobs.leaseMs });
    const timezone = rt.config.jobs.timezone;
    const running = new Set<Promise<unknown>>();
    const tasks: ScheduledTask[] = [];
    for (const job of JOBS) {
      const expression = job.schedule(rt.config.jobs);
      const task = cron.schedule(
        expression,
        (context) => {
          const run = runner.runTick(job, context.date);
          running.add(run);
          return run.finally(() => running.delete(run));
        },
        { name: job.name, timezone, noOverlap: true, logger: cronLogger(deps.log) },
      );
      tasks.push(task);
    }
    if (!deps.alerts) {
      deps.log.warn({ code: 'JOB_ALERT_NO_SLACK' }, 'jobs: no SLACK_BOT_TOKEN, alerts are kept pending until an instance with Slack runs the jobs');
    }
    return {
      description: `jobs on schedule (${timezone}): ${JOBS.map((j) => `${j.name} "${j.schedule(rt.config.jobs)}"`).join(', ')}`,
      ready: () => true,
      async stop() {
        for (const t of tasks) await t.destroy();
        const all = Promise.allSettled([...running]);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)))]);
        clearTimeout(timer);
      },
    };
  };

function cronLogger(log: ReturnType<typeof jobDepsFromRuntime>['log']) {
  return {
    info: (message: string) => log.debug({ code: 'CRON_INFO' }, message),
    warn: (message: string) => log.warn({ code: 'CRON_WARNING' }, message),
    error: (message: string | Error, err?: Error) => log.error({ err: err ?? message, code: 'CRON_ERROR' }, String(message)),
    debug: (message: string | Error) => log.debug({ code: 'CRON_DEBUG' }, String(message)),
  };
}
