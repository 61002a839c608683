// Group commit: messages that finish DATA while a commit is in flight wait for the next one and are written
// together. One commit = one read of the batch's accounts (a session of an account disabled, deleted or
// rotated since AUTH sends nothing more), one ledger batch, one quota reservation per workspace (a
// conditional $inc; when the batch does not fit, message by message so each gets its own answer), one
// insertMany of the messages, one bulk write per counter collection. A lone message is written at once: no
// timer waits for company. Each message still gets its own answer: resolved once its document is durably
// stored (majority, journaled) and counted, rejected with StoreUnavailable (451) or a DomainError (552 quota).
//
// Every write is bounded by the driver (timeoutMS: what is left of RELAY_STORE_TIMEOUT_MS). Exactness is
// the ledger's (src/store/ledger): its batch is written first, the refusal is recorded in it before a 451
// is answered whenever the store lets it, and finishing the batch (here once its calls have settled, or by
// recovery once this process stops holding it) leaves the counters equal to what the queue holds.
import { checkSmtpSessions, getPlan, monthKey, quotaExceeded, acceptedChange, DomainError, type DomainContext, type SmtpPrincipal } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import { mayHaveReachedServer } from '../store/connection.ts';
import type { Ledger } from '../store/ledger/index.ts';
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
  ledger: Ledger;
  repairs: RepairQueue;
  log: Logger;
  /** RELAY_STORE_TIMEOUT_MS: how long a message waits for the store before its client gets 451. */
  storeTimeoutMs: number;
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
/** How long recording a refusal may hold up the 451 (when the store hangs, the 451 goes without it). */
const REFUSAL_RECORD_MS = 1_000;
/** The longest a client waits for an undecided batch (see refuse()). */
const HOLD_MAX_MS = 4 * 60_000;

export class CommitQueue {
  private pending: Pending[] = [];
  private flushing = false;
  /** Answers held until their undecided batch is decided (see refuse()). */
  private readonly held = new Set<(outcome: 'accepted' | 'refused') => boolean>();
  /** Commits done, and messages in them (for the log and the benchmark). */
  readonly stats = { started: 0, commits: 0, messages: 0 };

  constructor(private readonly deps: CommitDeps) {}

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
    const started = Date.now();
    const budget = () => ({ timeoutMS: remainingOf(this.deps.storeTimeoutMs, started) });
    const { plans, live } = await this.readPlans(batch, budget().timeoutMS);
    if (!live.length) return;

    // The ledger, before anything it describes.
    const { ledger, queue } = this.deps;
    const batchId = ledger.accept.newId();
    const body = planBodies(live.map((p) => p.message));
    try {
      await ledger.accept.open(
        batchId,
        live.map((p) => freshMessage(p.message, body)),
        budget(),
      );
    } catch (err) {
      return this.refuse(batchId, live, new StoreUnavailable('store', err));
    }
    let accepted: Pending[];
    try {
      accepted = await this.reserve(batchId, live, plans, budget);
    } catch (err) {
      return this.refuse(batchId, live, new StoreUnavailable('reserve', err));
    }
    if (!accepted.length) {
      await ledger.accept.settle(batchId, { changes: [], months: [], messages: live.length, notice: false }).catch(() => ledger.accept.abandon(batchId));
      return;
    }

    // The messages: one insert, majority and journaled. This is the commit point, if it came in time: an
    // answer later than the budget (a paused process) is a 451 too, since recovery may already have refused it.
    let fresh;
    try {
      fresh = await queue.enqueueMany(
        accepted.map((p) => ({ ...p.message, batchId })),
        body,
        { ...budget(), announce: false },
      );
      if (Date.now() - started > this.deps.storeTimeoutMs) throw new Error(`stored after the ${this.deps.storeTimeoutMs} ms budget`);
    } catch (err) {
      return this.refuse(batchId, accepted, new StoreUnavailable('store', err), mayHaveReachedServer(err));
    }
    // Accepted: a worker of this process may take them now.
    queue.announce(fresh);
    await this.count(batchId, accepted, live);
  }

  /** The sessions still allowed, and their workspaces' plans: reads, nothing to undo (refused ones answered). */
  private async readPlans(batch: Pending[], ms: number): Promise<{ plans: Map<string, string>; live: Pending[] }> {
    const { ctx } = this.deps;
    const plans = new Map<string, string>();
    const allowed = new Set<Pending>();
    try {
      // Domain reads, bounded here: nothing was written, so giving up on them needs no repair.
      const verdicts = await withDeadline(
        checkSmtpSessions(
          ctx,
          batch.map((p) => p.principal),
        ),
        ms,
        'read accounts',
      );
      batch.forEach((p, i) => {
        const v = verdicts[i]!;
        if (v.ok) allowed.add(p);
        else p.reject(new DomainError('ACCOUNT.SESSION_REVOKED', `session refused: ${v.reason}`, { reason: v.reason, username: p.principal.username }));
      });
      for (const id of new Set([...allowed].map((p) => p.principal.workspaceId))) {
        const ws = await withDeadline(ctx.workspaces.findById(id), ms, 'read workspace');
        if (ws) plans.set(id, ws.planId);
      }
    } catch (err) {
      throw new StoreUnavailable('workspace', err);
    }
    for (const p of allowed) if (!plans.has(p.principal.workspaceId)) p.reject(new DomainError('WORKSPACE.NOT_FOUND', `No workspace with id ${p.principal.workspaceId}.`));
    return { plans, live: batch.filter((p) => allowed.has(p) && plans.has(p.principal.workspaceId)) };
  }

  /** Quota: the whole batch per workspace month in one step; when it does not fit, message by message. */
  private async reserve(batchId: string, live: Pending[], plans: Map<string, string>, budget: () => { timeoutMS: number }): Promise<Pending[]> {
    const { ledger } = this.deps;
    const accepted: Pending[] = [];
    let narrowed = false;
    for (const group of groupBy(live, (p) => `${p.principal.workspaceId} ${monthKey(p.message.at)}`).values()) {
      const ws = group[0]!.principal.workspaceId;
      const month = monthKey(group[0]!.message.at);
      const plan = getPlan(plans.get(ws)!);
      const emails = group.reduce((n, p) => n + p.message.to.length, 0);
      if (await ledger.accept.reserveWhole(batchId, ws, month, emails, plan.monthlyEmails, budget())) {
        accepted.push(...group);
        continue;
      }
      for (const p of group) {
        if (await ledger.accept.reserveOne(batchId, live.indexOf(p), ws, month, p.message.to.length, plan.monthlyEmails, budget())) accepted.push(p);
        else {
          narrowed = true;
          p.reject(quotaExceeded(plan, await ledger.accept.quotaUsed(ws, month, budget()), p.message.to.length));
        }
      }
    }
    // Recovery must know which messages were meant to be stored: the others were answered 552.
    if (narrowed && accepted.length)
      await ledger.accept.narrow(
        batchId,
        accepted.map((p) => p.message.id),
        budget(),
      );
    return accepted;
  }

  /** Stored: count them (briefly; the ledger finishes it otherwise), then every client hears 250. */
  private async count(batchId: string, accepted: Pending[], live: Pending[]): Promise<void> {
    const { ledger, log } = this.deps;
    const changes = accepted.map((p) => acceptedChange({ id: p.principal.accountId, workspaceId: p.principal.workspaceId }, p.message.to.length, p.message.at));
    try {
      await ledger.accept.count(batchId, changes, { timeoutMS: COUNT_WAIT_MS });
    } catch (err) {
      log.warn({ err, code: 'RELAY_USAGE_DEFERRED', batchId, messages: accepted.length }, 'messages stored; counting them is left to the batch ledger');
      for (const p of accepted) p.resolve();
      // Open and every message stored: recovery counts it once this process stops holding it.
      ledger.accept.abandon(batchId);
      return;
    }
    for (const p of accepted) p.resolve();
    this.stats.commits++;
    this.stats.messages += accepted.length;
    const months = live.map((p) => ({ workspaceId: p.principal.workspaceId, month: monthKey(p.message.at) }));
    await ledger.accept.settle(batchId, { changes, months, messages: live.length, notice: !this.deps.localWorker() }).catch((err: unknown) => {
      ledger.accept.abandon(batchId);
      log.warn({ err, code: 'RELAY_BATCH_CLOSE_DEFERRED', batchId }, 'batch stored and counted; closing its ledger entry is left to recovery');
    });
  }

  /**
   * The batch's clients hear 451. The refusal goes into the ledger first when the store takes it in time;
   * then, in the background, the batch is finished as refused: what landed is withdrawn, the quota given back.
   *
   * When the refusal could not be recorded and the insert may have landed (its answer was lost, or came too
   * late), recovery elsewhere may count the batch as accepted once its lease runs out. Its clients then wait
   * for whichever the store records first and hear that: 451 when the refusal lands, 250 when recovery counted
   * every message. They wait at most HOLD_MAX_MS (well inside the 10 minutes RFC 5321 gives a DATA reply);
   * after that they hear 451 and the window docs/delivery.md names stays open.
   */
  private async refuse(batchId: string, clients: Pending[], err: StoreUnavailable, mayHaveLanded = false): Promise<void> {
    const { ledger, log } = this.deps;
    const ids = clients.map((p) => p.message.id);
    const counted = () => {
      ledger.accept.abandon(batchId);
      log.warn({ code: 'RELAY_HELD_ACCEPTED', batchId, messages: clients.length }, 'recovery counted the batch as accepted: its clients hear 250');
    };
    const first = await ledger.accept.decide(batchId, ids, { timeoutMS: REFUSAL_RECORD_MS }).catch(() => null);
    if (first === 'counted') {
      for (const p of clients) p.resolve();
      return counted();
    }
    const answer = first === null && mayHaveLanded ? this.hold(clients, err, Math.min(HOLD_MAX_MS, ledger.accept.decisionWindowMs())) : null;
    if (answer)
      log.warn({ code: 'RELAY_ANSWER_HELD', batchId, messages: clients.length }, 'store unreachable after the insert was sent: the answer waits until the batch is decided');
    else for (const p of clients) p.reject(err);
    this.deps.repairs.schedule({
      name: 'finish-batch',
      details: { batchId, messages: clients.length, refusalRecorded: first === 'refused' },
      run: async () => {
        if (first === null && (await ledger.accept.decide(batchId, ids)) === 'counted') {
          if (answer?.('accepted')) return counted();
          log.error({ code: 'RELAY_REFUSAL_NOT_RECORDED', batchId }, 'a batch answered 451 was decided by recovery before its refusal could be recorded');
        }
        answer?.('refused');
        const r = await ledger.accept.finish(batchId);
        if (r?.withdrawn) log.warn({ code: 'RELAY_LATE_COMMIT_REMOVED', batchId, messages: r.withdrawn }, 'messages stored after their 451 were withdrawn');
        if (r?.counted) log.warn({ code: 'RELAY_LATE_COMMIT_KEPT', batchId, messages: r.counted }, 'messages stored after their 451 were already in delivery; kept and counted');
      },
    });
  }

  /**
   * Keeps the clients' answers until answer() is called or `ms` pass (then 451). answer() is true when it
   * was the one to answer them.
   */
  private hold(clients: Pending[], err: StoreUnavailable, ms: number): (outcome: 'accepted' | 'refused') => boolean {
    let settled = false;
    const answer = (outcome: 'accepted' | 'refused'): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      this.held.delete(answer);
      for (const p of clients) {
        if (outcome === 'accepted') p.resolve();
        else p.reject(err);
      }
      return true;
    };
    const timer = setTimeout(() => answer('refused'), ms);
    this.held.add(answer);
    return answer;
  }

  /** Shutdown: clients still waiting for an undecided batch hear 451 now. */
  answerHeld(): void {
    for (const answer of [...this.held]) answer('refused');
  }
}

/** The group commit of this process's relay (and of tests that drive it directly), over the process's ledger. */
export function createCommitQueue(
  rt: { ctx: DomainContext; queue: Queue; ledger: Ledger },
  opts: { queue?: Queue; repairs: RepairQueue; log: Logger; storeTimeoutMs: number },
): { commits: CommitQueue } {
  const queue = opts.queue ?? rt.queue;
  return {
    commits: new CommitQueue({
      ctx: rt.ctx,
      queue,
      ledger: rt.ledger,
      repairs: opts.repairs,
      log: opts.log,
      storeTimeoutMs: opts.storeTimeoutMs,
      localWorker: () => queue.hasLocalWorker(),
    }),
  };
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
