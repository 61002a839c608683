// Prometheus metrics (prom-client), one registry per process (per Runtime), so tests stay isolated.
// Every adapter increments these; the HTTP role serves them at /metrics.
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
      help: 'SMTP AUTH attempts by result (success, failure) and reason (ok, cached, bad_credentials, disabled, locked, not_tls, malformed, unavailable)',
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
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
