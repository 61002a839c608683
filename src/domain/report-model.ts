// What arrives later about a delivered message, as the domain sees it: a delivery status notification
// (RFC 3464) or a feedback report (RFC 5965), already read from MIME by the bounces adapter, and the port that
// stores its effect. Apart from later-outcomes.ts so that the adapter and the store can name the types
// without importing the use case.
import type { QueuedRecipientStatus } from './queue-model.ts';

export type DeliveryKind = 'permanent' | 'transient' | 'delivered';

export interface RecipientStatus {
  /** Final-Recipient (or Original-Recipient) address, without its "rfc822;" type. */
  address: string;
  /** Action field, lower case: failed, delayed, delivered, relayed, expanded. */
  action: string;
  /** RFC 3463 status, e.g. "5.1.1" ('' when absent or malformed). */
  status: string;
  diagnostic?: string;
  kind: DeliveryKind;
}

export type DeliveryReport =
  | { type: 'dsn'; recipients: RecipientStatus[]; reportingMta?: string; originalMessageId?: string }
  | { type: 'feedback'; feedbackType: string; originalRcptTo: string[]; originalMailFrom?: string; userAgent?: string; originalMessageId?: string }
  | { type: 'unknown'; reason: string; originalMessageId?: string };

/** One recipient of one queued message, as a report about it needs it. */
export interface ReportTarget {
  queueId: string;
  /** Index in the message's recipients (what the return path carries). */
  recipient: number;
  address: string;
  workspaceId: string;
  accountId: string;
  kind: 'message' | 'bounce';
  /** As the worker recorded it during the SMTP session. */
  status: QueuedRecipientStatus;
  /** When the worker finished the recipient: the day its outcome was counted in. */
  finishedAt?: Date;
}

/** applied: counted now; duplicate: counted before (the same report again); busy: a worker holds the message. */
export type LaterApply = 'applied' | 'duplicate' | 'busy' | 'not_delivered' | 'missing';

export interface LaterEntry {
  at: Date;
  status: string;
  diagnostic?: string;
}

/** What `queue show` prints under a recipient: what arrived after the SMTP session, and when. */
export interface LaterOutcomes {
  bounced?: LaterEntry;
  transient?: LaterEntry;
  complained?: { at: Date; feedbackType: string };
}

export interface UnmatchedReport {
  at: Date;
  /** The return-path address it came to. */
  rcptTo: string;
  clientIp?: string;
  type: DeliveryReport['type'];
  reason: string;
  originalMessageId?: string;
  /** Addresses the report names (Final-Recipient, Original-Rcpt-To). */
  recipients: string[];
  size: number;
}

/** Per account over some days: the counts the rates are made of. */
export interface ReportCounts {
  delivered: number;
  bounced: number;
  failed: number;
  complaints: number;
}

export interface LaterOutcomeRepository {
  /** Every recipient of a queued message; null when the message is not (or no longer) in the queue. */
  recipientsOf(queueId: string): Promise<ReportTarget[] | null>;
  /** The recipients of the newest message with this Message-ID (the fallback match). */
  recipientsByMessageId(messageId: string): Promise<ReportTarget[]>;
  /** A delivered recipient turns bounced: delivered -1, bounced +1 for its account, exactly once. */
  applyBounce(target: ReportTarget, entry: LaterEntry): Promise<LaterApply>;
  /** Recorded on the recipient only; no counter moves. */
  recordTransient(target: ReportTarget, entry: LaterEntry): Promise<void>;
  /** One complaint for the account, exactly once per recipient. */
  applyComplaint(target: ReportTarget, entry: { at: Date; feedbackType: string }): Promise<LaterApply>;
  /** What arrived later for each recipient index of a message. */
  laterOutcomes(queueId: string): Promise<Map<number, LaterOutcomes>>;
  keepUnmatched(report: UnmatchedReport): Promise<void>;
  listUnmatched(limit: number): Promise<UnmatchedReport[]>;
  countUnmatched(): Promise<number>;
  /** Summed over these UTC days (YYYY-MM-DD), per account. */
  reportCounts(accountIds: readonly string[], days: readonly string[]): Promise<Map<string, ReportCounts>>;
}
