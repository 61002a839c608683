// What the domain needs from the store. Implemented with mongoose in src/store/repositories.
import type { Account, AccountStatus, AccountWithSecret, AuditEntry, DeliveryCounters, MonthlyUsage, PasswordLeak, SurgeSignal, Workspace } from './model.ts';
import type { RateLimit } from './rate-limit.ts';
import type { QueueChange, QueueListFilter, QueuedMessageView } from './queue-model.ts';

export interface NewWorkspace {
  name: string;
  slackTeamId?: string;
  planId: string;
  alertChannel?: string;
  createdAt: Date;
}

export type WorkspacePatch = Partial<
  Pick<
    Workspace,
    'name' | 'planId' | 'alertChannel' | 'slackTeamId' | 'roles' | 'surgeAutoDisable' | 'credentialPolicy' | 'approvalsChannel' | 'deleteNeedsApproval' | 'reputation'
  >
>;

export interface WorkspaceRepository {
  /** Throws DomainError WORKSPACE.EXISTS when the name or Slack team is taken. */
  create(input: NewWorkspace): Promise<Workspace>;
  findById(id: string): Promise<Workspace | null>;
  findByName(name: string): Promise<Workspace | null>;
  findBySlackTeam(teamId: string): Promise<Workspace | null>;
  list(): Promise<Workspace[]>;
  update(id: string, patch: WorkspacePatch): Promise<Workspace | null>;
  /** Takes one slot if fewer than `limit` are used; false when none is free. */
  takeSlot(id: string, limit: number): Promise<boolean>;
  releaseSlot(id: string): Promise<void>;
}

export interface NewAccount {
  workspaceId: string;
  name: string;
  username: string;
  passwordHash: string;
  createdAt: Date;
  createdBy: string;
}

export interface AccountRepository {
  /** Registers a username forever; false when it was ever used before. */
  claimUsername(username: string, workspaceId: string, at: Date): Promise<boolean>;
  /** Throws DomainError ACCOUNT.NAME_TAKEN when the name is used in the workspace (ignoring case). */
  insert(input: NewAccount): Promise<Account>;
  findById(id: string): Promise<Account | null>;
  /** Several accounts by id in one read (those that exist). */
  findManyById(ids: string[]): Promise<Account[]>;
  findByName(workspaceId: string, name: string): Promise<Account | null>;
  findByUsernameWithSecret(username: string): Promise<AccountWithSecret | null>;
  listByWorkspace(workspaceId: string): Promise<Account[]>;
  countByWorkspace(workspaceId: string): Promise<number>;
  /**
   * Replaces the password hash and bumps the credential version. With `keepPrevious` the hash it replaces
   * stays valid until then (one previous password at most); without, any previous password ends too.
   * Null when the account is gone or changed meanwhile.
   */
  setPasswordHash(id: string, passwordHash: string, keepPrevious?: { validUntil: Date }, at?: Date): Promise<Account | null>;
  /** Marks the current password leaked (a rotate clears it). Null when the account is gone. */
  markPasswordLeaked(id: string, leak: PasswordLeak): Promise<Account | null>;
  /** A disable also ends a previous password kept by a rotate. */
  setStatus(id: string, status: AccountStatus, disabled: Account['disabled'] | null): Promise<Account | null>;
  /** Allowed senders and rate limit; a field left undefined is kept, null clears it. */
  setSendingPolicy(id: string, patch: { allowedSenders?: string[] | null; rateLimit?: RateLimit | null; allowedNetworks?: string[] | null }): Promise<Account | null>;
  /** Notes that the previous password authenticated at `at` (shown by accounts show). */
  markPreviousPasswordUsed(id: string, at: Date): Promise<void>;
  setSurgeSnooze(id: string, signal: SurgeSignal, until: Date): Promise<Account | null>;
  setIdleSnooze(id: string, until: Date | null): Promise<Account | null>;
  delete(id: string): Promise<boolean>;
  /** Counts one accepted message with `recipients` emails: total sent and last used, atomically. */
  recordAccepted(id: string, recipients: number, at: Date): Promise<void>;
  /** Adds delivery outcomes to the all-time counters. */
  addCounters(id: string, delta: Partial<DeliveryCounters>): Promise<void>;
}

export interface UsageRepository {
  /** Emails counted against the workspace's quota in `month`. */
  workspaceSent(workspaceId: string, month: string): Promise<number>;
  /** Reserves `emails` of the quota if the total stays within `quota`; false otherwise. Atomic. */
  reserveWorkspaceEmails(workspaceId: string, month: string, emails: number, quota: number): Promise<boolean>;
  releaseWorkspaceEmails(workspaceId: string, month: string, emails: number): Promise<void>;
  addAccountMonth(workspaceId: string, accountId: string, month: string, delta: Partial<DeliveryCounters>): Promise<void>;
  accountMonths(workspaceId: string, month: string): Promise<Map<string, MonthlyUsage>>;
  /** Adds to the account's counters of one UTC day (YYYY-MM-DD). */
  addAccountDay(workspaceId: string, accountId: string, day: string, delta: Partial<DeliveryCounters>): Promise<void>;
  /** Daily counters of these accounts on these days (one read by _id); days without a document are absent. */
  accountDays(accountIds: readonly string[], days: readonly string[]): Promise<Map<string, Map<string, DeliveryCounters>>>;
}

export interface QueueReader {
  /** Messages accepted for the account and not yet finished (delivered, bounced or failed for every recipient). */
  countQueuedForAccount(accountId: string): Promise<number>;
  /** Newest first. */
  listMessages(filter: QueueListFilter): Promise<QueuedMessageView[]>;
  findMessage(workspaceId: string, id: string): Promise<QueuedMessageView | null>;
  /** Makes every queued recipient of the account's queued messages due at `at` (skips messages being delivered). */
  makeDueNow(workspaceId: string, accountId: string, at: Date): Promise<QueueChange>;
  /** Fails every queued recipient of the account's queued messages with `reason` (skips messages being delivered). */
  failQueued(workspaceId: string, accountId: string, opts: { at: Date; reason: string }): Promise<QueueChange>;
}

export interface AuditRepository {
  append(entry: AuditEntry): Promise<void>;
  list(workspaceId: string, opts: { accountId?: string; limit: number }): Promise<AuditEntry[]>;
}
