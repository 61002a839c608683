// A suppression list entry and the port that stores it: apart from suppressions.ts so that DomainContext can
// name the port without importing the use cases (which import DomainContext).
export interface Suppression {
  workspaceId: string;
  /** As first seen (the list matches it ignoring case). */
  address: string;
  at: Date;
  /** complaint: the recipient reported a message as spam (RFC 5965 feedback, src/domain/later-outcomes.ts). */
  source: 'bounce' | 'complaint' | 'manual';
  /** The receiving server's answer, or the note of whoever added it. */
  reason: string;
  by?: string;
}

export interface SuppressionRepository {
  /** Adds or refreshes the entry (one upsert by deterministic _id) and bumps the workspace's list version. */
  upsert(entry: Suppression): Promise<void>;
  /** False when it was not on the list. Bumps the list version. */
  remove(workspaceId: string, address: string): Promise<boolean>;
  find(workspaceId: string, address: string): Promise<Suppression | null>;
  list(workspaceId: string, opts?: { limit?: number }): Promise<Suppression[]>;
  /** The list's version: changes with every add and removal (what caches compare). */
  version(workspaceId: string): Promise<number>;
}
