// The per-client limits of the bounces listener, without a server.
import { describe, expect, it } from 'vitest';
import { createClientLimits } from '../../src/bounces/client-limits.ts';

describe('client limits', () => {
  it('allows N open connections per address, and one more once one closes', () => {
    const l = createClientLimits({ maxConnectionsPerClient: 2, maxMessagesPerMinute: 10 });
    expect([l.connect('a'), l.connect('a'), l.connect('a'), l.connect('b')]).toEqual([true, true, false, true]);
    l.disconnect('a');
    expect(l.connect('a')).toBe(true);
  });
  it('counts messages per address and minute, and starts again the next minute', () => {
    const l = createClientLimits({ maxConnectionsPerClient: 2, maxMessagesPerMinute: 3 });
    const t = 60_000 * 1000;
    expect([1, 2, 3, 4].map(() => l.message('a', t))).toEqual([true, true, true, false]);
    expect(l.message('b', t)).toBe(true);
    expect(l.message('a', t + 60_000)).toBe(true);
  });
  it('never goes negative on a close without an open', () => {
    const l = createClientLimits({ maxConnectionsPerClient: 1, maxMessagesPerMinute: 1 });
    l.disconnect('x');
    expect([l.connect('x'), l.connect('x')]).toEqual([true, false]);
  });
});
