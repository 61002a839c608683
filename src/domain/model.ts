// The domain's records, as the store hands them over (no mongoose types here).
import type { Actor, Source } from './actor.ts';
import type { RateLimit } from './rate-limit.ts';

/** Per workspace (`workspace set --reputation-…`): rates over the last 30 days, as fractions (0.05 = 5 %). */
export interface ReputationSettings {
  warnBounceRate: number;
  warnComplaintRate: number;
  pauseBounceRate: number;
  pauseComplaintRate: number;
  /** Outcomes (delivered + bounced + failed) in the window before any rate counts. */
  minVolume: number;
  /** At the pause level the account is disabled with reason `reputation` (false: warn only). */
  pause: boolean;
}

/** What the surge job watches for (src/domain/surge.ts). */
export const SURGE_SIGNALS = ['volume', 'network', 'refused'] as const;
export type SurgeSignal = (typeof SURGE_SIGNALS)[number];

export type AccountStatus = 'active' | 'disabled';
/** The reasons people choose from (Slack's disable modal, the CLI's --reason, the admin webhook). */
export const DISABLE_REASONS = ['maintenance', 'suspected_compromise', 'decommissioning', 'other'] as const;
/** Reasons smtpdesk sets itself: 'leaked' by a leak report (src/domain/leaks.ts); enabling again waits for a rotate. */
export const SYSTEM_DISABLE_REASONS = ['leaked'] as const;
/** reputation: paused by the reputation guard, or by *Pause now* on its warning (never picked in a form). */
export type DisableReason = (typeof DISABLE_REASONS)[number] | (typeof SYSTEM_DISABLE_REASONS)[number] | 'reputation';

export interface DeliveryCounters {
  sent: number;
  delivered: number;
  bounced: number;
  deferred: number;
  failed: number;
}

export interface Workspace {
  id: string;
  /** Surge alerts disable the account at once (and say so) instead of waiting for a click. */
  surgeAutoDisable?: boolean;
  /** The reputation guard's thresholds and whether it pauses (src/domain/reputation.ts); absent: the defaults. */
  reputation?: Partial<ReputationSettings>;
  name: string;
  slackTeamId?: string;
  planId: string;
  alertChannel?: string;
  roles: { admins: string[]; responders: string[]; adminGroup?: string; responderGroup?: string };
  /** Accounts that exist now; kept with atomic $inc so parallel creates cannot pass the plan's slots. */
  slotsUsed: number;
  createdAt: Date;
  /** Slack channel where account requests (and deletes needing a second admin) are posted for approval. */
  approvalsChannel?: string;
  /** A delete asked in Slack waits for a second admin's approval. */
  deleteNeedsApproval?: boolean;
  /** Leak reports, credential hygiene and allowed networks (issue 18): src/domain/credential-policy.ts. */
  credentialPolicy?: CredentialPolicy;
}

/** What a workspace does about leaked and stale passwords; every field optional (defaults in credential-policy.ts). */
export interface CredentialPolicy {
  /** What a leak report of a live password does: disable the account (default) or rotate its password. */
  onLeak?: 'disable' | 'rotate';
  /** The hygiene digest lists passwords older than this. */
  maxPasswordAgeDays?: number;
  /** The hygiene digest lists accounts not used for this long. */
  unusedAfterDays?: number;
}

export interface Account {
  id: string;
  workspaceId: string;
  name: string;
  username: string;
  /** Bumped on rotate, disable, enable and delete: invalidates every cached credential at once. */
  credentialVersion: number;
  status: AccountStatus;
  disabled?: { by: string; at: Date; reason: DisableReason; note?: string };
  createdAt: Date;
  createdBy: string;
  lastUsedAt?: Date;
  counters: DeliveryCounters;
  /** Idle flag snoozed ("keep") until this time. */
  idleSnoozedUntil?: Date;
  /** Allowed senders (src/domain/sender-policy.ts); empty: any sender. */
  allowedSenders: string[];
  /** Recipients per minute, hour or day (src/domain/rate-limit.ts); absent: no limit. */
  rateLimit?: RateLimit;
  /**
   * After a rotate that keeps the old password: it still authenticates until `validUntil`. `credentialVersion`
   * is the version it had, so sessions and cached credentials made with it live exactly as long.
   */
  previousPassword?: { validUntil: Date; credentialVersion: number; lastUsedAt?: Date };
  /** Surge signals marked "Expected", each until a time. */
  surgeSnoozes?: Partial<Record<SurgeSignal, Date>>;
  /** CIDR ranges AUTH is accepted from (src/domain/allowed-networks.ts); absent or empty: anywhere. */
  allowedNetworks?: string[];
  /** When the current password was set by a rotate (absent: at creation). */
  passwordChangedAt?: Date;
  /** The current password was reported leaked: enabling the account waits for a rotate, which clears this. */
  passwordLeak?: PasswordLeak;
}

export interface PasswordLeak {
  at: Date;
  /** Where it was found (a leak report's url and source), for people. */
  url?: string;
  source?: string;
}

export interface AccountWithSecret extends Account {
  passwordHash: string;
  /** Present while previousPassword is. */
  previousPasswordHash?: string;
}

/** What the relay enforces for a session, read with the account on every AUTH and MAIL FROM. */
export interface SendingPolicy {
  allowedSenders: string[];
  rateLimit?: RateLimit;
}

export interface MonthlyUsage extends DeliveryCounters {
  month: string;
}

export interface AuditEntry {
  id?: string;
  workspaceId: string;
  at: Date;
  actor: { source: Source; id: string; name?: string };
  action: string;
  accountId?: string;
  accountName?: string;
  username?: string;
  details?: Record<string, unknown>;
}

export function auditActor(actor: Actor): AuditEntry['actor'] {
  return actor.name ? { source: actor.source, id: actor.id, name: actor.name } : { source: actor.source, id: actor.id };
}
