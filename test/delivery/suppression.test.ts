// The suppression list end to end: a mailbox the receiving server refuses for good goes on the workspace's list
// after the worker's attempt; the relay then refuses RCPT TO for it (550 5.1.1, naming the list and the date) at
// no cost to the quota, on every relay instance; removing it lets mail through again within the cache bound.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { accountDailyStats, listSuppressions, monthKey, removeSuppression } from '../../src/domain/index.ts';
import { startDeliveryWorker, type DeliveryWorker } from '../../src/delivery/worker.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay.ts';
import { admin } from '../helpers/domain.ts';
import { eventually, startTestRelay, testCertificate, type TestRelay } from '../helpers/relay.ts';
import { startTestSink, type SinkReply, type TestSink } from '../helpers/smtp-sink.ts';

const ANSWERS: Record<string, SinkReply> = {
  'ghost@example.test': { code: 550, message: '5.1.1 <ghost@example.test>: Recipient address rejected: User unknown' },
  'old@example.test': { code: 553, message: 'mailbox name not allowed' },
  'busy@example.test': { code: 451, message: '4.2.0 mailbox busy, try later' },
  'blocked@example.test': { code: 550, message: '5.7.1 rejected by policy' },
};

let t: TestRelay;
let second: RunningRelay;
let sink: TestSink;
let worker: DeliveryWorker;
let account: { username: string; password: string };

beforeAll(async () => {
  sink = await startTestSink({ onRcpt: (a) => ANSWERS[a.toLowerCase()] });
  t = await startTestRelay({ env: { RELAY_SUPPRESSION_CACHE_SECONDS: '1' } });
  // A second relay instance on the same database: its own cache.
  second = await startRelay(t.rt, { tls: await testCertificate() });
  account = await t.newAccount('suppression-app');
  worker = startDeliveryWorker(t.rt, {
    upstreamUrl: `smtp://127.0.0.1:${sink.port}`,
    pollMinMs: 20,
    pollMaxMs: 100,
    queueDepthIntervalMs: 0,
    sendBounces: false,
    policy: { delaysMs: [60_000], maxAgeMs: 86_400_000 },
  });
}, 60_000);
afterAll(async () => {
  await worker?.stop();
  await second?.close();
  await t?.close();
  await sink?.close();
});

/** The relay's answer to a one-recipient message: "250 …" or the refusal. */
function send(port: number, to: string): Promise<string> {
  return nodemailer
    .createTransport({ host: '127.0.0.1', port, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: account.username, pass: account.password } })
    .sendMail({ from: 'app@sender.test', to, subject: 'hello', text: 'hello' })
    .then(
      (info) => info.response,
      (err: { response?: string; message: string }) => err.response ?? err.message,
    );
}

const sentThisMonth = () => t.rt.ctx.usage.workspaceSent(t.workspace.id, monthKey(new Date()));
const listed = async () => (await listSuppressions(t.rt.ctx, admin, t.workspace.id)).map((s) => s.address);

describe('suppression list', () => {
  it('a 550 5.1.1 from the receiving server suppresses the address; the next RCPT TO is refused at the relay, costing no quota', async () => {
    expect(await send(t.port, 'ghost@example.test')).toMatch(/^250 /);
    await eventually(async () => (await listed()).includes('ghost@example.test'), 15_000, 'ghost on the list');
    const [entry] = await listSuppressions(t.rt.ctx, admin, t.workspace.id);
    expect(entry).toMatchObject({ address: 'ghost@example.test', source: 'bounce' });
    expect(entry!.reason).toMatch(/^550 5\.1\.1 <ghost@example\.test>: Recipient address rejected: User unknown/);
    const today = new Date().toISOString().slice(0, 10);
    expect(entry!.at.toISOString().slice(0, 10)).toBe(today);

    await new Promise((r) => setTimeout(r, 1_100)); // the relay's cache bound in this test
    const before = await sentThisMonth();
    // Any case: the list matches addresses ignoring case.
    for (const port of [t.port, second.port]) {
      const answer = await send(port, 'Ghost@Example.test');
      expect(answer).toMatch(/^550 5\.1\.1 <ghost@example\.test> is on this workspace's suppression list since \d{4}-\d{2}-\d{2} \(it hard-bounced\)/);
      expect(answer).toContain(today);
    }
    expect(await sentThisMonth()).toBe(before);
    expect(t.logs.some((l) => l.code === 'RELAY_RCPT_SUPPRESSED' && String(l.recipient).toLowerCase() === 'ghost@example.test')).toBe(true);
    expect(t.logs.some((l) => l.code === 'SUPPRESSION_ADDED' && l.recipient === 'ghost@example.test')).toBe(true);
  });

  it('553 to RCPT without an enhanced code suppresses too; a soft bounce and a policy refusal (5.7.1) never do', async () => {
    for (const to of ['old@example.test', 'busy@example.test', 'blocked@example.test']) expect(await send(t.port, to)).toMatch(/^250 /);
    await eventually(async () => (await listed()).includes('old@example.test'), 15_000, 'old on the list');
    await worker.drain();
    expect(await listed()).not.toContain('busy@example.test');
    expect(await listed()).not.toContain('blocked@example.test');
  });

  it('removing the address lets mail to it through again on every relay, within the cache bound', async () => {
    // Both relays have the address cached as suppressed.
    expect(await send(t.port, 'ghost@example.test')).toMatch(/^550 /);
    expect(await send(second.port, 'ghost@example.test')).toMatch(/^550 /);
    // The mailbox exists again (say, the person came back): the receiving server now accepts it.
    delete ANSWERS['ghost@example.test'];
    const removed = await removeSuppression(t.rt.ctx, admin, t.workspace.id, 'GHOST@example.test');
    expect(removed.address).toBe('ghost@example.test');
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await send(t.port, 'ghost@example.test')).toMatch(/^250 /);
    expect(await send(second.port, 'ghost@example.test')).toMatch(/^250 /);
    const audit = await t.rt.ctx.audit.list(t.workspace.id, { limit: 10 });
    expect(audit.find((a) => a.action === 'suppression.removed')).toMatchObject({ details: { address: 'ghost@example.test' } });
  });

  it("today's statistics count what the relays accepted (refused recipients not at all) and each outcome", async () => {
    await worker.drain();
    // Two days, so that a run across midnight UTC still adds up.
    const stats = () => accountDailyStats(t.rt.ctx, admin, t.workspace.id, 'suppression-app', 2);
    await eventually(async () => (await stats()).totals.delivered === 2, 10_000, 'the counts');
    // Accepted: ghost once, old, busy and blocked, then ghost twice after its removal; the refusals cost nothing.
    expect((await stats()).totals).toEqual({ sent: 6, delivered: 2, bounced: 3, deferred: 1, failed: 0 });
    expect((await stats()).days.at(-1)!.day).toBe(new Date().toISOString().slice(0, 10));
  });
});
