// The shape of a scheduled job: one module each, {name, schedule, run(deps)}. A job is a thin adapter:
// it calls the domain's flag use cases, posts alerts through the AlertPoster port and reports what it found.
import type { Config } from '../config.ts';
import type { AlertPoster, Clock, DomainContext, FlagRepository, LaterOutcomeRepository } from '../domain/index.ts';
import type { Metrics } from '../metrics.ts';
import type { Logger } from '../log.ts';
import type { Queue } from '../store/queue/index.ts';
import type { LockoutRepository } from '../store/repositories/lockouts.ts';
import type { JobName } from '../shared/job-names.ts';

export interface JobDeps {
  ctx: DomainContext;
  flags: FlagRepository;
  /** The relay's AUTH lockouts, pruned by the surge job (no TTL indexes on FerretDB). */
  lockouts: Pick<LockoutRepository, 'prune'>;
  queue: Queue;
  clock: Clock;
  log: Logger;
  config: Config['jobs'];
  /** Finished messages keep their body this many days (DELIVERY_RETENTION_DAYS). */
  retentionDays: number;
  /** Posts alerts (to Slack, as wired by the composition root); null when this process cannot post (alerts stay pending). */
  alerts: AlertPoster | null;
  /** Later bounces and complaints per account and day (the reputation job's rates). */
  later: Pick<LaterOutcomeRepository, 'reportCounts'>;
  /** Where the reputation job publishes each account's rates (absent: not published). */
  metrics?: Pick<Metrics, 'accountBounceRate' | 'accountComplaintRate'>;
}

export interface JobRunOptions {
  /** Find and report only: post nothing, change no state, publish no event. */
  dryRun?: boolean;
  /** Only this workspace (id). */
  workspaceId?: string;
}

export interface ReportColumn {
  key: string;
  header: string;
  align?: 'left' | 'right';
}

/** What a run found and did, for the CLI (aligned table or --json) and the last-run summary. */
export interface JobReport {
  job: string;
  dryRun: boolean;
  /** One line: "3 idle accounts in 2 workspaces; 1 alert posted". */
  summary: string;
  columns: ReportColumn[];
  rows: Record<string, string | number>[];
  /** Machine-readable details for --json. */
  details?: unknown;
}

export interface Job {
  name: JobName;
  description: string;
  schedule(config: Config['jobs']): string;
  run(deps: JobDeps, opts: JobRunOptions): Promise<JobReport>;
}
