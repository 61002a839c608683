// Passwords of the old format (32 letters and digits, before issue 18) keep working on a real relay; the next
// rotate gives the scanner-friendly format, and the old password stops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/domain/credentials.ts';
import { checkPasswordToken, rotateAccountPassword } from '../../src/domain/index.ts';
import { admin } from '../helpers/domain.ts';
import { startTestRelay, type TestRelay } from '../helpers/relay.ts';
import { RawSmtpClient } from '../helpers/smtp-client.ts';

let t: TestRelay;
beforeAll(async () => {
  t = await startTestRelay();
});
afterAll(async () => {
  await t?.close();
});

async function auth(username: string, password: string): Promise<number> {
  const c = await RawSmtpClient.connect(t.port);
  try {
    return (await c.login(username, password)).code;
  } finally {
    c.close();
  }
}

describe('old-format passwords', () => {
  it('keep working until the next rotate, which gives the new format', async () => {
    const a = await t.newAccount('legacy-app');
    const legacy = 'Ab3dEf6hIj9kMn2pQr5tUv8xYz1bCd4f';
    await t.rt.ctx.accounts.setPasswordHash(a.accountId, await hashPassword(legacy, t.rt.ctx.bcryptCost));
    expect(await auth(a.username, legacy)).toBe(235);
    expect(checkPasswordToken(legacy)).toEqual({ ok: false, reason: 'format' });

    const rotated = await rotateAccountPassword(t.rt.ctx, admin, t.workspace.id, 'legacy-app');
    expect(checkPasswordToken(rotated.password)).toEqual({ ok: true, username: a.username });
    expect(await auth(a.username, rotated.password)).toBe(235);
    expect(await auth(a.username, legacy)).toBe(535);
  });
});
