// The worker's pace (deliveries started per second lately) sizes its due claims: it follows a change within a
// few half-lives and forgets a burst once the worker stops starting deliveries.
import { describe, expect, it } from 'vitest';
import { Pace } from '../../src/delivery/pace.ts';

function run(steps: { ms: number; started: number }[], halfLifeMs = 5_000): number[] {
  let t = 0;
  const pace = new Pace(() => t, halfLifeMs);
  return steps.map(({ ms, started }) => {
    pace.started(started);
    t += ms;
    return pace.perSecond();
  });
}

describe('Pace', () => {
  it('starts at 0 and approaches a steady rate', () => {
    const rates = run(Array.from({ length: 60 }, () => ({ ms: 1_000, started: 100 })));
    expect(rates[0]).toBeGreaterThan(0);
    expect(rates[0]).toBeLessThan(50);
    expect(rates.at(-1)).toBeCloseTo(100, 0);
    for (let i = 1; i < rates.length; i++) expect(rates[i]!).toBeGreaterThanOrEqual(rates[i - 1]!);
  });

  it('halves in one half-life after starts stop', () => {
    const rates = run([...Array.from({ length: 60 }, () => ({ ms: 1_000, started: 100 })), { ms: 5_000, started: 0 }]);
    expect(rates.at(-1)).toBeCloseTo(50, 0);
  });

  it('does not move on reads closer together than 200 ms (a burst of claims sees one figure)', () => {
    let t = 0;
    const pace = new Pace(() => t);
    pace.started(10);
    t = 100;
    expect(pace.perSecond()).toBe(0);
    t = 1_000;
    const after = pace.perSecond();
    expect(after).toBeGreaterThan(0);
    t = 1_050;
    pace.started(1_000);
    expect(pace.perSecond()).toBe(after);
  });

  it('stays finite and non-negative for hostile clocks (no time passed, time going back)', () => {
    let t = 1_000;
    const pace = new Pace(() => t);
    pace.started(5);
    expect(pace.perSecond()).toBe(0);
    t = 0;
    expect(pace.perSecond()).toBe(0);
    t = 10_000;
    expect(Number.isFinite(pace.perSecond())).toBe(true);
    expect(pace.perSecond()).toBeGreaterThanOrEqual(0);
  });
});
