// The surge job's history, as the relay sees it: per account and clock hour, recipients accepted (with the
// client network) and recipients or senders refused. Neither is part of accepting a message: a lost count
// only blunts an alert, so nothing here waits or fails a client.
import { hourOf, networkOf, type SmtpPrincipal } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import type { DomainContext } from '../domain/index.ts';

/**
 * Accepted recipients (and the client networks they came from) are summed in memory and written every
 * `flushMs` (a second), one upsert per account and hour: the surge history adds no database command to a message.
 */
export class AcceptedHourCounter {
  private readonly pending = new Map<string, { accountId: string; workspaceId: string; hour: Date; n: number; networks: Set<string> }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: { ctx: DomainContext; log: Logger },
    private readonly flushMs = 1_000,
  ) {}

  add(p: SmtpPrincipal, recipients: number, clientIp: string, at: Date): void {
    const hour = hourOf(at);
    const key = `${p.accountId}:${hour.toISOString()}`;
    const entry = this.pending.get(key) ?? { accountId: p.accountId, workspaceId: p.workspaceId, hour, n: 0, networks: new Set<string>() };
    entry.n += recipients;
    const network = networkOf(clientIp);
    if (network && entry.networks.size < 200) entry.networks.add(network);
    this.pending.set(key, entry);
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = [...this.pending.values()];
    this.pending.clear();
    await Promise.all(
      batch.map((e) =>
        this.deps.ctx.accountHours.recordAcceptedHour(e.accountId, e.workspaceId, e.hour, e.n, [...e.networks]).catch((err: unknown) => {
          this.deps.log.warn({ err, code: 'RELAY_HOURLY_COUNT_FAILED', accountId: e.accountId, kind: 'accepted' }, 'hourly count not recorded (surge history)');
        }),
      ),
    );
  }
}

/**
 * Refusals are summed in memory and written every `flushMs` (one upsert per account and hour), so an attacker
 * hammering a rate limit costs the database a write per interval, not one per refused recipient.
 */
export class RefusalCounter {
  private readonly pending = new Map<string, { accountId: string; workspaceId: string; hour: Date; n: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: { ctx: DomainContext; log: Logger },
    private readonly flushMs = 10_000,
  ) {}

  add(p: SmtpPrincipal | undefined, n = 1): void {
    if (!p || n <= 0) return;
    const hour = hourOf(this.deps.ctx.clock());
    const key = `${p.accountId}:${hour.toISOString()}`;
    const entry = this.pending.get(key) ?? { accountId: p.accountId, workspaceId: p.workspaceId, hour, n: 0 };
    entry.n += n;
    this.pending.set(key, entry);
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = [...this.pending.values()];
    this.pending.clear();
    await Promise.all(
      batch.map((e) =>
        this.deps.ctx.accountHours.recordRefusedHour(e.accountId, e.workspaceId, e.hour, e.n).catch((err: unknown) => {
          this.deps.log.warn({ err, code: 'RELAY_HOURLY_COUNT_FAILED', accountId: e.accountId, kind: 'refused' }, 'hourly count not recorded (surge history)');
        }),
      ),
    );
  }
}
