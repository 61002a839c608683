// Runs jobs under their MongoDB lease: scheduled ticks (once per tick across every instance) and runs on
// demand (`smtpdesk jobs run`). Counts each run in smtpdesk_job_runs_total and logs it with a stable code.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { DomainError } from '../domain/index.ts';
import type { Metrics } from '../metrics.ts';
import type { Job, JobDeps, JobReport, JobRunOptions } from './job.ts';
import type { JobLeases } from '../store/repositories/job-leases.ts';

export type TickOutcome = { status: 'ran'; report: JobReport } | { status: 'skipped' } | { status: 'failed'; error: Error };

export interface JobRunnerOptions {
  deps: JobDeps;
  leases: JobLeases;
  metrics?: Metrics;
  /** How long a run may hold its job's lease before another instance may take the job (default 15 min). */
  leaseMs?: number;
  /** Names this instance in leases and logs (default host:pid). */
  instanceId?: string;
}

export class JobRunner {
  readonly instanceId: string;
  private readonly leaseMs: number;

  constructor(private readonly opts: JobRunnerOptions) {
    this.instanceId = opts.instanceId ?? `${hostname()}:${process.pid}`;
    this.leaseMs = opts.leaseMs ?? 15 * 60_000;
  }

  private owner(): string {
    return `${this.instanceId}:${randomBytes(4).toString('hex')}`;
  }

  /** One scheduled tick: runs the job here if this instance wins the tick's lease, else skips. Never throws. */
  async runTick(job: Job, tick: Date): Promise<TickOutcome> {
    const { deps } = this.opts;
    const log = deps.log.child({ job: job.name, tick: tick.toISOString() });
    let claim;
    try {
      claim = await this.opts.leases.claimTick(job.name, tick, { owner: this.owner(), now: deps.clock(), leaseMs: this.leaseMs });
    } catch (err) {
      this.count(job, 'error');
      log.error({ err, code: 'JOB_LEASE_FAILED' }, `${job.name}: could not claim the lease`);
      return { status: 'failed', error: asError(err) };
    }
    if (!claim) {
      this.count(job, 'skipped');
      log.debug({ code: 'JOB_SKIPPED' }, `${job.name}: tick taken by another instance, or a run is in progress`);
      return { status: 'skipped' };
    }
    return this.runClaimed(job, claim, {}, log);
  }

  /**
   * Runs a job at once. A real run takes the job's lease (refused with JOB.BUSY while another run holds it);
   * a dry run reads only, so it takes no lease.
   */
  async runNow(job: Job, opts: JobRunOptions = {}): Promise<JobReport> {
    const { deps } = this.opts;
    const log = deps.log.child({ job: job.name, trigger: 'manual' });
    if (opts.dryRun) return job.run(deps, opts);
    const claim = await this.opts.leases.claimManual(job.name, { owner: this.owner(), now: deps.clock(), leaseMs: this.leaseMs });
    if (!claim) {
      const held = await this.opts.leases.get(job.name);
      throw new DomainError(
        'JOB.BUSY',
        `The ${job.name} job is running elsewhere${held ? ` (${held.owner}, lease until ${held.leaseUntil.toISOString()})` : ''}; try again when it is done.`,
        { job: job.name },
      );
    }
    const outcome = await this.runClaimed(job, claim, opts, log);
    if (outcome.status === 'failed') throw outcome.error;
    if (outcome.status !== 'ran') throw new Error('unreachable');
    return outcome.report;
  }

  private async runClaimed(job: Job, claim: NonNullable<Awaited<ReturnType<JobLeases['claimTick']>>>, opts: JobRunOptions, log: JobDeps['log']): Promise<TickOutcome> {
    const { deps } = this.opts;
    const started = Date.now();
    log.info({ code: 'JOB_STARTED' }, `${job.name} started`);
    try {
      const report = await job.run({ ...deps, log }, opts);
      await claim.release({ at: deps.clock(), result: 'ok', summary: report.summary }).catch((err: unknown) => {
        log.warn({ err, code: 'JOB_LEASE_RELEASE_FAILED' }, `${job.name}: could not record the run (the lease expires by itself)`);
      });
      this.count(job, 'ok');
      log.info({ code: 'JOB_FINISHED', ms: Date.now() - started, summary: report.summary }, `${job.name}: ${report.summary}`);
      return { status: 'ran', report };
    } catch (err) {
      const error = asError(err);
      await claim.release({ at: deps.clock(), result: 'error', error: error.message }).catch(() => undefined);
      this.count(job, 'error');
      log.error({ err, code: 'JOB_FAILED', ms: Date.now() - started }, `${job.name} failed: ${error.message}`);
      return { status: 'failed', error };
    }
  }

  private count(job: Job, result: 'ok' | 'error' | 'skipped') {
    this.opts.metrics?.jobRuns.inc({ job: job.name, result });
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
