// "Where is my email": what a lookup in the queue finds (src/domain/trace.ts; the store's side is
// src/store/queue/find.ts).
import type { QueuedMessage, QueuedRecipient } from './queue-model.ts';

export type TraceKind = 'recipient' | 'message-id' | 'queue-id';

export interface MessageSearchQuery {
  workspaceId: string;
  kind: TraceKind;
  /** An address (lower-cased), a Message-ID with its angle brackets, or a queue id. */
  value: string;
  /** Only messages accepted at or after this time. */
  since?: Date;
  limit: number;
}

/** A recipient as traced: its outcome, plus what arrived later (DSN bounces, complaints) once that is recorded. */
export interface TracedRecipient extends QueuedRecipient {
  /** Fields about later outcomes stored on the recipient (bounces and complaints reported after delivery), as stored. */
  later?: Record<string, unknown>;
}

export interface TracedMessage extends Omit<QueuedMessage, 'recipients'> {
  recipients: TracedRecipient[];
  /** Absent for a deleted account. */
  accountName?: string;
}

export interface MessageSearch {
  /** Newest first, within the workspace only. */
  find(q: MessageSearchQuery): Promise<TracedMessage[]>;
}
