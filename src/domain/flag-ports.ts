// What the flag use cases need from the store. Implemented with mongoose in src/store/repositories/flags.ts.
import type { FlagKind } from './flags.ts';
import type { Account } from './model.ts';

/** The flags of one kind raised for one workspace, as last stored. One document per workspace and kind. */
export interface FlagState {
  workspaceId: string;
  kind: FlagKind;
  /** flagFingerprint(flagged): equal flagged sets have equal fingerprints; '' when nothing is flagged. */
  fingerprint: string;
  /** Idle accounts: account ids. Plan limits: keys such as "slots:near", "quota:80@2026-11". */
  flagged: string[];
  /** When the current run of flags began (the first raise after a clear); null while nothing is flagged. */
  raisedAt: Date | null;
  updatedAt: Date;
  alert: FlagAlert;
}

export interface FlagAlert {
  /** An alert is due and not yet posted (the chat was unreachable, or this process cannot post). */
  pending: boolean;
  /** Where the last alert went. */
  channel?: string;
  ts?: string;
  postedAt?: Date;
  /** What was flagged when the last alert went out: an alert posted late still says what is new since then. */
  postedFlagged?: string[];
}

export interface FlagRepository {
  /**
   * Accounts that may be idle: no send since `cutoff`, or never used and created before it. The domain's
   * isIdle decides (snoozes included); this is the index-backed pre-filter. Never returns the password hash.
   */
  idleCandidates(cutoff: Date, workspaceId?: string): Promise<Account[]>;
  /** Every account of these workspaces, in one query (never the password hash). */
  accountsOfWorkspaces(workspaceIds: string[]): Promise<Account[]>;
  get(workspaceId: string, kind: FlagKind): Promise<FlagState | null>;
  list(kind: FlagKind, workspaceId?: string): Promise<FlagState[]>;
  /**
   * Stores `next` only if the stored fingerprint is still `expectedFingerprint` (null: no state stored yet).
   * One atomic single-document write, so of several callers racing on one change exactly one gets true.
   */
  replace(expectedFingerprint: string | null, next: FlagState): Promise<boolean>;
  /** Takes a pending alert for posting (pending -> false) if the state still has `fingerprint`; true for one caller. */
  claimPendingAlert(workspaceId: string, kind: FlagKind, fingerprint: string): Promise<boolean>;
  /** Records the outcome of posting (or puts the alert back as pending when posting failed). */
  recordAlert(workspaceId: string, kind: FlagKind, fingerprint: string, alert: FlagAlert): Promise<void>;
}
