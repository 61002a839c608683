// Domain events: published after a change is stored and audited. Subscribers (the Slack alert
// channel, outbound webhooks, metrics) live in adapters; a failing subscriber never undoes a change.
import type { Actor } from './actor.ts';
import type { AccountStatus, DisableReason } from './model.ts';

export type EventType =
  | 'account.created'
  | 'account.rotated'
  | 'account.disabled'
  | 'account.enabled'
  | 'account.deleted'
  | 'account.kept'
  | 'account.idle'
  | 'account.limits_changed'
  | 'account.surge'
  | 'account.surge_snoozed'
  | 'account.leaked'
  | 'account.network_refused'
  | 'plan.changed'
  | 'plan.near_limit'
  | 'workspace.created'
  | 'workspace.updated'
  | 'queue.retried'
  | 'queue.purged'
  | 'domain.added'
  | 'domain.verified'
  | 'domain.key_rotated'
  | 'domain.removed'
  | 'suppression.added'
  | 'suppression.removed'
  | 'request.created'
  | 'request.approved'
  | 'request.denied'
  | 'request.expired'
  | 'request.failed'
  | 'message.bounced'
  | 'message.complained'
  | 'account.reputation';

/**
 * Changes people make (from Slack, the CLI or a webhook), as opposed to the flags the scheduled jobs raise
 * (account.idle, plan.near_limit), which their jobs post themselves with their own buttons.
 */
export const CHANGE_EVENTS: readonly EventType[] = [
  'account.created',
  'account.rotated',
  'account.disabled',
  'account.enabled',
  'account.deleted',
  'account.kept',
  'account.limits_changed',
  'account.surge_snoozed',
  'plan.changed',
  'workspace.created',
  'workspace.updated',
];

/** What an event may say of an account: never the password or its hash. */
export interface AccountSummary {
  id: string;
  name: string;
  username: string;
  status: AccountStatus;
}

export interface DomainEvent {
  type: EventType;
  workspaceId: string;
  at: Date;
  actor: Pick<Actor, 'source' | 'id' | 'name'>;
  account?: AccountSummary;
  reason?: DisableReason;
  note?: string;
  details?: Record<string, unknown>;
}

export interface EventSink {
  publish(event: DomainEvent): void | Promise<void>;
}

/** Fans an event out to every sink; errors are reported, never thrown back into the use case. */
export class EventBus implements EventSink {
  private readonly sinks: EventSink[] = [];
  constructor(private readonly onError: (err: unknown, event: DomainEvent) => void = () => {}) {}

  subscribe(sink: EventSink): () => void {
    this.sinks.push(sink);
    return () => {
      const i = this.sinks.indexOf(sink);
      if (i >= 0) this.sinks.splice(i, 1);
    };
  }

  async publish(event: DomainEvent): Promise<void> {
    await Promise.all(
      this.sinks.map(async (s) => {
        try {
          await s.publish(event);
        } catch (err) {
          this.onError(err, event);
        }
      }),
    );
  }
}
