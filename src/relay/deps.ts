// What every relay handler is built from (handlers are factories: `(deps) => (…, session, callback) => …`).
import type { SMTPServerSession } from 'smtp-server';
import type { Config } from '../config.ts';
import type { DomainContext, SmtpPrincipal } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Queue } from '../store/queue/index.ts';
import type { CommitQueue } from './commit.ts';
import type { SharedLockouts } from './shared-lockouts.ts';
import type { CredentialCache } from './credential-cache.ts';
import type { RepairQueue } from './repairs.ts';
import type { SuppressionCache } from './suppression-cache.ts';
import type { SessionChecker } from './session-check.ts';
import type { AcceptedHourCounter, RefusalCounter } from './hourly-counts.ts';

export type RelaySettings = Config['relay'];

export interface RelayState {
  stopping: boolean;
  /** Messages between end of DATA and the final reply (shutdown waits for them). */
  messagesInFlight: number;
}

export interface RelayDeps {
  ctx: DomainContext;
  log: Logger;
  metrics: Metrics;
  settings: RelaySettings;
  queue: Queue;
  /** Group commit of accepted messages. */
  commits: CommitQueue;
  credentialCache?: CredentialCache;
  /** The MAIL FROM check (shared reads, a short cache). */
  sessionCheck: SessionChecker;
  /** Failed-AUTH counters shared through the database, cached in memory. */
  bruteForce: SharedLockouts;
  repairs: RepairQueue;
  /** Refused recipients per account and hour, for the surge job (flushed in batches). */
  refusals: RefusalCounter;
  /** The surge job's hourly history of accepted recipients, written every second. */
  acceptedHours: AcceptedHourCounter;
  suppressions: SuppressionCache;
  state: RelayState;
  /** Name of this relay instance, stored with each message. */
  relayHost: string;
}

/** The account a session authenticated as (smtp-server keeps it in session.user). */
export function sessionPrincipal(session: SMTPServerSession): SmtpPrincipal | undefined {
  const user = session.user as SmtpPrincipal | undefined;
  return user && typeof user.accountId === 'string' ? user : undefined;
}

/** Fields every log line about a session carries. */
export function sessionFields(session: SMTPServerSession): Record<string, unknown> {
  const p = sessionPrincipal(session);
  return { session: session.id, ip: session.remoteAddress, ...(p ? { username: p.username, accountId: p.accountId } : {}) };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/i;
export function isLoopback(address: string): boolean {
  return LOOPBACK.test(address);
}
