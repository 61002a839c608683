// A backlog (the next hop was down, or a worker died) is claimed in bulk claims that grow while the due scans
// come back full: each scan reads the queue (on FerretDB the whole collection), so claiming a slot-full per
// scan drained a 3,000-message backlog at 27 a second against 129 under a steady load (bench:drain).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClaimer, type ClaimerDeps } from '../../src/delivery/claimer.ts';
import { newQueueId } from '../../src/store/queue/index.ts';
import { openDeliveryHarness, type DeliveryHarness } from '../helpers/delivery.ts';

let h: DeliveryHarness;
beforeAll(async () => {
  h = await openDeliveryHarness({ env: { LOG_LEVEL: 'warn' } });
});
afterAll(async () => {
  await h?.close();
});

/** A claimer of worker w1 with small claims, as the test needs it otherwise. */
function claimerWith(deps: Pick<ClaimerDeps, 'queue' | 'ledger' | 'dueScanIntervalMs'> & Partial<ClaimerDeps>) {
  return createClaimer({
    log: h.rt.log,
    owner: 'w1',
    leaseMs: 60_000,
    clock: () => new Date(),
    pollMinMs: 20,
    minDueClaim: 4,
    pacedDueClaim: () => 4,
    dueClaimCap: 4,
    held: () => [],
    ...deps,
  });
}

it('claims a backlog in scans as large as the worker allows once one came back full, then waits for the interval', async () => {
  const at = new Date(Date.now() - 1_000);
  const backlog = Array.from({ length: 200 }, () => ({
    id: newQueueId(),
    workspaceId: 'ws-claimer',
    accountId: 'acct-claimer',
    username: 'claimer',
    from: 'app@sender.test',
    to: ['r@example.test'],
    head: Buffer.alloc(0),
    body: Buffer.from('Subject: backlog\r\n\r\nhi\r\n'),
    at,
  }));
  await h.rt.queue.enqueueMany(backlog);
  const claimer = claimerWith({ queue: h.rt.queue, ledger: h.rt.ledger, dueScanIntervalMs: 60_000, pacedDueClaim: () => 64, dueClaimCap: 64 });
  const sizes: number[] = [];
  const claimed = new Set<string>();
  for (let i = 0; i < 12 && claimed.size < backlog.length; i++) {
    expect(claimer.scanDue(true)).toBe(true);
    const got = await claimer.claimDue(1);
    sizes.push(got.length);
    for (const l of got) claimed.add(l.id);
  }
  expect(sizes).toEqual([4, 64, 64, 64, 4]);
  expect(claimed).toEqual(new Set(backlog.map((m) => m.id)));
  // The last scan came back short: without a drain waiting, the next waits for the interval.
  expect(claimer.scanDue()).toBe(false);
  expect(await claimer.claim(1)).toEqual([]);
});

/** A claimer on a clock the test moves, whose due scan is `scan` (which moves the clock by what it takes). */
function clockedClaimer(scan: (clock: { t: number }) => Promise<{ leases: never[]; seen: number }>) {
  const clock = { t: 0 };
  const queue = { claimFresh: async () => [], claimDue: () => scan(clock), withdrawLeased: async () => [] };
  const claimer = claimerWith({
    queue,
    ledger: { takeNotices: async () => [], refusedAmong: async () => new Set<string>() },
    dueScanIntervalMs: 5_000,
    now: () => clock.t,
  });
  return { clock, claimer, queue };
}

it('without a backlog, waits ten times as long as the last scan took before the next, when that is longer than the interval', async () => {
  // Only the scan's duration matters here: a queue whose due scan takes 3 s and finds nothing.
  const { clock, claimer } = clockedClaimer(async (c) => {
    c.t += 3_000;
    return { leases: [], seen: 0 };
  });
  expect(claimer.scanDue()).toBe(true);
  expect(await claimer.claimDue(4)).toEqual([]);
  clock.t += 29_999;
  expect(claimer.scanDue()).toBe(false);
  clock.t += 1;
  expect(claimer.scanDue()).toBe(true);
  // A drain waiting does not wait for it.
  clock.t -= 10_000;
  expect(claimer.scanDue(true)).toBe(true);
});

it('after a scan that failed, waits ten times as long as it took too: a scan that timed out is not run again at once', async () => {
  // Seen in bench:drain: on a long history FerretDB's due scan ran past the driver's 30 s timeout, was run again
  // after the 5 s interval, timed out again, and kept the database scanning most of the time.
  const { clock, claimer, queue } = clockedClaimer(async (c) => {
    c.t += 30_000;
    throw new Error('connection 5 to 127.0.0.1:27017 timed out');
  });
  expect(claimer.scanDue()).toBe(true);
  await expect(claimer.claimDue(4)).rejects.toThrow(/timed out/);
  clock.t += 299_999;
  expect(claimer.scanDue()).toBe(false);
  clock.t += 1;
  expect(claimer.scanDue()).toBe(true);
  // A failure that came at once (the database away) is tried again after the interval.
  queue.claimDue = async () => {
    throw new Error('server selection timed out');
  };
  await expect(claimer.claimDue(4)).rejects.toThrow();
  clock.t += 5_000;
  expect(claimer.scanDue()).toBe(true);
});
