// Group commit: messages that finish DATA while a commit is in flight wait for the next one and are written
// together. One commit = one read of the batch's accounts (a session of an account disabled, deleted or
// rotated since AUTH sends nothing more), one batch ledger document, one quota reservation per workspace
// (a conditional $inc; when the batch does not fit, message by message so each gets its own answer), one
// insertMany of the messages, one bulk write per counter collection. A lone message is written at once: no
// timer waits for company. Each message still gets its own answer: resolved once its document is durably
// stored (majority, journaled) and counted, rejected with StoreUnavailable (451) or a DomainError (552 quota).
//
// Exactness: the ledger is written first and every counter update carries the batch's marker, so when the
// store fails or the process dies half way, finishing the batch (now, or by recovery.ts after a restart)
// leaves the counters equal to what the queue holds, each change counted once.
import { checkSmtpSessions, getPlan, monthKey, quotaExceeded, acceptedChange, DomainError, type DomainContext, type SmtpPrincipal } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import type { CounterBatches } from '../store/counters/batches.ts';
import type { QuotaCounters } from '../store/counters/quota.ts';
import { finishBatch, type RecoveryDeps } from '../store/counters/recover.ts';
import { applyCounterChanges, markDone, marker, workspaceMonthId, type CounterCollections, type MarkerSweeper } from '../store/counters/targets.ts';
import { freshMessage, planBodies, type NewQueuedMessage, type Queue } from '../store/queue/index.ts';
import { remainingOf, withDeadline } from './deadline.ts';
import type { RepairQueue } from './repairs.ts';

/** Thrown when the store did not answer in time or failed: the client gets 451 4.3.0. */
export class StoreUnavailable extends Error {
  readonly code = 'RELAY_STORE_UNAVAILABLE';
  constructor(
    readonly stage: 'workspace' | 'reserve' | 'store',
    override readonly cause: unknown,
  ) {
    super(`store unavailable at ${stage}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'StoreUnavailable';
  }
}

export interface CommitRequest {
  principal: SmtpPrincipal;
  message: NewQueuedMessage;
}

export interface CommitDeps {
  ctx: DomainContext;
  queue: Queue;
  batches: CounterBatches;
  quota: QuotaCounters;
  counters: CounterCollections;
  sweeper: MarkerSweeper;
  repairs: RepairQueue;
  log: Logger;
  /** RELAY_STORE_TIMEOUT_MS: how long a message waits for the store before its client gets 451. */
  storeTimeoutMs: number;
  /** Names this relay in the ledger. */
  owner: string;
  /** Whether a worker in this process hears of new messages directly (then no notice is left for workers). */
  localWorker: () => boolean;
}

interface Pending extends CommitRequest {
  resolve(): void;
  reject(err: unknown): void;
  bytes: number;
}

/** A commit carries at most this many messages or inline bytes (one insert command stays well below 48 MB). */
const MAX_BATCH_MESSAGES = 256;
const MAX_BATCH_BYTES = 16 * 1024 * 1024;
/** Counting after the messages are stored is not worth a 451: a short wait, then the ledger finishes it. */
const COUNT_WAIT_MS = 2_000;

export class CommitQueue {
  private pending: Pending[] = [];
  private flushing = false;
  private readonly inFlight = new Set<string>();
  /** Commits done, and messages in them (for the log and the benchmark). */
  readonly stats = { started: 0, commits: 0, messages: 0 };

  constructor(private readonly deps: CommitDeps) {}

  /** Batches whose commit this process has not finished (recovery leaves them alone). */
  isInFlight(batchId: string): boolean {
    return this.inFlight.has(batchId);
  }

  submit(req: CommitRequest): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ ...req, resolve, reject, bytes: req.message.head.length });
      if (!this.flushing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length) {
        let bytes = 0;
        let n = 0;
        while (n < this.pending.length && n < MAX_BATCH_MESSAGES && (n === 0 || bytes + this.pending[n]!.bytes <= MAX_BATCH_BYTES)) bytes += this.pending[n++]!.bytes;
        const batch = this.pending.splice(0, n);
        await this.commit(batch).catch((err: unknown) => {
          for (const p of batch) p.reject(err);
        });
      }
    } finally {
      this.flushing = false;
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    this.stats.started++;
    const { ctx, queue, batches, quota, counters, sweeper, log } = this.deps;
    const started = Date.now();
    const left = () => remainingOf(this.deps.storeTimeoutMs, started);
    const answered = new Set<Pending>();
    const refuse = (p: Pending, err: unknown) => {
      answered.add(p);
      p.reject(err);
    };

    // 1. Sessions still allowed, and their workspaces' plans: reads, nothing to undo.
    let live: Pending[];
    const plans = new Map<string, string>();
    try {
      const verdicts = await withDeadline(
        checkSmtpSessions(
          ctx,
          batch.map((p) => p.principal),
        ),
        left(),
        'read accounts',
      );
      live = batch.filter((p, i) => {
        const v = verdicts[i]!;
        if (!v.ok) refuse(p, new DomainError('ACCOUNT.SESSION_REVOKED', `session refused: ${v.reason}`, { reason: v.reason, username: p.principal.username }));
        return v.ok;
      });
      for (const id of new Set(live.map((p) => p.principal.workspaceId))) {
        const ws = await withDeadline(ctx.workspaces.findById(id), left(), 'read workspace');
        if (ws) plans.set(id, ws.planId);
      }
    } catch (err) {
      throw new StoreUnavailable('workspace', err);
    }
    live = live.filter((p) => plans.has(p.principal.workspaceId) || (refuse(p, new DomainError('WORKSPACE.NOT_FOUND', `No workspace with id ${p.principal.workspaceId}.`)), false));
    if (!live.length) return;

    // 2. The ledger, before anything it describes.
    const batchId = batches.newId();
    const plan = planBodies(live.map((p) => p.message));
    const entries = live.map((p) => freshMessage(p.message, plan));
    this.inFlight.add(batchId);
    const work: Promise<unknown>[] = [];
    const track = <T>(w: Promise<T>) => (work.push(w.catch(() => undefined)), w);
    const leaveToRecovery = (stage: StoreUnavailable['stage'], err: unknown, refused: boolean) => {
      // Whatever may still land late is settled by finishing the batch once every call of it has settled.
      this.deps.repairs.afterSettled(Promise.all(work), () => ({
        name: 'finish-batch',
        details: { batchId, messages: live.length },
        run: async () => {
          if (refused) await batches.setState(batchId, 'refused');
          const open = await batches.get(batchId);
          if (open) {
            const r = await finishBatch(this.recoveryDeps(), refused ? { ...open, state: 'refused' } : open);
            if (refused && r.withdrawn) log.warn({ code: 'RELAY_LATE_COMMIT_REMOVED', batchId, messages: r.withdrawn }, 'messages stored after their 451 were withdrawn');
            if (refused && r.counted)
              log.warn({ code: 'RELAY_LATE_COMMIT_KEPT', batchId, messages: r.counted }, 'messages stored after their 451 were already in delivery; kept and counted');
          }
          this.inFlight.delete(batchId);
        },
      }));
      for (const p of live) if (!answered.has(p)) refuse(p, new StoreUnavailable(stage, err));
    };
    try {
      await withDeadline(
        track(batches.open({ _id: batchId, kind: 'accept', state: 'open', owner: this.deps.owner, createdAt: new Date(), messages: entries })),
        left(),
        'open batch',
      );
    } catch (err) {
      return leaveToRecovery('store', err, true);
    }

    // 3. Quota: the whole batch per workspace in one step; when it does not fit, message by message.
    const accepted: Pending[] = [];
    try {
      for (const group of groupBy(live, (p) => `${p.principal.workspaceId} ${monthKey(p.message.at)}`).values()) {
        const ws = group[0]!.principal.workspaceId;
        const month = monthKey(group[0]!.message.at);
        const plan = getPlan(plans.get(ws)!);
        const emails = group.reduce((n, p) => n + p.message.to.length, 0);
        if (await withDeadline(track(quota.reserve(ws, month, emails, plan.monthlyEmails, marker(batchId))), left(), 'reserve quota')) {
          accepted.push(...group);
          continue;
        }
        for (const p of group) {
          const field = marker(`${batchId}m${live.indexOf(p)}`);
          if (await withDeadline(track(quota.reserve(ws, month, p.message.to.length, plan.monthlyEmails, field)), left(), 'reserve quota')) accepted.push(p);
          else refuse(p, quotaExceeded(plan, (await quota.read(ws, month)).sent, p.message.to.length));
        }
      }
    } catch (err) {
      return leaveToRecovery('reserve', err, true);
    }
    if (!accepted.length) {
      await track(this.settle(batchId, [], live)).catch(() => undefined);
      return;
    }

    // 4. The messages: one insert, majority and journaled. This is the commit point.
    try {
      await withDeadline(
        track(
          queue.enqueueMany(
            accepted.map((p) => ({ ...p.message, batchId })),
            plan,
          ),
        ),
        left(),
        'store messages',
      );
    } catch (err) {
      return leaveToRecovery('store', err, true);
    }

    // 5. Count them; then every client hears 250.
    const changes = accepted.map((p) => acceptedChange({ id: p.principal.accountId, workspaceId: p.principal.workspaceId }, p.message.to.length, p.message.at));
    const counting = applyCounterChanges(counters, batchId, changes, sweeper);
    try {
      await withDeadline(counting, Math.min(left(), COUNT_WAIT_MS), 'count messages');
      for (const p of accepted) p.resolve();
      this.stats.commits++;
      this.stats.messages += accepted.length;
      await this.settle(batchId, changes, live).catch((err: unknown) =>
        log.warn({ err, code: 'RELAY_BATCH_CLOSE_DEFERRED', batchId }, 'batch stored and counted; closing its ledger entry is left to recovery'),
      );
    } catch (err) {
      log.warn({ err, code: 'RELAY_USAGE_DEFERRED', batchId, messages: accepted.length }, 'messages stored; counting them is left to the batch ledger');
      for (const p of accepted) p.resolve();
      void track(counting);
      leaveToRecovery('store', err, false);
    }
  }

  /** Closes a counted batch: a notice of new work for other processes' workers, or gone when ours heard. */
  private async settle(batchId: string, changes: ReturnType<typeof acceptedChange>[], live: Pending[]): Promise<void> {
    const { batches, sweeper } = this.deps;
    if (changes.length && !this.deps.localWorker()) await batches.setState(batchId, 'stored');
    else await batches.close(batchId);
    this.inFlight.delete(batchId);
    const months = [...new Set(live.map((p) => workspaceMonthId(p.principal.workspaceId, monthKey(p.message.at))))];
    markDone(
      sweeper,
      batchId,
      changes,
      months,
      live.map((_, i) => marker(`${batchId}m${i}`)),
    );
  }

  recoveryDeps(): RecoveryDeps {
    return { batches: this.deps.batches, quota: this.deps.quota, counters: this.deps.counters, sweeper: this.deps.sweeper, queue: this.deps.queue };
  }
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const g = out.get(k);
    if (g) g.push(it);
    else out.set(k, [it]);
  }
  return out;
}
