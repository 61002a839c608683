// The queue-depth sampler: one count at a time, and the next only after the database was free of it for
// took ÷ share. Counts on a timer had piled up behind each other on a long FerretDB queue.
import { describe, expect, it } from 'vitest';
import { depthSampler } from '../../src/store/queue/depth.ts';

/** A count the test finishes by hand, on a clock the test moves. */
function harness(share = 0.05) {
  let t = 1_000;
  const pending: { resolve: (n: number) => void; reject: (e: Error) => void }[] = [];
  let calls = 0;
  const sampler = depthSampler(
    () => {
      calls++;
      return new Promise<number>((resolve, reject) => pending.push({ resolve, reject }));
    },
    { share, now: () => t },
  );
  return {
    sampler,
    calls: () => calls,
    advance: (ms: number) => (t += ms),
    finish: async (n: number) => {
      pending.shift()!.resolve(n);
      await new Promise((r) => setImmediate(r));
    },
    fail: async () => {
      pending.shift()!.reject(new Error('timed out'));
      await new Promise((r) => setImmediate(r));
    },
  };
}

describe('depthSampler', () => {
  it('joins the count under way instead of starting another', async () => {
    const h = harness();
    const a = h.sampler.sample();
    const b = h.sampler.sample();
    expect(h.calls()).toBe(1);
    await h.finish(42);
    expect(await a).toBe(42);
    expect(await b).toBe(42);
  });

  it('after a count that took 2 s, serves the last value for 40 s (5 %), then counts again', async () => {
    const h = harness(0.05);
    const first = h.sampler.sample();
    h.advance(2_000);
    await h.finish(7);
    expect(await first).toBe(7);

    h.advance(39_000);
    expect(await h.sampler.sample()).toBe(7);
    expect(h.calls()).toBe(1);

    h.advance(1_000);
    const next = h.sampler.sample();
    expect(h.calls()).toBe(2);
    await h.finish(9);
    expect(await next).toBe(9);
  });

  it('a failed count rejects its callers, keeps the last value, and spaces the next one the same way', async () => {
    const h = harness(0.5);
    const first = h.sampler.sample();
    await h.finish(3);
    await first;
    const failing = h.sampler.sample();
    h.advance(1_000);
    await h.fail();
    await expect(failing).rejects.toThrow('timed out');
    h.advance(1_999);
    expect(await h.sampler.sample()).toBe(3);
    expect(h.calls()).toBe(2);
    h.advance(1);
    void h.sampler.sample();
    expect(h.calls()).toBe(3);
  });

  it('returns null before any count has ended when it may not count yet', async () => {
    const h = harness(0.5);
    const failing = h.sampler.sample();
    h.advance(100);
    await h.fail();
    await expect(failing).rejects.toThrow();
    expect(await h.sampler.sample()).toBeNull();
  });
});
