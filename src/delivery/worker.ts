// The delivery worker: leases due messages from the shared queue, up to DELIVERY_CONCURRENCY at a time,
// sends each to its due recipients, records every recipient's own outcome under the lease, counts it
// for the account, and bounces what will never arrive. Several workers (in one process or many) share
// one queue; a worker that dies stops renewing its leases and its messages are due again for the others.
//
// Delivery is at least once: a worker that dies after the receiving server answered 250 but before the
// outcome is written leaves the message to be sent again by another worker.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Runtime } from '../runtime.ts';
import { counterBatches } from '../store/counters/batches.ts';
import { counterCollections, MarkerSweeper } from '../store/counters/targets.ts';
import { quotaCounters } from '../store/counters/quota.ts';
import { startBatchRecovery } from '../store/counters/recovery-loop.ts';
import { newQueueId, type FreshMessage, type Lease } from '../store/queue/index.ts';
import type { QueuedRecipient } from '../domain/queue-model.ts';
import { buildBounceMessage, shouldSendBounce } from './bounce.ts';
import { permanentFailure, temporaryFailure } from './classify.ts';
import { createDkimSigner } from './dkim-signer.ts';
import { createFinisher } from './finisher.ts';
import { outboundEnvelopes, returnPathSettings, sendEnvelopes } from './return-path-envelope.ts';
import { refreshQueueDepth } from './queue-depth.ts';
import { createSuppressionRecorder } from './suppress.ts';
import { mailboxProblem } from '../shared/mailbox.ts';
import { normalizeLineEndings } from './hygiene.ts';
import { applyResults, dueRecipients, type RecipientOutcome } from './outcome.ts';
import { parseRetryPolicy, type RetryPolicy } from './retry-policy.ts';
import { createMxTransport, type MxResolver } from './transport-mx.ts';
import { createUpstreamTransport } from './transport-upstream.ts';
import type { RecipientResult, Transport, TransportTimeouts } from './transport.ts';

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

const CANDIDATES_TTL_MS = 2_000;

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

type Rt = Pick<Runtime, 'config' | 'log' | 'db' | 'ctx' | 'metrics' | 'queue'>;

export function startDeliveryWorker(rt: Rt, options: DeliveryWorkerOptions = {}): DeliveryWorker {
  const { config, db, metrics, queue } = rt;
  const id = options.workerId ?? `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
  const log = rt.log.child({ component: 'delivery', worker: id });
  const clock = options.clock ?? rt.ctx.clock;
  const concurrency = Math.max(1, options.concurrency ?? config.delivery.concurrency);
  const leaseMs = options.leaseMs ?? config.delivery.leaseMs;
  const policy = options.policy ?? parseRetryPolicy(config.delivery.retrySchedule, config.delivery.maxAge);
  const sendBounces = options.sendBounces ?? config.delivery.sendBounces;
  const pollMinMs = options.pollMinMs ?? 50;
  const pollMaxMs = Math.max(pollMinMs, options.pollMaxMs ?? 1000);
  const dueScanIntervalMs = options.dueScanIntervalMs ?? 5_000;
  const upstreamUrl = options.upstreamUrl === undefined ? config.delivery.upstreamUrl : (options.upstreamUrl ?? undefined);
  const heloName = config.delivery.heloName;
  const transport =
    options.transport ??
    (upstreamUrl
      ? createUpstreamTransport({ url: upstreamUrl, tlsVerify: config.delivery.upstreamTlsVerify, heloName, maxConnections: concurrency, timeouts: options.timeouts, log })
      : createMxTransport({ heloName, resolver: options.mx?.resolver, port: options.mx?.port, timeouts: options.timeouts, log }));
  const sweeper = new MarkerSweeper();
  const counters = counterCollections(db.models);
  const batches = counterBatches(db.models);
  const finisher = createFinisher({ queue, batches, counters, sweeper, log, owner: id, clock });
  // Batches a killed worker (or relay) left open are finished here too.
  const recovery = startBatchRecovery({ batches, counters, sweeper, queue, quota: quotaCounters(counters, sweeper) }, { log, staleAfterMs: config.relay.batchStaleMs });
  const dkim = createDkimSigner({ domains: rt.ctx.domains, secrets: rt.ctx.secrets, ttlMs: config.delivery.dkimCacheMs, log });
  const suppress = createSuppressionRecorder(rt.ctx, log);

  const stats: WorkerStats = { leased: 0, claimsLost: 0, delivered: 0, deferred: 0, bounced: 0, failed: 0 };
  const slots = new Set<Promise<void>>();
  let stopping = false;
  let interrupt: (() => void) | null = null;
  let drainWaiters: (() => void)[] = [];
  let signalStop: () => void = () => {};
  const stopSignal = new Promise<void>((resolve) => (signalStop = resolve));

  // Due ids read in one query and claimed one by one (see lease.ts); refreshed when used up or stale.
  let candidates: string[] = [];
  let candidatesReadAt = 0;
  const candidateBatch = Math.max(8, concurrency * 4);

  /** New messages: stored by this process's relay (onEnqueued) or taken from the relay's batch notices. */
  const fresh: FreshMessage[] = [];
  /** Leased together (one command for a whole batch of new messages), waiting for a free slot. */
  const ready: Lease[] = [];
  let nextDueScanAt = 0;
  let lastEmptyNotices = 0;
  const freshClaim = Math.max(16, concurrency * 4);

  async function nextLease(): Promise<Lease | null> {
    for (let round = 0; round < 2; round++) {
      if (ready.length) return ready.shift()!;
      while (fresh.length) {
        ready.push(...(await queue.claimFresh(fresh.splice(0, freshClaim), { owner: id, now: clock(), leaseMs })));
        if (ready.length) return ready.shift()!;
      }
      // Notices are looked for at most every pollMinMs while there are none (each look is a query).
      if (round === 0 && Date.now() - lastEmptyNotices >= pollMinMs) {
        const taken = await batches.takeNotices(Math.max(4, concurrency));
        if (taken.length === 0) lastEmptyNotices = Date.now();
        fresh.push(...taken);
      }
    }
    // Retries, expired leases and messages whose notice was lost: the query on the due time. On FerretDB it
    // scans the collection, so it runs only when nothing else is known to be waiting, and at most once per
    // dueScanIntervalMs (a wake() from this process, as after a bounce notice, does not wait for it).
    for (let round = 0; round < 2; round++) {
      if (candidates.length === 0 || Date.now() - candidatesReadAt > CANDIDATES_TTL_MS) {
        // drain() needs to know that nothing at all is due: while it waits, every look scans.
        if (Date.now() < nextDueScanAt && !drainWaiters.length) return null;
        // Shuffled, so that workers reading the same ids at once mostly claim different ones.
        candidates = shuffle(await queue.findDueIds(clock(), candidateBatch));
        candidatesReadAt = Date.now();
        // A full batch says there is a backlog: look again as soon as it is claimed; else wait the interval.
        nextDueScanAt = candidates.length < candidateBatch ? Date.now() + dueScanIntervalMs : 0;
        if (candidates.length === 0) return null;
      }
      let lostInARow = 0;
      while (candidates.length) {
        const lease = await queue.claim(candidates.shift()!, { owner: id, now: clock(), leaseMs });
        if (lease) return lease;
        stats.claimsLost++;
        // Other workers are taking these ids as fast as we are: read a fresh set rather than chase them.
        if (++lostInARow >= 3) {
          candidates = [];
          break;
        }
      }
    }
    return null;
  }

  // A wake that comes while the loop is busy (say, in the middle of a poll that will find nothing) is kept, so
  // the next sleep returns at once instead of waiting a whole idle interval.
  let wakePending = false;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (wakePending) {
        wakePending = false;
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        interrupt = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      interrupt = done;
    });
  const wake = () => {
    if (interrupt) interrupt();
    else wakePending = true;
  };

  async function loop(): Promise<void> {
    let idleDelay = pollMinMs;
    while (!stopping) {
      if (slots.size >= concurrency) {
        await Promise.race([...slots, stopSignal]);
        continue;
      }
      let lease: Lease | null;
      try {
        lease = await nextLease();
      } catch (err) {
        log.error({ err, code: 'DELIVERY_LEASE_FAILED' }, 'could not lease queued messages; retrying');
        await sleep(pollMaxMs);
        continue;
      }
      if (!lease) {
        if (slots.size === 0 && drainWaiters.length) {
          const waiters = drainWaiters;
          drainWaiters = [];
          waiters.forEach((w) => w());
        }
        await sleep(idleDelay);
        idleDelay = Math.min(idleDelay * 2, pollMaxMs);
        continue;
      }
      idleDelay = pollMinMs;
      stats.leased++;
      if (stopping) {
        await queue.release(lease, clock()).catch(() => false);
        break;
      }
      const slot: Promise<void> = deliver(lease)
        .catch((err) => log.error({ err, code: 'DELIVERY_CRASHED', queueId: lease.id }, 'delivery attempt failed unexpectedly; the lease will expire and it will be retried'))
        .finally(() => {
          slots.delete(slot);
          wake();
        });
      slots.add(slot);
    }
  }

  async function deliver(lease: Lease): Promise<void> {
    const renewEvery = Math.max(250, Math.floor(leaseMs / 3));
    const renewal = setInterval(() => {
      queue.renew(lease, clock(), leaseMs).then(
        (held) => {
          if (!held) log.warn({ code: 'DELIVERY_LEASE_LOST', queueId: lease.id }, 'lease lost while delivering (another worker may send this message again)');
        },
        (err) => log.warn({ err, code: 'DELIVERY_LEASE_RENEW_FAILED', queueId: lease.id }, 'could not renew the lease'),
      );
    }, renewEvery);
    renewal.unref();
    try {
      await attempt(lease);
    } finally {
      clearInterval(renewal);
    }
  }

  async function attempt(lease: Lease): Promise<void> {
    const msg = lease.message;
    const due = dueRecipients(msg.recipients, clock());
    if (due.length === 0) {
      await finish(
        lease,
        msg.recipients.map((r) => ({ ...r })),
        [],
      );
      return;
    }
    const from = msg.from;
    const senderProblem = from === '' ? null : mailboxProblem(from);
    const results: RecipientResult[] = [];
    const sendable: string[] = [];
    for (const r of due) {
      const problem = senderProblem ? `invalid envelope sender <${from}>: ${senderProblem}` : mailboxProblem(r.address);
      if (problem) {
        const reason = senderProblem ? problem : `invalid recipient address: ${problem}`;
        results.push({ address: r.address, delivered: false, failure: permanentFailure(reason, senderProblem ? '5.1.7' : '5.1.3', 'ENVELOPE_INVALID') });
        log.warn({ code: 'DELIVERY_ENVELOPE_INVALID', queueId: lease.id, problem: reason }, 'envelope address refused before sending');
      } else if (!sendable.includes(r.address)) {
        sendable.push(r.address);
      }
    }
    let body: Buffer | null = null;
    if (sendable.length) {
      try {
        body = await queue.readBody(lease.body);
      } catch (err) {
        log.error({ err, code: 'DELIVERY_BODY_READ_FAILED', queueId: lease.id }, 'could not read the message body');
        const failure = temporaryFailure('could not read the stored message', '4.3.0', 'BODY_READ_FAILED');
        results.push(...sendable.map((address) => ({ address, delivered: false as const, failure })));
      }
      if (body && body.length !== msg.size) {
        log.error({ code: 'DELIVERY_BODY_MISSING', queueId: lease.id, expected: msg.size, found: body.length }, 'stored message body is missing or incomplete');
        const failure = permanentFailure('the stored message body is missing', '5.3.0', 'BODY_MISSING');
        results.push(...sendable.map((address) => ({ address, delivered: false as const, failure })));
        body = null;
      } else if (body) {
        const envelopes = outboundEnvelopes(msg, sendable, returnPathSettings(config));
        results.push(...(await sendEnvelopes(transport, envelopes, await dkim.sign(msg, normalizeLineEndings(body)))));
      }
    }
    const now = clock();
    const applied = applyResults(msg, results, now, policy);
    if (!(await finish(lease, applied.recipients, applied.outcomes))) return;

    report(lease, applied.outcomes);
    await suppress(msg, applied.outcomes, now);
    const undeliverable = applied.outcomes.filter((o) => o.outcome === 'bounced' || o.outcome === 'failed');
    if (undeliverable.length && !senderProblem && shouldSendBounce({ enabled: sendBounces, kind: msg.kind, envelopeFrom: from })) {
      await sendBounce(lease, undeliverable, body, now);
    }
  }

  /**
   * Writes the outcome under the lease (and counts it), batched with other attempts ending now; a database
   * hiccup gets two more tries. False when the lease was lost.
   */
  async function finish(lease: Lease, recipients: QueuedRecipient[], outcomes: RecipientOutcome[]): Promise<boolean> {
    for (let i = 0; ; i++) {
      try {
        const held = await finisher.finish({ lease, recipients, outcomes });
        if (!held) log.warn({ code: 'DELIVERY_LEASE_LOST', queueId: lease.id }, 'lease lost before the outcome was written; the other worker owns the message now');
        return held;
      } catch (err) {
        if (i >= 2) {
          log.error({ err, code: 'DELIVERY_FINISH_FAILED', queueId: lease.id }, 'could not write the delivery outcome; the message will be tried again when its lease expires');
          return false;
        }
        await new Promise((r) => setTimeout(r, 500 * (i + 1)));
      }
    }
  }

  function report(lease: Lease, outcomes: RecipientOutcome[]) {
    const delivered = outcomes.filter((o) => o.outcome === 'delivered').length;
    if (delivered) log.info({ code: 'DELIVERY_DELIVERED', queueId: lease.id, recipients: delivered }, `delivered to ${delivered} recipient(s)`);
    for (const o of outcomes) {
      metrics.deliveries.inc({ outcome: o.outcome });
      stats[o.outcome]++;
      if (o.outcome === 'delivered') continue;
      const code = o.outcome === 'deferred' ? 'DELIVERY_DEFERRED' : o.outcome === 'bounced' ? 'DELIVERY_BOUNCED' : 'DELIVERY_FAILED';
      log.warn(
        { code, queueId: lease.id, recipient: o.address, error: o.failure?.message, failure: o.failure?.code, retryAt: o.retryAt?.toISOString() },
        `${o.outcome}: ${o.failure?.message ?? ''}`,
      );
    }
  }

  async function sendBounce(lease: Lease, outcomes: RecipientOutcome[], body: Buffer | null, now: Date) {
    const msg = lease.message;
    const from = msg.from;
    try {
      const original = body ?? (await queue.readBody(lease.body).catch(() => Buffer.alloc(0)));
      const notice = buildBounceMessage({
        reportingMta: heloName,
        queueId: lease.id,
        to: from,
        originalSubject: msg.subject,
        arrivalDate: msg.createdAt,
        originalMessage: original,
        recipients: outcomes.map((o) => ({ address: o.address, failure: o.failure!, expired: o.expired })),
        now,
      });
      const bounceId = newQueueId();
      await queue.enqueueMany([
        {
          id: bounceId,
          workspaceId: msg.workspaceId,
          accountId: msg.accountId,
          username: msg.username,
          from: '',
          to: [from],
          head: Buffer.alloc(0),
          body: notice.raw,
          messageId: notice.messageId,
          subject: notice.subject,
          relayHost: heloName,
          kind: 'bounce',
          at: now,
        },
      ]);
      log.info({ code: 'DELIVERY_BOUNCE_QUEUED', queueId: lease.id, bounceId, recipients: outcomes.length }, 'bounce notice queued for the sender');
      wake();
    } catch (err) {
      log.error({ err, code: 'DELIVERY_BOUNCE_FAILED', queueId: lease.id }, 'could not queue the bounce notice');
    }
  }

  const depthEvery = options.queueDepthIntervalMs ?? 15_000;
  const depthTimer =
    depthEvery > 0
      ? setInterval(() => {
          refreshQueueDepth(rt).catch((err: unknown) => log.warn({ err, code: 'QUEUE_DEPTH_FAILED' }, 'could not count the queue'));
        }, depthEvery)
      : null;
  depthTimer?.unref();

  // Messages stored by this process (the relay in `npm start`, our own bounce notices): claimed at once.
  const unsubscribe = queue.onEnqueued((msgs) => {
    if (fresh.length < 10_000) fresh.push(...msgs);
    wake();
  });
  // Markers of counted batches not taken off by a later update of the same document.
  const sweepTimer = setInterval(() => void sweeper.sweep(counters), 30_000);
  sweepTimer.unref();

  let loopAlive = true;
  const loopDone = loop().catch((err) => {
    loopAlive = false;
    log.error({ err, code: 'DELIVERY_LOOP_CRASHED' }, 'delivery loop stopped');
  });
  log.info({ code: 'DELIVERY_WORKER_STARTED', transport: transport.description, concurrency, leaseMs }, 'delivery worker started');

  let stopped: Promise<void> | null = null;
  return {
    id,
    description: `delivery worker ${id}: ${transport.description}, ${concurrency} parallel`,
    wake,
    inFlight: () => slots.size,
    alive: () => loopAlive,
    stats: () => ({ ...stats }),
    drain(timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`queue not drained within ${timeoutMs} ms (${slots.size} in flight)`)), timeoutMs);
        drainWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
        wake();
      });
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        unsubscribe();
        signalStop();
        wake();
        await loopDone;
        // Leased but not started: handed back, due now, for any worker.
        await Promise.all(ready.splice(0).map((l) => queue.release(l, clock()).catch(() => false)));
        const grace = options.stopGraceMs ?? 30_000;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.all(slots), new Promise((r) => (timer = setTimeout(r, grace)))]);
        clearTimeout(timer);
        if (slots.size) log.warn({ code: 'DELIVERY_STOP_TIMEOUT', inFlight: slots.size }, 'stopped with deliveries in progress; their leases will expire');
        if (depthTimer) clearInterval(depthTimer);
        await finisher.idle();
        clearInterval(sweepTimer);
        await recovery.stop();
        await sweeper.sweep(counters).catch(() => undefined);
        await transport.close();
        const waiters = drainWaiters;
        drainWaiters = [];
        waiters.forEach((w) => w());
      })();
      return stopped;
    },
  };
}
