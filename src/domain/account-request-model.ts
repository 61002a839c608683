// Account requests: a member asks, an admin other than the requester decides (src/domain/account-requests.ts).
// The record type and what the domain needs from the store (src/store/repositories/account-requests.ts).
import type { AuditEntry } from './model.ts';

/** 'create': a new account for the requester; 'delete': a delete that needs a second admin. */
export type AccountRequestKind = 'create' | 'delete';
export type AccountRequestStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'failed';

export interface AccountRequest {
  id: string;
  workspaceId: string;
  kind: AccountRequestKind;
  accountName: string;
  reason?: string;
  /** Delete only: the requester agreed to drop queued mail. */
  force?: boolean;
  requestedBy: AuditEntry['actor'];
  status: AccountRequestStatus;
  createdAt: Date;
  /** After this a decision is refused and the request is marked expired. */
  expiresAt: Date;
  decidedBy?: AuditEntry['actor'];
  decidedAt?: Date;
  /** What came of it, in words (the username created, or why creating failed). */
  outcome?: string;
  /** The card in the approvals channel, updated with the outcome. */
  card?: { channel: string; ts: string };
}

export type NewAccountRequest = Omit<AccountRequest, 'id' | 'status' | 'decidedBy' | 'decidedAt' | 'outcome' | 'card'>;

export interface AccountRequestRepository {
  insert(input: NewAccountRequest): Promise<AccountRequest>;
  findById(workspaceId: string, id: string): Promise<AccountRequest | null>;
  /**
   * Compare-and-set, once across every instance: moves a pending request to `status`. Null when it was not
   * pending any more (someone decided first, or it expired).
   */
  decide(workspaceId: string, id: string, change: { status: Exclude<AccountRequestStatus, 'pending'>; by: AuditEntry['actor']; at: Date }): Promise<AccountRequest | null>;
  /** Records what came of an approved request (and turns it into 'failed' when the change could not be made). */
  setOutcome(id: string, outcome: string, failed?: boolean): Promise<void>;
  setCard(id: string, card: { channel: string; ts: string }): Promise<void>;
}
