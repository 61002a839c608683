// An EventSink that writes each outbound-worthy domain event to the webhook outbox in MongoDB, one entry
// per URL. Registered by the runtime in every process when OUTBOUND_WEBHOOK_URLS is set, so a change made
// from the CLI, Slack, a job or an admin webhook produces its event; the http role's dispatcher sends it.
import { randomUUID } from 'node:crypto';
import type { DomainEvent, EventSink } from '../domain/index.ts';
import type { WorkspaceRepository } from '../domain/ports.ts';
import type { WebhookOutboxStore } from '../store/repositories/webhook-outbox.ts';
import { buildPayload, OUTBOUND_EVENT_TYPES } from './payload.ts';

export interface OutboxSinkDeps {
  outbox: WebhookOutboxStore;
  workspaces: Pick<WorkspaceRepository, 'findById'>;
  urls: readonly string[];
  clock?: () => Date;
}

export function outboxEventSink(deps: OutboxSinkDeps): EventSink {
  const clock = deps.clock ?? (() => new Date());
  return {
    async publish(event: DomainEvent) {
      if (deps.urls.length === 0 || !OUTBOUND_EVENT_TYPES.includes(event.type)) return;
      const workspace = await deps.workspaces.findById(event.workspaceId).catch(() => null);
      const id = randomUUID();
      const body = JSON.stringify(buildPayload(id, event, workspace));
      await deps.outbox.add({ eventId: id, type: event.type, urls: deps.urls, body, at: clock() });
    },
  };
}
