// A worker never claims again a message it still holds. When the database is away for longer than a lease, the
// worker's renewals fail and its leases run out while it is still delivering or finishing those messages; once the
// database is back, its next due scan must not hand them to a second slot (the message would go out twice,
// as the --hang-db soak showed). The lease's own finish, guarded by its token, still lands.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClaimer } from '../../src/delivery/claimer.ts';
import { openDeliveryHarness, testMessage, type DeliveryHarness } from '../helpers/delivery.ts';

let h: DeliveryHarness;
beforeAll(async () => {
  h = await openDeliveryHarness({ env: { LOG_LEVEL: 'warn' } });
});
afterAll(async () => {
  await h?.close();
});

it('a lease of its own that ran out is not claimed again by the worker that holds it; its finish lands', async () => {
  const id = await h.enqueue({ to: ['x@example.test'], body: testMessage({ messageId: '<own@sender.test>' }) });
  const t0 = new Date(Date.now() + 1_000);
  const leaseMs = 1_000;
  const { leases } = await h.rt.queue.claimDue({ owner: 'w1', now: t0, leaseMs, limit: 10 });
  expect(leases.map((l) => l.id)).toEqual([id]);
  const held = leases[0]!;

  // The database was away: no renewal, and the lease ran out while w1 was delivering.
  const later = new Date(t0.getTime() + 5 * leaseMs);
  const claimer = (holding: string[]) =>
    createClaimer({
      queue: h.rt.queue,
      ledger: h.rt.ledger,
      log: h.rt.log,
      owner: 'w1',
      leaseMs,
      clock: () => later,
      pollMinMs: 20,
      dueScanIntervalMs: 0,
      minDueClaim: 4,
      pacedDueClaim: () => 4,
      dueClaimCap: 4,
      held: () => holding,
    });
  expect(await claimer([id]).claimDue(4)).toEqual([]);

  // w1's finish, guarded by its lease token, lands after all.
  const landed = await h.rt.queue.finishMany([{ lease: held, recipients: held.message.recipients.map((r) => ({ ...r, status: 'delivered' as const })) }], later, 'batch-own');
  expect([...landed]).toEqual([id]);
  expect((await h.message(id)).state).toBe('done');
});

it('the same run-out lease is claimed by a worker that does not hold it (the due scan itself finds it)', async () => {
  const id = await h.enqueue({ to: ['y@example.test'], body: testMessage({ messageId: '<other@sender.test>' }) });
  const t0 = new Date(Date.now() + 1_000);
  await h.rt.queue.claimDue({ owner: 'w1', now: t0, leaseMs: 1_000, limit: 10 });
  const later = new Date(t0.getTime() + 5_000);
  const { leases } = await h.rt.queue.claimDue({ owner: 'w2', now: later, leaseMs: 1_000, limit: 10, exclude: [] });
  expect(leases.map((l) => l.id)).toEqual([id]);
});
