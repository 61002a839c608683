// Everything a use case needs, passed in by the composition root (no module-level singletons).
import type { Clock } from './clock.ts';
import type { EventSink } from './events.ts';
import type { RateWindowRepository } from './rate-limit.ts';
import type { AccountHourRepository } from './surge-model.ts';
import type { SendingDomainRepository } from './dkim-model.ts';
import type { AccountRepository, AuditRepository, QueueReader, UsageRepository, WorkspaceRepository } from './ports.ts';
import type { SecretBox } from './secret-box.ts';
import type { SuppressionRepository } from './suppression-model.ts';
import type { AccountRequestRepository } from './account-request-model.ts';
import type { MessageSearch } from './trace-model.ts';

export interface DomainContext {
  workspaces: WorkspaceRepository;
  accounts: AccountRepository;
  usage: UsageRepository;
  queue: QueueReader;
  audit: AuditRepository;
  /** Shared rate-limit windows (only accounts with a rate limit touch them). */
  rateWindows: RateWindowRepository;
  /** Per account and hour: recipients, refusals, client networks (the surge job's history). */
  accountHours: AccountHourRepository;
  domains: SendingDomainRepository;
  suppressions: SuppressionRepository;
  /** Account requests waiting for an admin's decision (src/domain/account-requests.ts). */
  accountRequests: AccountRequestRepository;
  /** "Where is my email": queued messages by recipient, Message-ID or queue id (src/domain/trace.ts). */
  messageSearch: MessageSearch;
  /** Seals DKIM private keys (SMTPDESK_SECRET_KEY); absent when the key is not configured. */
  secrets?: SecretBox;
  events: EventSink;
  /** Holds the network-refusal alerts of an account until a time ("Expected"; src/domain/network-refusals.ts). */
  holdNetworkRefusalAlerts?: (accountId: string, until: Date) => Promise<void>;
  clock: Clock;
  bcryptCost: number;
  /** Accounts with no send for this many days are "idle" (and worth a warning before delete). */
  idleAfterDays: number;
}
