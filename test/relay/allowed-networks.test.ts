// Allowed networks on a real relay: AUTH from outside the account's networks gets the same 535 as a wrong
// password (logged with its own code, counted), from inside 235; three refusals in an hour alert once; a
// change reaches sessions already open at their next MAIL FROM.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowedNetworks, setSendingPolicy } from '../../src/domain/index.ts';
import { admin } from '../helpers/domain.ts';
import { eventually, startTestRelay, type TestRelay } from '../helpers/relay.ts';
import { RawSmtpClient } from '../helpers/smtp-client.ts';

let t: TestRelay;
beforeAll(async () => {
  t = await startTestRelay({ env: { RELAY_SESSION_CHECK_CACHE_MS: '0' } });
});
afterAll(async () => {
  await t?.close();
});

async function auth(username: string, password: string, from: string): Promise<string> {
  const c = await RawSmtpClient.connect(t.port, { localAddress: from });
  try {
    const r = await c.login(username, password);
    return `${r.code} ${r.text}`;
  } finally {
    c.close();
  }
}

async function authMetric(reason: string): Promise<number> {
  const metric = (await t.rt.metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'smtpdesk_smtp_auth_total');
  const rows = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return rows.filter((v) => v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
}

const allow = (name: string, networks: string) => setSendingPolicy(t.rt.ctx, admin, t.workspace.id, name, { allowedNetworks: parseAllowedNetworks(networks) });

describe('allowed networks at AUTH', () => {
  it('only 127.0.0.1/32 allowed: AUTH from 127.0.0.2 gets 535 like a wrong password, from 127.0.0.1 gets 235', async () => {
    const a = await t.newAccount('billing-app');
    await allow('billing-app', '127.0.0.1/32');
    const refusedBefore = await authMetric('network');

    const wrongPassword = await auth(a.username, 'not-the-password', '127.0.0.2');
    const wrongNetwork = await auth(a.username, a.password, '127.0.0.2');
    expect(wrongNetwork).toBe('535 5.7.8 Authentication failed');
    expect(wrongNetwork).toBe(wrongPassword); // no oracle
    expect(await auth(a.username, a.password, '127.0.0.1')).toMatch(/^235 /);
    // The credential cache (the 235 above filled it) does not skip the check.
    expect(await auth(a.username, a.password, '127.0.0.2')).toMatch(/^535 /);

    expect(await authMetric('network')).toBe(refusedBefore + 2);
    const lines = t.logs.filter((l) => l.code === 'RELAY_AUTH_NETWORK_REFUSED' && l.username === a.username);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ ip: '127.0.0.2', allowedNetworks: ['127.0.0.1/32'] });
    expect(t.rawLogs()).not.toContain(a.password);

    // Cleared with "": anywhere again.
    await allow('billing-app', '');
    expect(await auth(a.username, a.password, '127.0.0.2')).toMatch(/^235 /);
  });

  it('three refusals in an hour alert once per episode (audited account.network_refused), not on every refusal', async () => {
    const a = await t.newAccount('moved-app');
    await allow('moved-app', '10.9.0.0/16');
    for (let i = 0; i < 5; i++) expect(await auth(a.username, a.password, '127.0.0.4')).toMatch(/^535 /);
    const audits = (await t.rt.ctx.audit.list(t.workspace.id, { accountId: a.accountId, limit: 50 })).filter((e) => e.action === 'account.network_refused');
    expect(audits).toHaveLength(1);
    expect(audits[0]!.details).toMatchObject({ address: '127.0.0.4', refusals: 3, allowedNetworks: ['10.9.0.0/16'] });
    expect(t.logs.filter((l) => l.code === 'RELAY_AUTH_NETWORK_ALERT' && l.username === a.username)).toHaveLength(1);
  });

  it('a session opened before the change is refused at its next MAIL FROM', async () => {
    const a = await t.newAccount('open-session');
    const c = await RawSmtpClient.connect(t.port, { localAddress: '127.0.0.2' });
    try {
      expect((await c.login(a.username, a.password)).code).toBe(235);
      expect((await c.command('MAIL FROM:<app@example.com>')).code).toBe(250);
      await c.command('RSET');
      await allow('open-session', '127.0.0.1');
      await eventually(async () => (await c.command('MAIL FROM:<app@example.com>')).code === 530, 5_000, 'the session to be refused');
    } finally {
      c.close();
    }
  });
});
