// The job lease in MongoDB: each tick once across instances, no overlapping runs, expiry after a crash.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../../src/store/connection.ts';
import { jobLeases, type JobLeases } from '../../src/store/repositories/job-leases.ts';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';

let uri: string;
let db: Database;
let leases: JobLeases;
const tick = (h: number) => new Date(Date.UTC(2026, 10, 15, h));
const LEASE = 60_000;

beforeAll(async () => {
  uri = testDatabaseUri();
  db = await connectDatabase(uri);
  leases = jobLeases(db.models);
});
afterAll(async () => {
  await db?.close();
  await dropTestDatabase(uri);
});

describe('job leases', () => {
  it('of eight instances claiming the same tick at once, exactly one wins', async () => {
    const now = tick(9);
    const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => leases.claimTick('race', tick(9), { owner: `i${i}`, now, leaseMs: LEASE })));
    const winners = claims.filter((c) => c !== null);
    expect(winners).toHaveLength(1);
    expect((await leases.get('race'))?.owner).toBe(winners[0]!.owner);
  });

  it('a finished tick is not run again by a late instance; the next tick runs', async () => {
    const first = await leases.claimTick('daily', tick(9), { owner: 'a', now: tick(9), leaseMs: LEASE });
    await first!.release({ at: new Date(tick(9).getTime() + 1000), result: 'ok', summary: 'done' });
    // An instance whose clock or start was late tries the same tick after the run finished.
    expect(await leases.claimTick('daily', tick(9), { owner: 'b', now: new Date(tick(9).getTime() + 5000), leaseMs: LEASE })).toBeNull();
    // Nor an older tick.
    expect(await leases.claimTick('daily', tick(8), { owner: 'b', now: tick(10), leaseMs: LEASE })).toBeNull();
    const next = await leases.claimTick('daily', tick(10), { owner: 'b', now: tick(10), leaseMs: LEASE });
    expect(next).not.toBeNull();
    expect(await leases.get('daily')).toMatchObject({ owner: 'b', tick: tick(10), lastRun: { trigger: 'schedule', result: 'running' } });
  });

  it('a run in progress holds the job: the next tick is skipped until the lease ends, then taken over', async () => {
    expect(await leases.claimTick('slow', tick(9), { owner: 'a', now: tick(9), leaseMs: 90 * 60_000 })).not.toBeNull();
    expect(await leases.claimTick('slow', tick(10), { owner: 'b', now: tick(10), leaseMs: LEASE })).toBeNull();
    // Instance a crashed: its lease ends at 10:30, the 11:00 tick is taken by b.
    expect(await leases.claimTick('slow', tick(11), { owner: 'b', now: tick(11), leaseMs: LEASE })).not.toBeNull();
  });

  it('a run on demand takes the lease but no tick; it is refused while a run holds the lease', async () => {
    const manual = await leases.claimManual('mixed', { owner: 'cli', now: tick(9), leaseMs: LEASE });
    expect(manual).not.toBeNull();
    expect(await leases.claimManual('mixed', { owner: 'cli2', now: tick(9), leaseMs: LEASE })).toBeNull();
    expect(await leases.claimTick('mixed', tick(9), { owner: 'a', now: tick(9), leaseMs: LEASE })).toBeNull();
    await manual!.release({ at: tick(9), result: 'error', error: 'boom' });
    expect(await leases.get('mixed')).toMatchObject({ lastRun: { trigger: 'manual', result: 'error', error: 'boom' } });
    // The scheduled tick of the same hour still runs after the manual run is done.
    expect(await leases.claimTick('mixed', tick(9), { owner: 'a', now: tick(9), leaseMs: LEASE })).not.toBeNull();
  });
});
