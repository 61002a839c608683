// The shape of one CLI command. Commands are thin: parse, call the domain, print.
import type { ParseArgsConfig } from 'node:util';
import type { Actor, DomainContext, Workspace } from '../domain/index.ts';
import type { Runtime } from '../runtime.ts';
import type { JobLastRun } from '../store/repositories/job-leases.ts';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CliContext {
  actor: Actor;
  json: boolean;
  /** Opens the database on first use (help and usage errors never need it). */
  runtime(): Promise<Runtime>;
  domain(): Promise<DomainContext>;
  /** The workspace named by --workspace or SMTPDESK_WORKSPACE, or the only one there is. */
  workspace(): Promise<Workspace>;
  /** The scheduled jobs on demand, loaded on first use (with their alert poster) by the composition root. */
  jobs(): Promise<JobsConsole>;
  print(text: string): void;
}

/** A job's last run, as its lease records it. */
export type JobLastRunInfo = JobLastRun;

/** What a run found and did: a table for people, details for --json. */
export interface JobRunReport {
  job: string;
  dryRun: boolean;
  summary: string;
  columns: { key: string; header: string; align?: 'left' | 'right' }[];
  rows: Record<string, string | number>[];
  details?: unknown;
}

/** The port `smtpdesk jobs` drives (src/jobs/console.ts implements it). */
export interface JobsConsole {
  list(): Promise<{ name: string; description: string; schedule: string; lastRun?: JobLastRunInfo }[]>;
  /** Null when the job is not in this build. */
  run(name: string, opts: { dryRun: boolean; workspaceId?: string }): Promise<{ name: string; report: JobRunReport } | null>;
}

export interface CliCommand {
  /** Words that select it, e.g. ['accounts', 'list']. */
  path: string[];
  summary: string;
  /** Positional arguments as shown in usage, e.g. 'NAME'. */
  args?: string;
  options?: OptionSpec;
  /** One line per option, for help. */
  optionHelp?: string[];
  run(cli: CliContext, positionals: string[], options: OptionValues): Promise<unknown>;
}

/** A usage mistake: the CLI prints the message and the command's usage, and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function requireArg(positionals: string[], index: number, name: string): string {
  const v = positionals[index];
  if (v === undefined || v.trim() === '') throw new UsageError(`missing ${name}`);
  return v;
}

export function intOption(options: OptionValues, name: string): number | undefined {
  const v = options[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < 0) throw new UsageError(`--${name} takes a whole number, got "${String(v)}"`);
  return n;
}
