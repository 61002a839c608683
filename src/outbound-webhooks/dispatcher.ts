// Sends outbound event webhooks from the outbox. Runs in the http role. Several dispatchers (several
// http instances) share the outbox safely: each entry is leased with one atomic findOneAndUpdate.
// A 2xx answer delivers an entry; anything else (another status, a network error, a timeout) is retried
// after the next delay of OUTBOUND_WEBHOOK_RETRY_SCHEDULE, and given up after the last one.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Runtime } from '../runtime.ts';
import { SIGNATURE_HEADERS, signedHeaders } from '../shared/signing.ts';
import { webhookOutboxStore, type OutboxEntry, type WebhookOutboxStore } from '../store/repositories/webhook-outbox.ts';

export interface DispatcherOptions {
  outbox: WebhookOutboxStore;
  secret: string;
  /** Delay before each retry; attempts = delays + 1. */
  retryDelaysMs: readonly number[];
  timeoutMs: number;
  log: Logger;
  metrics: Metrics;
  /** How often an idle dispatcher looks for due entries. */
  pollMs?: number;
  /** Parallel deliveries. */
  concurrency?: number;
  clock?: () => Date;
}

export interface OutboundDispatcher {
  /** Look for due entries now instead of at the next poll. */
  kick(): void;
  stop(): Promise<void>;
}

export function startOutboundDispatcher(opts: DispatcherOptions): OutboundDispatcher {
  const owner = `dispatcher-${process.pid}-${randomBytes(4).toString('hex')}`;
  const clock = opts.clock ?? (() => new Date());
  const pollMs = opts.pollMs ?? 1_000;
  const leaseMs = opts.timeoutMs + 30_000;
  const log = opts.log.child({ component: 'webhook-dispatcher' });
  let running = true;
  const stopping = new AbortController();
  const wakers = new Set<() => void>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakers.add(wake);
    });

  const loop = async () => {
    while (running) {
      let entry: OutboxEntry | null = null;
      try {
        entry = await opts.outbox.lease(owner, clock(), leaseMs);
      } catch (err) {
        log.error({ err, code: 'WEBHOOK_OUT_LEASE_FAILED' }, 'could not read the webhook outbox');
      }
      if (!entry) {
        await sleep(pollMs);
        continue;
      }
      await deliver(entry).catch((err) => log.error({ err, code: 'WEBHOOK_OUT_FAILED', outboxId: entry.id }, 'webhook bookkeeping failed'));
    }
  };

  const deliver = async (entry: OutboxEntry) => {
    const headers = {
      ...signedHeaders(opts.secret, entry.body, { now: clock(), deliveryId: entry.id }),
      [SIGNATURE_HEADERS.event]: entry.type,
      'user-agent': 'smtpdesk-webhooks/1',
    };
    let status: number | undefined;
    let error: string | undefined;
    try {
      const res = await fetch(entry.url, {
        method: 'POST',
        headers,
        body: entry.body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(opts.timeoutMs), stopping.signal]),
      });
      status = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } catch (err) {
      error = err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err);
    }
    const at = clock();
    const where = { outboxId: entry.id, event: entry.type, url: redactUrl(entry.url), attempt: entry.attempts };
    if (error === undefined) {
      await opts.outbox.markDelivered(entry.id, owner, at, status!);
      opts.metrics.webhookCalls.inc({ direction: 'outbound', result: 'ok' });
      log.info({ code: 'WEBHOOK_OUT_DELIVERED', status, ...where }, `webhook ${entry.type} delivered`);
      return;
    }
    opts.metrics.webhookCalls.inc({ direction: 'outbound', result: status === undefined ? 'network_error' : 'http_error' });
    const delay = opts.retryDelaysMs[entry.attempts - 1];
    if (delay === undefined) {
      await opts.outbox.markFailed(entry.id, owner, at, { status, error, nextAttemptAt: null });
      log.error({ code: 'WEBHOOK_OUT_GAVE_UP', status, error, ...where }, `webhook ${entry.type} given up after ${entry.attempts} attempts`);
      return;
    }
    const nextAttemptAt = new Date(at.getTime() + delay);
    await opts.outbox.markFailed(entry.id, owner, at, { status, error, nextAttemptAt });
    log.warn({ code: 'WEBHOOK_OUT_RETRY', status, error, nextAttemptAt, ...where }, `webhook ${entry.type} failed (${error}); retrying`);
  };

  const loops = Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, () => loop());
  return {
    kick() {
      for (const wake of [...wakers]) wake();
    },
    async stop() {
      running = false;
      stopping.abort(new Error('dispatcher stopping'));
      for (const wake of [...wakers]) wake();
      await Promise.all(loops);
    },
  };
}

/** Credentials in a URL stay out of logs. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}

/** The dispatcher from the settings, or null when OUTBOUND_WEBHOOK_URLS or its secret is not set. */
export function startDispatcherIfConfigured(rt: Runtime): OutboundDispatcher | null {
  const { outboundWebhookUrls, outboundWebhookSecret } = rt.config.http;
  if (!outboundWebhookUrls.length || !outboundWebhookSecret) return null;
  return startOutboundDispatcher({
    outbox: webhookOutboxStore(rt.db.models),
    secret: outboundWebhookSecret,
    retryDelaysMs: rt.config.http.outboundWebhookRetryDelaysMs,
    timeoutMs: rt.config.http.outboundWebhookTimeoutMs,
    log: rt.log,
    metrics: rt.metrics,
  });
}
