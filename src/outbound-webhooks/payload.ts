// The JSON body of an outbound event webhook. Built from a domain event, which never carries a password;
// `details` is scrubbed of anything named like a secret all the same, in case a publisher slips one in.
import type { DomainEvent, EventType, Workspace } from '../domain/index.ts';

/** The events sent to OUTBOUND_WEBHOOK_URLS. */
export const OUTBOUND_EVENT_TYPES: readonly EventType[] = [
  'account.created',
  'account.disabled',
  'account.enabled',
  'account.deleted',
  'account.rotated',
  'account.idle',
  'account.surge',
  'account.leaked',
  'plan.near_limit',
  'message.bounced',
  'message.complained',
  'account.reputation',
];

export interface OutboundEventPayload {
  id: string;
  type: EventType;
  occurredAt: string;
  workspace: { id: string; name: string | null };
  account: { id: string; name: string; username: string; status: string } | null;
  actor: { source: string; id: string; name?: string };
  /** disable: maintenance, suspected_compromise, decommissioning or other; otherwise null. */
  reason: string | null;
  details: Record<string, unknown>;
}

const SECRET_KEY = /pass(word)?|secret|hash|token|credential/i;

export function buildPayload(id: string, event: DomainEvent, workspace: Pick<Workspace, 'id' | 'name'> | null): OutboundEventPayload {
  const details = scrub({ ...(event.details ?? {}), ...(event.note ? { note: event.note } : {}) }) as Record<string, unknown>;
  return {
    id,
    type: event.type,
    occurredAt: event.at.toISOString(),
    workspace: { id: event.workspaceId, name: workspace?.name ?? null },
    account: event.account ? { id: event.account.id, name: event.account.name, username: event.account.username, status: event.account.status } : null,
    actor: { source: event.actor.source, id: event.actor.id, ...(event.actor.name ? { name: event.actor.name } : {}) },
    reason: event.reason ?? null,
    details,
  };
}

function scrub(value: unknown, depth = 0): unknown {
  if (depth > 8) return null;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!SECRET_KEY.test(k)) out[k] = scrub(v, depth + 1);
    return out;
  }
  return value;
}
