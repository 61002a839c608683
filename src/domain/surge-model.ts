// The data surge rules read and the port that stores it: apart from surge.ts so that DomainContext can name
// the port without importing the use cases (which import DomainContext).
/** One account's counts for one clock hour (UTC). */
export interface AccountHour {
  accountId: string;
  workspaceId: string;
  hour: Date;
  /** Recipients of accepted messages. */
  recipients: number;
  /** Recipients (and senders) the relay refused for this account: rate limit, sender policy, unusable address. */
  refused: number;
  /** Client networks mail was accepted from (IPv4 /24, IPv6 /48). */
  networks: string[];
}

export interface AccountHourRepository {
  /** One atomic upsert: + `recipients` to the account's hour, and the client networks to its set. */
  recordAcceptedHour(accountId: string, workspaceId: string, hour: Date, recipients: number, networks?: string[]): Promise<void>;
  recordRefusedHour(accountId: string, workspaceId: string, hour: Date, refused: number): Promise<void>;
  /** Every hour document of the workspace (or all) from `since` on. */
  listSince(since: Date, workspaceId?: string): Promise<AccountHour[]>;
  prune(before: Date): Promise<number>;
}
