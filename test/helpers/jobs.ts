// The scheduled jobs on a real Runtime with a clock the test moves, and the alerts as the fake Slack got them.
import { DAY_MS } from '../../src/domain/index.ts';
import { jobDepsFromRuntime } from '../../src/jobs/deps.ts';
import type { Job, JobDeps } from '../../src/jobs/job.ts';
import type { JobLeases } from '../../src/store/repositories/job-leases.ts';
import { JobRunner, type TickOutcome } from '../../src/jobs/runner.ts';
import { createAlertPoster } from '../../src/slack/job-alert-poster.ts';
import type { Runtime } from '../../src/runtime.ts';
import type { FakeSlackApi, RecordedCall } from './slack.ts';

export interface JobClock {
  now(): Date;
  set(d: Date): void;
  /** Moves the clock by whole days (may be negative). */
  advanceDays(days: number): Date;
}

export function jobClock(start: Date): JobClock {
  let now = new Date(start);
  return {
    now: () => new Date(now),
    set: (d) => {
      now = new Date(d);
    },
    advanceDays: (days) => (now = new Date(now.getTime() + days * DAY_MS)),
  };
}

export interface JobsUnderTest {
  deps: JobDeps;
  leases: JobLeases;
  /** A runner as one instance of smtpdesk would have (each gets its own id). */
  runner(instanceId?: string): JobRunner;
  /** One scheduled tick of `job` at the clock's current time, on a fresh runner. */
  tick(job: Job): Promise<TickOutcome>;
}

let instances = 0;

export function jobsOn(rt: Runtime, clock: JobClock): JobsUnderTest {
  const { leases, ...deps } = jobDepsFromRuntime(rt, { alerts: createAlertPoster(rt.config, rt.log), clock: () => clock.now() });
  const runner = (instanceId?: string) => new JobRunner({ deps, leases, metrics: rt.metrics, leaseMs: rt.config.jobs.leaseMs, instanceId: instanceId ?? `test-${++instances}` });
  return {
    deps,
    leases,
    runner,
    tick: (job) => runner().runTick(job, clock.now()),
  };
}

/** The chat.postMessage calls Slack accepted whose blocks start with a header containing `headerText`. */
export function alertPosts(api: FakeSlackApi, headerText: string): RecordedCall[] {
  return api.of('chat.postMessage').filter((c) => {
    if (c.response.ok !== true) return false;
    const blocks = c.args.blocks as { type?: string; text?: { text?: string } }[] | undefined;
    return Array.isArray(blocks) && blocks[0]?.type === 'header' && String(blocks[0].text?.text ?? '').includes(headerText);
  });
}
