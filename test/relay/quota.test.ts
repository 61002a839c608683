// The workspace's monthly quota: one email per recipient, reserved atomically before a message is accepted.
import { afterAll, beforeAll, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { monthKey } from '../../src/domain/index.ts';
import { startTestRelay, type TestRelay } from '../helpers/relay.ts';

let t: TestRelay;
beforeAll(async () => {
  t = await startTestRelay({ planId: '10k' });
});
afterAll(async () => {
  await t?.close();
});

const month = () => monthKey(new Date());
const sendOne = (user: string, pass: string, to: string[], subject: string) =>
  nodemailer
    .createTransport({ host: '127.0.0.1', port: t.port, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user, pass } })
    .sendMail({ from: 'app@example.com', to, subject, text: subject })
    .then(
      (info) => info.response,
      (err: { response?: string; message: string }) => err.response ?? err.message,
    );

it('20 parallel sessions against 10 emails left: exactly 10 accepted, 10 refused with 552 naming the quota, no overshoot', async () => {
  const accounts = await Promise.all([t.newAccount(), t.newAccount()]);
  // The month already has 9,990 of the 10k plan's 10,000 emails.
  expect(await t.rt.ctx.usage.reserveWorkspaceEmails(t.workspace.id, month(), 9_990, 10_000)).toBe(true);

  const replies = await Promise.all(
    Array.from({ length: 20 }, (_, i) => {
      const a = accounts[i % 2]!;
      return sendOne(a.username, a.password, [`r${i}@example.org`], `parallel ${i}`);
    }),
  );
  const accepted = replies.filter((r) => r.startsWith('250 '));
  const refused = replies.filter((r) => r.startsWith('552 '));
  expect(accepted).toHaveLength(10);
  expect(refused).toHaveLength(10);
  expect(refused[0]).toMatch(/^552 5\.2\.2 Monthly quota of 10,000 emails \(plan 10k\) reached: 10,000 used, this message has 1 recipient\(s\)\.$/);

  expect(await t.rt.ctx.usage.workspaceSent(t.workspace.id, month())).toBe(10_000);
  expect(await t.rt.db.models.queuedMessages.countDocuments({ workspaceId: t.workspace.id })).toBe(10);
  const sent = await Promise.all(accounts.map(async (a) => (await t.rt.ctx.accounts.findById(a.accountId))!.counters.sent));
  expect(sent[0]! + sent[1]!).toBe(10);
  expect(t.logs.filter((l) => l.code === 'RELAY_QUOTA_EXCEEDED')).toHaveLength(10);
});

it('a message whose recipients would go over is refused whole, and does not use up what is left', async () => {
  const a = await t.newAccount();
  const ws = t.workspace.id;
  const left = 10_000 - (await t.rt.ctx.usage.workspaceSent(ws, month()));
  // Give back two emails so that exactly 2 are left (whatever the first test left behind).
  await t.rt.ctx.usage.releaseWorkspaceEmails(ws, month(), 2 - left);
  expect(await sendOne(a.username, a.password, ['a@example.org', 'b@example.org', 'c@example.org'], 'three')).toMatch(/^552 5\.2\.2 .*this message has 3 recipient/);
  expect(await t.rt.ctx.usage.workspaceSent(ws, month())).toBe(9_998);
  expect(await sendOne(a.username, a.password, ['a@example.org', 'b@example.org'], 'two')).toMatch(/^250 /);
  expect(await t.rt.ctx.usage.workspaceSent(ws, month())).toBe(10_000);
});
