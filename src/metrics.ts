// Prometheus metrics (prom-client), one registry per process (per Runtime), so tests stay isolated.
// Every adapter increments these; the HTTP role serves them at /metrics.
import { getHeapSpaceStatistics } from 'node:v8';
import { renameSync, writeFileSync } from 'node:fs';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'smtpdesk_' });
  const m = {
    registry,
    smtpConnections: new Counter({
      name: 'smtpdesk_smtp_connections_total',
      help: 'SMTP connections accepted by the relay',
      registers: [registry],
    }),
    smtpAuth: new Counter({
      name: 'smtpdesk_smtp_auth_total',
      help: 'SMTP AUTH attempts by result (success, failure) and reason (ok, cached, bad_credentials, disabled, network, locked, not_tls, malformed, unavailable)',
      labelNames: ['result', 'reason'] as const,
      registers: [registry],
    }),
    smtpMessages: new Counter({
      name: 'smtpdesk_smtp_messages_total',
      help: 'Messages at the end of DATA by result (accepted, refused) and SMTP reply code',
      labelNames: ['result', 'code'] as const,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'smtpdesk_queue_depth',
      help: 'Messages in the outbound queue not yet finished',
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'smtpdesk_deliveries_total',
      help: 'Delivery attempts per recipient by outcome (delivered, deferred, bounced, failed)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    jobRuns: new Counter({
      name: 'smtpdesk_job_runs_total',
      help: 'Scheduled job runs by job and result (ok, error, skipped: another instance holds the lease)',
      labelNames: ['job', 'result'] as const,
      registers: [registry],
    }),
    webhookCalls: new Counter({
      name: 'smtpdesk_webhook_calls_total',
      help: 'Webhook calls by direction (inbound, outbound) and result (ok or an error code)',
      labelNames: ['direction', 'result'] as const,
      registers: [registry],
    }),
    webhookOutboxPending: new Gauge({
      name: 'smtpdesk_webhook_outbox_pending',
      help: 'Outbound event webhooks not yet delivered nor given up',
      registers: [registry],
    }),
    slackRequests: new Counter({
      name: 'smtpdesk_slack_requests_total',
      help: 'Slack requests handled by kind (command, action, view, event) and result',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
    dbCommands: new Counter({
      name: 'smtpdesk_db_commands_total',
      help: "Database commands this process sent, by command name (find, insert, update, findAndModify, delete, …), from the MongoDB driver's command monitoring; handshake, heartbeat and authentication commands are not counted",
      labelNames: ['command'] as const,
      registers: [registry],
    }),
    bounceReports: new Counter({
      name: 'smtpdesk_bounce_reports_total',
      help: 'Reports received by the bounces role by type (dsn, feedback, unknown) and result (counted, duplicate, unmatched, ignored, busy, error)',
      labelNames: ['type', 'result'] as const,
      registers: [registry],
    }),
    accountBounceRate: new Gauge({
      name: 'smtpdesk_account_bounce_rate',
      help: 'Bounced ÷ (delivered + bounced) over the last 30 days, later bounces included, per account (set by the reputation job)',
      labelNames: ['workspace', 'account'] as const,
      registers: [registry],
    }),
    accountComplaintRate: new Gauge({
      name: 'smtpdesk_account_complaint_rate',
      help: 'Complaints ÷ delivered over the last 30 days, per account (set by the reputation job)',
      labelNames: ['workspace', 'account'] as const,
      registers: [registry],
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** The listener for connectDatabase's onCommand: one labelled child per command name, looked up once. */
export function databaseCommandCounter(metrics: Metrics): (commandName: string) => void {
  const children = new Map<string, { inc(): void }>();
  return (commandName) => {
    let child = children.get(commandName);
    if (!child) {
      child = metrics.dbCommands.labels(commandName);
      children.set(commandName, child);
    }
    child.inc();
  };
}

/** What a stats file holds: this process's counters at `at`, `seq` counting the writes. */
export interface StatsSnapshot {
  pid: number;
  seq: number;
  at: string;
  /** smtpdesk_db_commands_total by command name. */
  dbCommands: Record<string, number>;
  /** smtpdesk_smtp_messages_total by result (accepted, refused). */
  smtpMessages: Record<string, number>;
  /** smtpdesk_deliveries_total by outcome (delivered, deferred, bounced, failed). */
  deliveries: Record<string, number>;
  /** process.memoryUsage() in MB: where the RSS goes (V8's heap, or native memory outside it). */
  memoryMb: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number; newSpace: number; oldSpace: number; largeObjects: number };
}

async function sumBy(counter: Counter<string>, label: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await counter.get()).values) {
    const key = String(v.labels[label] ?? '');
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

export async function statsSnapshot(metrics: Metrics, seq: number): Promise<StatsSnapshot> {
  return {
    pid: process.pid,
    seq,
    at: new Date().toISOString(),
    dbCommands: await sumBy(metrics.dbCommands, 'command'),
    smtpMessages: await sumBy(metrics.smtpMessages, 'result'),
    deliveries: await sumBy(metrics.deliveries, 'outcome'),
    memoryMb: memoryMb(),
  };
}

function memoryMb(): StatsSnapshot['memoryMb'] {
  const m = process.memoryUsage();
  const mb = (bytes: number) => Math.round(bytes / 104_857.6) / 10; // MB, one decimal
  const spaces = getHeapSpaceStatistics();
  const space = (name: string) => mb(spaces.find((s) => s.space_name === name)?.space_size ?? 0);
  return {
    rss: mb(m.rss),
    heapTotal: mb(m.heapTotal),
    heapUsed: mb(m.heapUsed),
    external: mb(m.external),
    arrayBuffers: mb(m.arrayBuffers),
    newSpace: space('new_space'),
    oldSpace: space('old_space'),
    largeObjects: space('large_object_space'),
  };
}

/**
 * SMTPDESK_STATS_FILE: writes a StatsSnapshot (JSON) to `path` once now and again on each SIGUSR2, so a
 * harness can read a process's counters without an HTTP listener. Written to `path.tmp` then renamed: a
 * reader never sees half a file; it sends SIGUSR2 and waits for `seq` to grow. Returns the stop function.
 */
export function writeStatsOnSignal(metrics: Metrics, path: string, onError: (err: unknown) => void): () => void {
  let seq = 0;
  let writing = Promise.resolve();
  const write = () => {
    writing = writing
      .then(async () => {
        const snapshot = await statsSnapshot(metrics, ++seq);
        writeFileSync(`${path}.tmp`, `${JSON.stringify(snapshot)}\n`);
        renameSync(`${path}.tmp`, path);
      })
      .catch(onError);
  };
  write();
  process.on('SIGUSR2', write);
  return () => {
    process.off('SIGUSR2', write);
  };
}
