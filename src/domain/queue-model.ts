// The outbound queue as the domain sees it: what `smtpdesk queue` (and any other adapter) shows and changes.

export type QueuedRecipientStatus = 'queued' | 'delivered' | 'bounced' | 'failed';

export interface QueuedRecipientView {
  address: string;
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

export interface QueuedMessageView {
  id: string;
  workspaceId: string;
  accountId: string;
  /** Filled in by the use case from the workspace's accounts (absent for a deleted account). */
  accountName?: string;
  username: string;
  /** 'bounce': a delivery status notice smtpdesk wrote to a sender. */
  kind: 'message' | 'bounce';
  /** Envelope sender; '' is the null sender <>. */
  from: string;
  recipients: QueuedRecipientView[];
  state: 'queued' | 'done';
  size: number;
  messageId?: string;
  subject?: string;
  createdAt: Date;
  nextAttemptAt: Date;
  finishedAt?: Date;
  /** Set while a worker is delivering it. */
  leaseOwner?: string;
  leaseUntil?: Date;
  leaseCount: number;
  bodyRemovedAt?: Date;
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
