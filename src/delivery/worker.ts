// The delivery worker: takes work from the shared queue, up to DELIVERY_CONCURRENCY messages at a time,
// sends each to its due recipients and writes every recipient's own outcome under the lease, counted for
// the account, with a notice to the sender for what will never arrive. Several workers (in one process or
// many) share one queue; a worker that dies stops renewing its leases and its messages become due again.
// Made of parts with one job each:
//   claimer.ts     where work comes from, claimed in bulk
//   lease-book.ts  every lease held (waiting or in delivery) renewed together; run-out leases never started
//   slots.ts       how many deliveries run at once (and finishes waiting to be written)
//   attempt.ts     one attempt: envelope, body, transport, new recipient states, the notice
//   finisher.ts    outcomes written in groups through the ledger
// This file wires them and runs the loop.
//
// Delivery is at least once: a worker that dies after the receiving server answered 250 but before the
// outcome is written leaves the message to be sent again by another worker.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Runtime } from '../runtime.ts';
import type { Lease } from '../store/queue/index.ts';
import { attemptDelivery, type AttemptDeps } from './attempt.ts';
import { returnPathSettings } from './return-path-envelope.ts';
import { createClaimer, type Claimer } from './claimer.ts';
import { createDkimSigner } from './dkim-signer.ts';
import { createFinisher, type FinishRequest } from './finisher.ts';
import { createLeaseBook } from './lease-book.ts';
import type { RecipientOutcome } from './outcome.ts';
import { refreshQueueDepth } from './queue-depth.ts';
import { Pace } from './pace.ts';
import { parseRetryPolicy, type RetryPolicy } from './retry-policy.ts';
import { Slots } from './slots.ts';
import { createSuppressionRecorder } from './suppress.ts';
import { createMxTransport, type MxResolver } from './transport-mx.ts';
import { createUpstreamTransport } from './transport-upstream.ts';
import type { Transport, TransportTimeouts } from './transport.ts';

export interface DeliveryWorkerOptions {
  /** Names this worker in leases and logs (default host/pid/random). */
  workerId?: string;
  concurrency?: number;
  leaseMs?: number;
  policy?: RetryPolicy;
  sendBounces?: boolean;
  /** Overrides RELAY_UPSTREAM_URL; null forces direct MX delivery. */
  upstreamUrl?: string | null;
  /** Direct MX delivery: DNS and port of the receiving servers (tests route domains to loopback). */
  mx?: { resolver?: MxResolver; port?: number | ((exchange: string) => number) };
  /** A ready transport (replaces upstream/MX selection). */
  transport?: Transport;
  timeouts?: Partial<TransportTimeouts>;
  clock?: () => Date;
  /** Idle polling: starts at pollMinMs after work was found, doubles up to pollMaxMs. */
  pollMinMs?: number;
  pollMaxMs?: number;
  /**
   * How often, at most, the worker looks for due messages by their due time (retries, expired leases): on
   * FerretDB a scan of the whole queue, finished messages included. New messages come by notice (or, in the
   * relay's process, directly), so this only delays a retry or a dead worker's messages by up to this. Default 5 s.
   */
  dueScanIntervalMs?: number;
  /** How often the queue-depth gauge is refreshed (0: never). */
  queueDepthIntervalMs?: number;
  /** How long stop() waits for deliveries in progress. */
  stopGraceMs?: number;
}

export interface DeliveryWorker {
  id: string;
  description: string;
  /** Polls now instead of at the end of the current idle wait (e.g. right after an enqueue in this process). */
  wake(): void;
  /** Resolves once nothing is in flight and nothing in the queue is due (rejects after timeoutMs). */
  drain(timeoutMs?: number): Promise<void>;
  inFlight(): number;
  /** False once the delivery loop has died on an unexpected error (reported by /readyz). */
  alive(): boolean;
  /** What this worker did since it started: messages leased, recipient outcomes. */
  stats(): WorkerStats;
  /** Stops leasing, waits for deliveries in progress (up to the grace), flushes counters, closes connections. */
  stop(): Promise<void>;
}

export interface WorkerStats {
  leased: number;
  /** Claims another worker won first (contention between workers reading the same due ids). */
  claimsLost: number;
  delivered: number;
  deferred: number;
  bounced: number;
  failed: number;
}

type Rt = Pick<Runtime, 'config' | 'log' | 'db' | 'ctx' | 'metrics' | 'queue' | 'ledger'>;

/**
 * How many due messages one scan may claim during a backlog: what the slots start in this many seconds at the
 * worker's recent pace, and at most this many per slot. They wait renewed together.
 */
const DUE_CLAIM_HORIZON_S = 3;
const MAX_DUE_CLAIM_PER_SLOT = 200;

/** How many finished attempts may wait to be written, per delivery slot. */
const FINISHING_PER_SLOT = 4;

function createTransport(rt: Rt, options: DeliveryWorkerOptions, concurrency: number, log: Runtime['log']): Transport {
  const { config } = rt;
  const upstreamUrl = options.upstreamUrl === undefined ? config.delivery.upstreamUrl : (options.upstreamUrl ?? undefined);
  const heloName = config.delivery.heloName;
  if (options.transport) return options.transport;
  if (upstreamUrl)
    return createUpstreamTransport({ url: upstreamUrl, tlsVerify: config.delivery.upstreamTlsVerify, heloName, maxConnections: concurrency, timeouts: options.timeouts, log });
  return createMxTransport({
    heloName,
    resolver: options.mx?.resolver,
    port: options.mx?.port,
    timeouts: options.timeouts,
    allowPrivateAddresses: config.delivery.allowPrivateMx,
    log,
  });
}

/** The worker's parts, wired from the runtime and the options. */
function workerParts(rt: Rt, options: DeliveryWorkerOptions) {
  const { config, queue, ledger } = rt;
  const id = options.workerId ?? `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
  const log = rt.log.child({ component: 'delivery', worker: id });
  const clock = options.clock ?? rt.ctx.clock;
  const concurrency = Math.max(1, options.concurrency ?? config.delivery.concurrency);
  const leaseMs = options.leaseMs ?? config.delivery.leaseMs;
  const pollMinMs = options.pollMinMs ?? 50;
  const transport = createTransport(rt, options, concurrency, log);
  const book = createLeaseBook({ queue, leaseMs, clock, log });
  const pace = new Pace();
  const attempt: AttemptDeps = {
    queue,
    transport,
    dkim: createDkimSigner({ domains: rt.ctx.domains, secrets: rt.ctx.secrets, ttlMs: config.delivery.dkimCacheMs, log }),
    policy: options.policy ?? parseRetryPolicy(config.delivery.retrySchedule, config.delivery.maxAge),
    sendBounces: options.sendBounces ?? config.delivery.sendBounces,
    heloName: config.delivery.heloName,
    clock,
    log,
    usable: (lease) => book.usable(lease),
    returnPath: returnPathSettings(config),
  };
  const claimer: Claimer = createClaimer({
    queue,
    ledger,
    log,
    owner: id,
    leaseMs,
    clock,
    pollMinMs,
    dueScanIntervalMs: options.dueScanIntervalMs ?? 5_000,
    minDueClaim: 2 * concurrency,
    // What the slots start in a few seconds, or while two more scans run (on FerretDB a scan of a long
    // queue takes seconds): the next claim then comes before the slots run dry.
    pacedDueClaim: () => Math.ceil(pace.perSecond() * Math.max(DUE_CLAIM_HORIZON_S, (2 * claimer.stats.lastDueScanMs) / 1000)),
    dueClaimCap: MAX_DUE_CLAIM_PER_SLOT * concurrency,
    held: () => book.ids(),
  });
  return {
    id,
    log,
    clock,
    concurrency,
    leaseMs,
    pollMinMs,
    pollMaxMs: Math.max(pollMinMs, options.pollMaxMs ?? 1000),
    stopGraceMs: options.stopGraceMs ?? 30_000,
    transport,
    book,
    attempt,
    claimer,
    pace,
    slots: new Slots(concurrency),
    finishing: new Slots(concurrency * FINISHING_PER_SLOT),
    finisher: createFinisher({ queue, ledger, log, clock }),
    suppress: createSuppressionRecorder(rt.ctx, log),
    metrics: rt.metrics,
  };
}

type Parts = ReturnType<typeof workerParts>;

/** The loop: a free slot, a lease (claimed in bulk when none waits), a delivery; its finish beside the next. */
class WorkerLoop {
  stopping = false;
  drainWaiters: (() => void)[] = [];
  readonly stats: WorkerStats = { leased: 0, claimsLost: 0, delivered: 0, deferred: 0, bounced: 0, failed: 0 };
  // A wake that comes while the loop is busy is kept, so the next sleep returns at once.
  private interrupt: (() => void) | null = null;
  private wakePending = false;
  // The bulk claim under way, if any (shutdown waits for it, so nothing it leases is left leased).
  private claiming: Promise<number> | null = null;
  // The due scan under way, if any (it runs beside the claims of new messages).
  private scanning: Promise<number> | null = null;

  constructor(private readonly p: Parts) {}

  wake = (): void => {
    if (this.interrupt) this.interrupt();
    else this.wakePending = true;
  };

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.wakePending) {
        this.wakePending = false;
        return resolve();
      }
      const timer = setTimeout(() => done(), ms);
      const done = () => {
        clearTimeout(timer);
        this.interrupt = null;
        resolve();
      };
      this.interrupt = done;
    });
  }

  async run(): Promise<void> {
    const { slots, finishing, log } = this.p;
    let idleDelay = this.p.pollMinMs;
    while (!this.stopping) {
      await slots.whenFree();
      await finishing.whenFree();
      if (this.stopping) break;
      let lease: Lease | null;
      // A commit that ends while the claim is out may have stored a notice the claim could not see yet.
      const settledBefore = this.p.finisher.settled();
      try {
        lease = await this.nextLease();
      } catch (err) {
        log.error({ err, code: 'DELIVERY_LEASE_FAILED' }, 'could not lease queued messages; retrying');
        await this.sleep(this.p.pollMaxMs);
        continue;
      }
      if (!lease) {
        const idle = slots.count() === 0 && finishing.count() === 0 && !this.scanning && !this.p.finisher.busy() && this.p.finisher.settled() === settledBefore;
        if (idle) this.releaseDrainWaiters();
        await this.sleep(idleDelay);
        idleDelay = Math.min(idleDelay * 2, this.p.pollMaxMs);
        continue;
      }
      idleDelay = this.p.pollMinMs;
      const taken = lease;
      this.p.pace.started();
      slots.run(() => this.deliver(taken));
    }
  }

  releaseDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    waiters.forEach((w) => w());
  }

  /**
   * A lease to start: one waiting (and, when few are left, the next bulk claim started behind it, so slots
   * do not sit idle through a claim's round trips), else the bulk claim awaited.
   */
  private async nextLease(): Promise<Lease | null> {
    const { book, log } = this.p;
    const ready = book.next();
    if (!ready) {
      await this.refill();
      return book.next();
    }
    if (book.waitingCount() < this.claimAheadAt() && !this.claiming && !this.stopping) {
      this.refill().then(
        (n) => {
          if (n > 0) this.wake();
        },
        (err: unknown) => log.error({ err, code: 'DELIVERY_LEASE_FAILED' }, 'could not lease queued messages ahead; retrying when a slot frees'),
      );
    }
    return ready;
  }

  /**
   * How few waiting leases start the next claim: a slot-full; during a backlog, what the slots start while a due
   * scan runs (on FerretDB a scan of a long queue takes seconds), so the slots do not run dry meanwhile.
   */
  private claimAheadAt(): number {
    const { claimer, pace, concurrency } = this.p;
    if (!claimer.backlog()) return concurrency;
    return Math.max(concurrency, Math.ceil((pace.perSecond() * 1.5 * claimer.stats.lastDueScanMs) / 1000));
  }

  /**
   * One bulk claim of new messages at a time: as many as the free slots and as many again, less what already
   * waits. When they do not fill it and a due scan is due, the scan runs beside it (see dueScan); someone waiting
   * for the queue to drain waits for a scan that started after them.
   */
  private refill(): Promise<number> {
    this.claiming ??= (async () => {
      const { book, slots, claimer, concurrency } = this.p;
      try {
        const mustScan = this.drainWaiters.length > 0;
        const want = Math.max(1, slots.free() + concurrency - book.waitingCount());
        const got = await claimer.claim(want);
        this.take(got);
        if (got.length >= want || this.stopping) return got.length;
        if (mustScan) {
          await this.scanning?.catch(() => undefined);
          return got.length + (await this.dueScan(want - got.length));
        }
        if (!this.scanning && claimer.scanDue()) {
          this.dueScan(want - got.length).then(
            (n) => {
              if (n > 0) this.wake();
            },
            (err: unknown) => this.p.log.error({ err, code: 'DELIVERY_LEASE_FAILED' }, 'could not lease due messages; trying again at the next scan'),
          );
        }
        return got.length;
      } finally {
        this.claiming = null;
      }
    })();
    return this.claiming;
  }

  /**
   * One due scan at a time, never in the way of new messages: on FerretDB it reads the whole queue and can take
   * seconds, while new mail keeps coming by notice.
   */
  private dueScan(want: number): Promise<number> {
    const scan = this.p.claimer.claimDue(want).then((got) => {
      this.take(got);
      return got.length;
    });
    this.scanning = scan;
    const clear = () => {
      if (this.scanning === scan) this.scanning = null;
    };
    scan.then(clear, clear);
    return scan;
  }

  private take(leases: Lease[]): void {
    this.stats.leased += leases.length;
    this.p.book.add(leases);
  }

  /** The attempt in a delivery slot; its finish in a finishing one, so the next delivery can start. */
  private async deliver(lease: Lease): Promise<void> {
    let req: FinishRequest | null = null;
    try {
      req = await attemptDelivery(this.p.attempt, lease);
    } catch (err) {
      this.p.log.error({ err, code: 'DELIVERY_CRASHED', queueId: lease.id }, 'delivery attempt failed unexpectedly; the lease will expire and it will be retried');
    }
    if (!req) {
      this.p.book.done(lease.id);
      return;
    }
    const finished = req;
    this.p.finishing.run(() =>
      this.finish(finished).finally(() => {
        this.p.book.done(lease.id);
        this.wake();
      }),
    );
  }

  /**
   * Writes the outcome under the lease (counted, its notice stored) with others ending now. While the database is
   * away it tries again (every second) until the write lands, the store says the lease is lost, or the worker
   * stops: given up, the message would be sent again once its lease ran out, although the next hop has it. Once
   * the database is back, this token-guarded write (or the lease book's renewal) usually lands before another
   * worker's due scan takes the lease.
   */
  private async finish(req: FinishRequest): Promise<void> {
    const { finisher, log } = this.p;
    for (let i = 0; ; i++) {
      try {
        const held = await finisher.finish(req);
        if (!held) log.warn({ code: 'DELIVERY_LEASE_LOST', queueId: req.lease.id }, 'lease lost before the outcome was written; the other worker owns the message now');
        else await this.afterFinish(req);
        return;
      } catch (err) {
        if (this.stopping) {
          log.error({ err, code: 'DELIVERY_FINISH_FAILED', queueId: req.lease.id }, 'could not write the delivery outcome; the message will be tried again when its lease expires');
          return;
        }
        if (i % 10 === 0) log.warn({ err, code: 'DELIVERY_FINISH_RETRY', queueId: req.lease.id, tries: i + 1 }, 'could not write the delivery outcome yet; trying again');
        await new Promise((r) => setTimeout(r, Math.min(1_000, 250 * 2 ** Math.min(i, 2))));
      }
    }
  }

  private async afterFinish(req: FinishRequest): Promise<void> {
    this.report(req.lease, req.outcomes);
    if (req.notice) {
      this.p.log.info({ code: 'DELIVERY_BOUNCE_QUEUED', queueId: req.lease.id, bounceId: req.notice.id, recipients: req.notice.to.length }, 'bounce notice queued for the sender');
      this.wake();
    }
    await this.p.suppress(req.lease.message, req.outcomes, this.p.clock());
  }

  private report(lease: Lease, outcomes: RecipientOutcome[]): void {
    const { log, metrics } = this.p;
    const delivered = outcomes.filter((o) => o.outcome === 'delivered').length;
    if (delivered) log.info({ code: 'DELIVERY_DELIVERED', queueId: lease.id, recipients: delivered }, `delivered to ${delivered} recipient(s)`);
    for (const o of outcomes) {
      metrics.deliveries.inc({ outcome: o.outcome });
      this.stats[o.outcome]++;
      if (o.outcome === 'delivered') continue;
      const code = o.outcome === 'deferred' ? 'DELIVERY_DEFERRED' : o.outcome === 'bounced' ? 'DELIVERY_BOUNCED' : 'DELIVERY_FAILED';
      log.warn(
        { code, queueId: lease.id, recipient: o.address, error: o.failure?.message, failure: o.failure?.code, retryAt: o.retryAt?.toISOString() },
        `${o.outcome}: ${o.failure?.message ?? ''}`,
      );
    }
  }

  /** Stops claiming, hands back what waits, lets deliveries end (cut off after the grace), writes their outcomes, hands back the rest. */
  async stop(loopDone: Promise<void>): Promise<void> {
    const { slots, finishing, book, transport, finisher, log } = this.p;
    this.stopping = true;
    this.wake();
    slots.wakeWaiters();
    finishing.wakeWaiters();
    await loopDone;
    await this.claiming?.catch(() => undefined);
    await this.scanning?.catch(() => undefined);
    await book.releaseWaiting();
    if (!(await slots.idle(this.p.stopGraceMs))) {
      log.warn({ code: 'DELIVERY_STOP_TIMEOUT', inFlight: slots.count() }, 'stopped with deliveries in progress: connections closed, their messages handed back');
      await transport.close();
      await slots.idle(5_000);
    }
    await finishing.idle(30_000);
    await finisher.idle();
    await book.close();
  }
}

export function startDeliveryWorker(rt: Rt, options: DeliveryWorkerOptions = {}): DeliveryWorker {
  const parts = workerParts(rt, options);
  const { id, log, transport, claimer, slots, finishing } = parts;
  const loop = new WorkerLoop(parts);
  // Batches a killed worker (or relay) left open: the process's one recovery loop.
  const stopRecovery = rt.ledger.recovery.use(log);
  const depthEvery = options.queueDepthIntervalMs ?? 15_000;
  const depthTimer =
    depthEvery > 0
      ? setInterval(() => {
          refreshQueueDepth(rt).catch((err: unknown) => log.warn({ err, code: 'QUEUE_DEPTH_FAILED' }, 'could not count the queue'));
        }, depthEvery)
      : null;
  depthTimer?.unref();
  // Messages stored by this process (the relay in `npm start`, our own bounce notices): claimed at once.
  const unsubscribe = rt.queue.onEnqueued((msgs) => {
    claimer.hear(msgs);
    loop.wake();
  });
  let loopAlive = true;
  const loopDone = loop.run().catch((err) => {
    loopAlive = false;
    log.error({ err, code: 'DELIVERY_LOOP_CRASHED' }, 'delivery loop stopped');
  });
  log.info({ code: 'DELIVERY_WORKER_STARTED', transport: transport.description, concurrency: parts.concurrency, leaseMs: parts.leaseMs }, 'delivery worker started');

  let stopped: Promise<void> | null = null;
  return {
    id,
    description: `delivery worker ${id}: ${transport.description}, ${parts.concurrency} parallel`,
    wake: loop.wake,
    inFlight: () => slots.count() + finishing.count(),
    alive: () => loopAlive,
    stats: () => ({ ...loop.stats, claimsLost: claimer.stats.claimsLost }),
    drain(timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`queue not drained within ${timeoutMs} ms (${slots.count()} in flight)`)), timeoutMs);
        loop.drainWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
        loop.wake();
      });
    },
    stop() {
      stopped ??= (async () => {
        unsubscribe();
        await loop.stop(loopDone);
        if (depthTimer) clearInterval(depthTimer);
        await stopRecovery();
        await transport.close();
        loop.releaseDrainWaiters();
      })();
      return stopped;
    },
  };
}
