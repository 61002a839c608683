// The http role: admin webhooks, /healthz, /readyz and /metrics on HTTP_HOST:HTTP_PORT, plus the
// outbound event webhook dispatcher (when OUTBOUND_WEBHOOK_URLS is set; started by the composition root,
// src/roles.ts, since it is the webhooks adapter's) and the pruning of old webhook records. Several http
// instances may run: the outbox is leased and deliveries are claimed in MongoDB.
import type { RoleStarter } from '../role-starter.ts';
import type { Runtime } from '../runtime.ts';
import { listenAddress } from '../shared/startup-errors.ts';
import { webhookDeliveryStore } from '../store/repositories/webhook-deliveries.ts';
import { webhookOutboxStore } from '../store/repositories/webhook-outbox.ts';
import { startHttpServer } from './server.ts';

/** Inbound delivery ids and finished outbox entries are kept this long, then pruned by code (no TTL index). */
export const WEBHOOK_RECORD_RETENTION_MS = 7 * 86_400_000;
const PRUNE_EVERY_MS = 10 * 60_000;

/** Work that runs beside the server in this role and stops with it (the outbound webhook dispatcher). */
export interface HttpCompanion {
  stop(): Promise<void>;
}

/** The role, with the dispatcher the composition root starts (null when outbound webhooks are off). */
export const httpRole =
  (dispatcherFor: (rt: Runtime) => HttpCompanion | null): RoleStarter =>
  async (rt, env) => {
    const server = await startHttpServer(rt, env ? { readiness: () => env.readiness() } : {});
    const dispatcher = dispatcherFor(rt);
    const prune = () => pruneWebhookRecords(rt).catch((err) => rt.log.warn({ err, code: 'WEBHOOK_PRUNE_FAILED' }, 'pruning webhook records failed'));
    void prune();
    const pruner = setInterval(() => void prune(), PRUNE_EVERY_MS);
    pruner.unref();

    const outbound = dispatcher ? `; outbound webhooks to ${rt.config.http.outboundWebhookUrls.length} URL(s)` : '';
    return {
      description: `HTTP on ${listenAddress(rt.config.http.host, server.port)} (admin webhooks at /webhooks/admin, /healthz, /readyz, /metrics)${outbound}`,
      ready: () => true,
      async stop() {
        clearInterval(pruner);
        await dispatcher?.stop();
        await server.close();
      },
    };
  };

export async function pruneWebhookRecords(rt: Runtime, now = new Date()): Promise<{ deliveries: number; outbox: number }> {
  // Never shorter than the signature window, or a captured request could be replayed once its record is gone.
  const keepMs = Math.max(WEBHOOK_RECORD_RETENTION_MS, 2 * rt.config.http.webhookToleranceMs);
  const before = new Date(now.getTime() - keepMs);
  const deliveries = await webhookDeliveryStore(rt.db.models).prune(before);
  const outbox = await webhookOutboxStore(rt.db.models).prune(before);
  if (deliveries || outbox) rt.log.info({ code: 'WEBHOOK_PRUNED', deliveries, outbox }, 'pruned old webhook records');
  return { deliveries, outbox };
}
