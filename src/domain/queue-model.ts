// The outbound queue's one record type. The store reads and writes it (src/store/queue), the worker
// delivers it, `smtpdesk queue` shows it: no other shape of a queued message exists.

export type QueuedRecipientStatus = 'queued' | 'delivered' | 'bounced' | 'failed';

export interface QueuedRecipient {
  address: string;
  /** Lower-cased domain of the address (MX grouping). */
  domain: string;
  status: QueuedRecipientStatus;
  attempts: number;
  nextAttemptAt?: Date;
  lastAttemptAt?: Date;
  /** The last temporary or permanent failure, as the receiving server (or DNS, or the connection) put it. */
  lastError?: string;
  finishedAt?: Date;
  /** The next hop's answer on delivery. */
  response?: string;
}

export interface QueuedMessage {
  /** 24 hex digits (a MongoDB ObjectId chosen by the relay before the write). */
  id: string;
  workspaceId: string;
  accountId: string;
  username: string;
  /** 'bounce': a delivery status notice smtpdesk wrote to a sender (not counted in the account's statistics). */
  kind: 'message' | 'bounce';
  /** Envelope sender; '' is the null sender <>. */
  from: string;
  recipients: QueuedRecipient[];
  /** 'queued' until every recipient is delivered, bounced or failed. */
  state: 'queued' | 'done';
  /** Bytes of the stored message (our headers included). */
  size: number;
  /** Body chunks stored apart from the message document (large messages; 0 for most). */
  chunks: number;
  messageId?: string;
  subject?: string;
  clientIp?: string;
  relayHost?: string;
  createdAt: Date;
  /** Earliest time any queued recipient may be tried again (a lease pushes it to the lease's end). */
  nextAttemptAt: Date;
  finishedAt?: Date;
  /** Set while a worker (or an admin change) holds the message. */
  leaseOwner?: string;
  leaseUntil?: Date;
  /** Times a worker leased the message: more than the attempts made means a worker died holding it. */
  leaseCount: number;
  bodyRemovedAt?: Date;
}

/** What `smtpdesk queue` lists: the record, with the account's name filled in by the use case. */
export interface QueuedMessageView extends QueuedMessage {
  /** Absent for a deleted account. */
  accountName?: string;
}

export interface QueueListFilter {
  workspaceId: string;
  accountId?: string;
  state?: 'queued' | 'done';
  limit: number;
}

/** What a retry or purge did. */
export interface QueueChange {
  /** Messages changed. */
  messages: number;
  /** Recipients of the account's own messages changed (bounce notices not included). */
  recipients: number;
  /** Recipients of bounce notices changed. */
  noticeRecipients: number;
  /** Messages left alone because a worker was delivering them at that moment. */
  inFlight: number;
}
