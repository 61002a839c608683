// Every scheduled job. A new job is one module {name, schedule, run(deps)} added here.
import { idleAccountsJob } from './idle-accounts.ts';
import type { Job } from './job.ts';
import { planLimitsJob } from './plan-limits.ts';
import { retentionJob } from './retention-job.ts';
import { surgeJob } from './surge.ts';
import { credentialHygieneJob } from './credential-hygiene.ts';
import { reputationJob } from './reputation.ts';

export const JOBS: readonly Job[] = [idleAccountsJob, planLimitsJob, retentionJob, surgeJob, credentialHygieneJob, reputationJob];

export function findJob(name: string): Job | undefined {
  return JOBS.find((j) => j.name === name.trim().toLowerCase());
}

export type { Job, JobDeps, JobReport, JobRunOptions } from './job.ts';
