// GET /metrics: the process's prom-client registry in the Prometheus text format. Gauges that describe
// shared state (the outbound queue, the webhook outbox) are refreshed from the database on each scrape (the
// queue's depth at most a small share of the time: on FerretDB that count reads the whole queue); when the
// database does not answer in time the last values are served.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Runtime } from '../runtime.ts';
import { webhookOutboxStore } from '../store/repositories/webhook-outbox.ts';
import { HttpError } from './errors.ts';
import type { Route } from './route.ts';

const REFRESH_TIMEOUT_MS = 2_000;

export function metricsRoutes(rt: Runtime): Route[] {
  return [
    {
      method: 'GET',
      path: '/metrics',
      async handle({ req }) {
        const token = rt.config.http.metricsBearerToken;
        if (token && !bearerMatches(req, token)) {
          throw new HttpError(
            'HTTP.UNAUTHORIZED',
            'GET /metrics needs Authorization: Bearer <METRICS_BEARER_TOKEN>.',
            {},
            { 'www-authenticate': 'Bearer realm="smtpdesk metrics"' },
          );
        }
        await refreshGauges(rt);
        return { status: 200, text: await rt.metrics.registry.metrics(), contentType: rt.metrics.registry.contentType };
      },
    },
  ];
}

async function refreshGauges(rt: Runtime): Promise<void> {
  const outboxStore = webhookOutboxStore(rt.db.models);
  let timer: NodeJS.Timeout | undefined;
  try {
    const [queued, outbox] = await Promise.race([
      Promise.all([rt.queue.depth.sample(), outboxStore.countPending()]),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${REFRESH_TIMEOUT_MS} ms`)), REFRESH_TIMEOUT_MS);
      }),
    ]);
    if (queued !== null) rt.metrics.queueDepth.set(queued);
    rt.metrics.webhookOutboxPending.set(outbox);
  } catch (err) {
    rt.log.warn({ code: 'METRICS_REFRESH_FAILED', err }, 'could not refresh queue gauges; serving the last values');
  } finally {
    clearTimeout(timer);
  }
}

/** Compared as SHA-256 digests in constant time, so neither the length nor a prefix of the token leaks. */
function bearerMatches(req: IncomingMessage, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!), digest(token));
}
