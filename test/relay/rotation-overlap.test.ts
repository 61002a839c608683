// Rotate with --keep-old: old and new passwords both authenticate until the deadline (the relay's clock is
// moved past it), sessions and cached credentials made with the old one end there too, and a disable ends
// every password at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateAccountPassword, isDomainError } from '../../src/domain/index.ts';
import { RawSmtpClient } from '../helpers/smtp-client.ts';
import { startTestRelay, type TestRelay } from '../helpers/relay.ts';
import { runSmtpdesk } from '../helpers/cli.ts';

let t: TestRelay;
let offsetMs = 0;
const HOUR = 3_600_000;

beforeAll(async () => {
  t = await startTestRelay({ relay: { clock: () => new Date(Date.now() + offsetMs) } });
});
afterAll(async () => {
  await t?.close();
});

function cli(args: string[]) {
  return runSmtpdesk(args, { MONGODB_URI: t.rt.config.database.uri, SMTPDESK_WORKSPACE: t.workspace.name });
}

async function auth(username: string, password: string): Promise<number> {
  const c = await RawSmtpClient.connect(t.port);
  try {
    return (await c.login(username, password)).code;
  } finally {
    c.close();
  }
}

async function openSession(username: string, password: string): Promise<RawSmtpClient> {
  const c = await RawSmtpClient.connect(t.port);
  expect((await c.login(username, password)).code).toBe(235);
  return c;
}

async function canStartMessage(c: RawSmtpClient): Promise<string> {
  const r = await c.command('MAIL FROM:<app@example.com>');
  if (r.code === 250) await c.command('RSET');
  return `${r.code} ${r.text}`;
}

describe('rotate --keep-old', () => {
  it('keeps the old password and its sessions until the deadline, then only the new one works', async () => {
    offsetMs = 0;
    const acct = await t.newAccount();
    const oldSession = await openSession(acct.username, acct.password); // also fills the credential cache
    const rotated = await cli(['accounts', 'rotate', acct.name, '--keep-old', '1h', '--json']);
    expect(rotated.code, rotated.stderr).toBe(0);
    const { password: fresh, oldPasswordValidUntil } = rotated.json<{ password: string; oldPasswordValidUntil: string }>();
    expect(new Date(oldPasswordValidUntil).getTime()).toBeGreaterThan(Date.now() + HOUR - 60_000);

    expect(await auth(acct.username, acct.password)).toBe(235);
    expect(await auth(acct.username, fresh)).toBe(235);
    expect(await canStartMessage(oldSession)).toMatch(/^250 /);

    const show = await cli(['accounts', 'show', acct.name]);
    expect(show.stdout).toMatch(/Old password\s+valid until \d{4}-\d\d-\d\d \d\d:\d\d UTC; last used \d{4}-\d\d-\d\d/);

    // One second past the deadline.
    offsetMs = new Date(oldPasswordValidUntil).getTime() - Date.now() + 1000;
    expect(await auth(acct.username, acct.password)).toBe(535); // the cache remembered it: not enough
    expect(await canStartMessage(oldSession)).toMatch(/^530 5\.7\.0 Credentials of smtp-\w+ changed/);
    expect(await auth(acct.username, fresh)).toBe(235);
    oldSession.close();
  });

  it('a disable ends both passwords and every session at once; enable brings back only the new one', async () => {
    offsetMs = 0;
    const acct = await t.newAccount();
    const rotated = await cli(['accounts', 'rotate', acct.name, '--keep-old', '24h', '--json']);
    const { password: fresh } = rotated.json<{ password: string }>();
    const oldSession = await openSession(acct.username, acct.password);
    const newSession = await openSession(acct.username, fresh);

    expect((await cli(['accounts', 'disable', acct.name, '--reason', 'suspected_compromise'])).code).toBe(0);
    expect(await auth(acct.username, acct.password)).toBe(535);
    expect(await auth(acct.username, fresh)).toBe(535);
    expect(await canStartMessage(oldSession)).toMatch(/^530 /);
    expect(await canStartMessage(newSession)).toMatch(/^530 /);

    expect((await cli(['accounts', 'enable', acct.name])).code).toBe(0);
    expect(await auth(acct.username, fresh)).toBe(235);
    expect(await auth(acct.username, acct.password)).toBe(535);
    oldSession.close();
    newSession.close();
  });

  it('without --keep-old the old password stops at once; a webhook rotate cannot keep it', async () => {
    const acct = await t.newAccount();
    const rotated = await cli(['accounts', 'rotate', acct.name, '--json']);
    expect(await auth(acct.username, acct.password)).toBe(535);
    expect(await auth(acct.username, rotated.json<{ password: string }>().password)).toBe(235);

    const webhook = { source: 'webhook' as const, id: 'pagerduty', roles: ['admin' as const] };
    const refused = await rotateAccountPassword(t.rt.ctx, webhook, t.workspace.id, acct.name, 'leak', { keepOldMs: HOUR }).catch((e: unknown) => e);
    expect(isDomainError(refused, 'INPUT.INVALID')).toBe(true);
    const bad = await cli(['accounts', 'rotate', acct.name, '--keep-old', '8d']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('at most 7 days');
  });
});
