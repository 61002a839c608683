// "Where is my email" (src/domain/trace.ts): the queue searched by recipient, Message-ID or queue id, within
// one workspace, newest first. On MongoDB each lookup is served by an index (declared with the model in
// src/store/models/queued-message.ts):
//   recipient   { workspaceId: 1, 'recipients.address': 1, createdAt: -1 }   (a multikey index)
//   Message-ID  { workspaceId: 1, messageId: 1, createdAt: -1 }
//   queue id    _id
// Messages stay findable while the queue keeps them (DELIVERY_RETENTION_DAYS removes bodies, not records).
import type { MessageSearch, MessageSearchQuery, TracedMessage, TracedRecipient } from '../../domain/trace-model.ts';
import type { Models } from '../models/index.ts';
import { isQueueId, oid, queueCollections, recordOf, WITHOUT_BODY, type Document } from './record.ts';

/** Recipient fields the queue itself writes; anything else on a recipient (later bounces, complaints) is passed on as `later`. */
const RECIPIENT_FIELDS = new Set(['address', 'domain', 'status', 'attempts', 'nextAttemptAt', 'lastAttemptAt', 'lastError', 'finishedAt', 'response']);

/** The filter of a lookup (exported for the index test: explain() shows which index serves it). */
export function traceFilter(q: MessageSearchQuery): Document {
  const filter: Document = { workspaceId: q.workspaceId };
  if (q.kind === 'queue-id') filter._id = isQueueId(q.value) ? oid(q.value) : null;
  else if (q.kind === 'message-id') filter.messageId = q.value;
  else filter['recipients.address'] = q.value;
  if (q.since) filter.createdAt = { $gte: q.since };
  return filter;
}

/** Later outcomes, read if another part of smtpdesk recorded them on the recipient, tolerated when absent. */
function laterOf(raw: Document | undefined): Record<string, unknown> | undefined {
  if (!raw) return undefined;
  const extra = Object.entries(raw).filter(([k, v]) => !RECIPIENT_FIELDS.has(k) && v !== null && v !== undefined);
  return extra.length ? Object.fromEntries(extra) : undefined;
}

function traced(doc: Document): TracedMessage {
  const record = recordOf(doc);
  const raws = (doc.recipients as Document[] | undefined) ?? [];
  const recipients: TracedRecipient[] = record.recipients.map((r, i) => {
    const later = laterOf(raws[i]);
    return later ? { ...r, later } : r;
  });
  return { ...record, recipients };
}

export function messageSearch(models: Models): MessageSearch {
  const c = queueCollections(models);
  return {
    async find(q) {
      if (q.kind === 'queue-id' && !isQueueId(q.value)) return [];
      const rows = await c.messages
        .find(traceFilter(q), { projection: WITHOUT_BODY })
        .sort({ createdAt: -1 })
        .limit(Math.max(1, Math.min(q.limit, 200)))
        .toArray();
      return rows.map(traced);
    },
  };
}
