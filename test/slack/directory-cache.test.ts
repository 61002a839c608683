// The Slack directory's caches (lru-cache): group members and user names are read once per TTL, a failed read
// falls back on the last members for a short while, and the clock is the test's.
import type { WebClient } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import type { DomainContext } from '../../src/domain/index.ts';
import { createLogger } from '../../src/log.ts';
import { SlackDirectory } from '../../src/slack/actor.ts';
import type { Config } from '../../src/config.ts';

function setup() {
  let clock = 0;
  let down = false;
  const calls = { groups: 0, users: 0 };
  const client = {
    usergroups: {
      users: {
        list: async () => {
          calls.groups++;
          if (down) throw new Error('slack down');
          return { users: ['U1', 'U2'] };
        },
      },
    },
    users: {
      info: async ({ user }: { user: string }) => {
        calls.users++;
        return { user: { name: `name-of-${user}` } };
      },
    },
  } as unknown as WebClient;
  const directory = new SlackDirectory({
    ctx: {} as DomainContext,
    slack: {} as Config['slack'],
    defaultPlan: '10k',
    log: createLogger({ level: 'silent' }),
    cacheTtlMs: 60_000,
    now: () => clock,
  });
  return { directory, client, calls, tick: (ms: number) => (clock += ms), setDown: (v: boolean) => (down = v) };
}

describe('SlackDirectory caches', () => {
  it('reads a group once per TTL, and keeps the last members for at most 10 s when Slack fails', async () => {
    const s = setup();
    for (let i = 0; i < 5; i++) expect([...(await s.directory.groupMembers(s.client, 'S1'))]).toEqual(['U1', 'U2']);
    expect(s.calls.groups).toBe(1);
    s.tick(60_001);
    s.setDown(true);
    expect([...(await s.directory.groupMembers(s.client, 'S1'))]).toEqual(['U1', 'U2']);
    expect(s.calls.groups).toBe(2);
    s.tick(9_000);
    await s.directory.groupMembers(s.client, 'S1');
    expect(s.calls.groups).toBe(2);
    s.tick(1_001);
    await s.directory.groupMembers(s.client, 'S1');
    expect(s.calls.groups).toBe(3);
    // A group never read and Slack down: nobody holds it (fail closed).
    expect((await s.directory.groupMembers(s.client, 'S2')).size).toBe(0);
  });
});
