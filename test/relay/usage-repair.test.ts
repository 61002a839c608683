// Counting an accepted message is two writes (the account's totals, the account's month). When one of them
// fails, the repair redoes that one only: redoing both counted the message twice (found by test:soak).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { monthKey } from '../../src/domain/index.ts';
import { startTestRelay, type TestRelay } from '../helpers/relay.ts';

let t: TestRelay;
let account: { username: string; password: string; accountId: string };

beforeAll(async () => {
  t = await startTestRelay({ relay: { repairs: { firstDelayMs: 100, maxDelayMs: 500 } } });
  account = await t.newAccount();
});
afterAll(async () => {
  await t?.close();
});

function send(subject: string): Promise<string> {
  return nodemailer
    .createTransport({ host: '127.0.0.1', port: t.port, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: account.username, pass: account.password } })
    .sendMail({ from: 'app@example.com', to: 'someone@example.org', subject, text: subject })
    .then((info) => info.response);
}

async function counted(): Promise<{ total: number; month: number }> {
  const a = await t.rt.ctx.accounts.findById(account.accountId);
  const months = await t.rt.ctx.usage.accountMonths(t.workspace.id, monthKey(new Date()));
  return { total: a?.counters.sent ?? NaN, month: months.get(account.accountId)?.sent ?? 0 };
}

describe('counting an accepted message when one counter write fails', () => {
  it.each(['recordAccepted', 'addAccountMonth'] as const)('redoes only the failed write (%s)', async (failing) => {
    const before = await counted();
    const repo = (failing === 'recordAccepted' ? t.rt.ctx.accounts : t.rt.ctx.usage) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const original = repo[failing]!;
    let failures = 1;
    repo[failing] = async (...args: unknown[]) => {
      if (failures-- > 0) throw new Error('injected store failure');
      return original.apply(repo, args);
    };
    try {
      expect(await send(`repair ${failing}`)).toMatch(/^250 /);
      expect(await t.relay.repaired(10_000)).toBe(true);
    } finally {
      repo[failing] = original;
    }
    const after = await counted();
    expect(after.total - before.total).toBe(1);
    expect(after.month - before.month).toBe(1);
  });
});
