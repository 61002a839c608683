// The relay's hourly tallies (surge history): summed in memory, one write per account and hour per interval,
// bounded in memory without losing a count (pushed-out tallies are written early).
import { describe, expect, it } from 'vitest';
import type { DomainContext, SmtpPrincipal } from '../../src/domain/index.ts';
import { createLogger } from '../../src/log.ts';
import { AcceptedHourCounter, RefusalCounter } from '../../src/relay/hourly-counts.ts';
import { eventually } from '../helpers/relay.ts';

function setup() {
  const writes: { kind: string; accountId: string; n: number }[] = [];
  const ctx = {
    clock: () => new Date('2026-12-05T03:00:00Z'),
    accountHours: {
      recordAcceptedHour: async (accountId: string, _w: string, _h: Date, n: number) => void writes.push({ kind: 'accepted', accountId, n }),
      recordRefusedHour: async (accountId: string, _w: string, _h: Date, n: number) => void writes.push({ kind: 'refused', accountId, n }),
    },
  } as unknown as DomainContext;
  return { writes, deps: { ctx, log: createLogger({ level: 'silent' }) } };
}

const principal = (accountId: string) => ({ accountId, workspaceId: 'w1' }) as SmtpPrincipal;
const at = new Date('2026-12-05T03:10:00Z');

describe('hourly tallies', () => {
  it('sums an account’s hour and writes it once when its interval ends', async () => {
    const { writes, deps } = setup();
    const accepted = new AcceptedHourCounter(deps, 100);
    for (let i = 0; i < 5; i++) accepted.add(principal('a1'), 2, '192.0.2.1', at);
    expect(writes).toEqual([]);
    await eventually(() => writes.length > 0, 5_000, 'the tally to be written');
    expect(writes).toEqual([{ kind: 'accepted', accountId: 'a1', n: 10 }]);
  });

  it('writes every pending tally at flush, and each only once', async () => {
    const { writes, deps } = setup();
    const refused = new RefusalCounter(deps, 60_000);
    refused.add(principal('a1'), 3);
    refused.add(principal('a2'));
    await refused.flush();
    expect(writes.sort((x, y) => x.accountId.localeCompare(y.accountId))).toEqual([
      { kind: 'refused', accountId: 'a1', n: 3 },
      { kind: 'refused', accountId: 'a2', n: 1 },
    ]);
    await refused.flush();
    expect(writes).toHaveLength(2);
  });

  it('holds at most 10,000 tallies: the oldest is written early, no count is lost', async () => {
    const { writes, deps } = setup();
    const accepted = new AcceptedHourCounter(deps, 60_000);
    for (let i = 0; i <= 10_000; i++) accepted.add(principal(`a${i}`), 1, '192.0.2.1', at);
    await eventually(() => writes.length === 1, 5_000, 'the pushed-out tally');
    expect(writes[0]).toEqual({ kind: 'accepted', accountId: 'a0', n: 1 });
    await accepted.flush();
    expect(writes).toHaveLength(10_001);
    expect(writes.reduce((n, w) => n + w.n, 0)).toBe(10_001);
  });
});
