// The bounces listener end to end, with the real worker sending through a real SMTP server and reports handed
// to the listener over real SMTP: a later DSN turns a delivered recipient bounced exactly once, an ARF report
// counts a complaint, a forged return path gets 550, and a report we cannot match is kept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBouncesServer, type RunningBounces } from '../../src/bounces/server.ts';
import { startDeliveryWorker } from '../../src/delivery/worker.ts';
import { accountDailyStats, showAccount, type DomainEvent } from '../../src/domain/index.ts';
import { decodeReturnPath, encodeReturnPath } from '../../src/shared/return-path.ts';
import { laterOutcomeRepository } from '../../src/store/later-outcomes.ts';
import { openDeliveryHarness, testMessage, type DeliveryHarness } from '../helpers/delivery.ts';
import { admin } from '../helpers/domain.ts';
import { buildArf, buildDsn, sendReport } from '../helpers/reports.ts';
import { startTestSink, type TestSink } from '../helpers/smtp-sink.ts';
import { runSmtpdesk } from '../helpers/cli.ts';
import { RawSmtpClient } from '../helpers/smtp-client.ts';

const DOMAIN = 'rp.smtpdesk.test';
const SECRET = 'bounces test secret, 32 chars..';
const key = Buffer.from(SECRET);

let h: DeliveryHarness;
let sink: TestSink;
let bounces: RunningBounces;
const events: DomainEvent[] = [];

beforeAll(async () => {
  h = await openDeliveryHarness({ env: { RETURN_PATH_DOMAIN: DOMAIN, RETURN_PATH_SECRET: SECRET, LOG_LEVEL: 'info' } });
  h.rt.events.subscribe({ publish: (e) => void events.push(e) });
  sink = await startTestSink({ onRcpt: (address) => (address === 'refused@remote.test' ? { code: 550, message: '5.1.1 no such user' } : undefined) });
  bounces = await startBouncesServer(
    {
      port: 0,
      host: '127.0.0.1',
      hostname: 'bounces.test',
      returnPathDomain: DOMAIN,
      returnPathKey: key,
      maxMessageSize: 64 * 1024,
      maxClients: 20,
      maxConnectionsPerClient: 5,
      maxMessagesPerClientPerMinute: 1000,
    },
    { ctx: h.rt.ctx, later: laterOutcomeRepository(h.rt.db.models, h.rt), log: h.rt.log, metrics: h.rt.metrics, clock: () => new Date() },
  );
});
afterAll(async () => {
  await bounces?.close();
  await sink?.close();
  await h?.close();
});

async function deliver(to: string[], messageId: string): Promise<string> {
  const id = await h.enqueue({ to, body: testMessage({ messageId }) });
  const w = startDeliveryWorker(h.rt, { upstreamUrl: `smtp://127.0.0.1:${sink.port}`, pollMinMs: 20, queueDepthIntervalMs: 0 });
  await w.drain(20_000);
  await w.stop();
  return id;
}

const counters = async () => (await showAccount(h.rt.ctx, admin, h.workspace.id, h.account.name)).counters;
const today = async () => (await accountDailyStats(h.rt.ctx, admin, h.workspace.id, h.account.name, 1)).totals;

describe('bounces listener', () => {
  let queueId: string;
  let returnPath: string;

  it('sends each recipient from its own signed return path', async () => {
    queueId = await deliver(['gone@remote.test', 'fine@remote.test'], '<later-1@sender.test>');
    const got = sink.messages.filter((m) => m.messageId === '<later-1@sender.test>');
    expect(got).toHaveLength(2);
    const refs = got.map((m) => ({ to: m.to, ref: decodeReturnPath(key, DOMAIN, m.from) }));
    expect(refs).toEqual(
      expect.arrayContaining([
        { to: ['gone@remote.test'], ref: { queueId, recipient: 0 } },
        { to: ['fine@remote.test'], ref: { queueId, recipient: 1 } },
      ]),
    );
    returnPath = got.find((m) => m.to[0] === 'gone@remote.test')!.from;
    expect((await h.message(queueId)).recipients.map((r) => r.status)).toEqual(['delivered', 'delivered']);
  });

  it('turns the recipient bounced on a later DSN, once, however often it comes', async () => {
    const before = await counters();
    const dayBefore = await today();
    const dsn = buildDsn({ to: returnPath, recipients: [{ address: 'gone@remote.test', status: '5.1.1', diagnostic: '550 5.1.1 user unknown' }] });
    const first = await sendReport(bounces.port, returnPath, dsn);
    expect(first.data?.code).toBe(250);
    const second = await sendReport(bounces.port, returnPath, dsn);
    expect(second.data?.code).toBe(250);

    const after = await counters();
    expect({ delivered: after.delivered - before.delivered, bounced: after.bounced - before.bounced }).toEqual({ delivered: -1, bounced: 1 });
    const dayAfter = await today();
    expect({ delivered: dayAfter.delivered - dayBefore.delivered, bounced: dayAfter.bounced - dayBefore.bounced }).toEqual({ delivered: -1, bounced: 1 });
    const r = (await h.message(queueId)).recipients;
    expect(r.map((x) => x.status)).toEqual(['bounced', 'delivered']);
    expect(r[0]!.lastError).toMatch(/bounced after delivery: 5\.1\.1/);
    expect(await h.rt.ctx.suppressions.find(h.workspace.id, 'gone@remote.test')).toMatchObject({ source: 'bounce' });
    const bouncedEvents = events.filter((e) => e.type === 'message.bounced');
    expect(bouncedEvents).toHaveLength(1);
    expect(bouncedEvents[0]!.details).toMatchObject({ queueId, recipient: 'gone@remote.test', later: true, status: '5.1.1' });
    const later = await laterOutcomeRepository(h.rt.db.models, h.rt).laterOutcomes(queueId);
    expect(later.get(0)?.bounced).toMatchObject({ status: '5.1.1' });
  });

  it('still sends our own bounce notice for a failure seen in the session to the application sender', async () => {
    await deliver(['refused@remote.test'], '<in-session@sender.test>');
    const notice = sink.messages.find((m) => m.from === '' && m.raw.toString().includes('refused@remote.test'));
    expect(notice?.to).toEqual(['app@sender.test']);
  });

  it('records a transient report on the recipient without moving a counter', async () => {
    const rp1 = encodeReturnPath(key, DOMAIN, { queueId, recipient: 1 });
    const before = await counters();
    const res = await sendReport(bounces.port, rp1, buildDsn({ to: rp1, recipients: [{ address: 'fine@remote.test', action: 'delayed', status: '4.2.2' }] }));
    expect(res.data?.code).toBe(250);
    expect(await counters()).toEqual(before);
    expect((await laterOutcomeRepository(h.rt.db.models, h.rt).laterOutcomes(queueId)).get(1)?.transient).toMatchObject({ status: '4.2.2' });
    expect((await h.message(queueId)).recipients[1]!.status).toBe('delivered');
  });

  it('counts an ARF abuse report as one complaint and suppresses the address', async () => {
    const id = await deliver(['victim@remote.test'], '<complained@sender.test>');
    const rp = encodeReturnPath(key, DOMAIN, { queueId: id, recipient: 0 });
    const later = laterOutcomeRepository(h.rt.db.models, h.rt);
    const day = new Date().toISOString().slice(0, 10);
    const before = (await later.reportCounts([h.account.id], [day])).get(h.account.id)?.complaints ?? 0;
    const arf = buildArf({ to: rp, originalRcptTo: ['victim@remote.test'], originalHeaders: 'Message-ID: <complained@sender.test>' });
    expect((await sendReport(bounces.port, rp, arf)).data?.code).toBe(250);
    expect((await sendReport(bounces.port, rp, arf)).data?.code).toBe(250);
    expect((await later.reportCounts([h.account.id], [day])).get(h.account.id)?.complaints).toBe(before + 1);
    expect(await h.rt.ctx.suppressions.find(h.workspace.id, 'victim@remote.test')).toMatchObject({ source: 'complaint' });
    expect(events.filter((e) => e.type === 'message.complained')).toHaveLength(1);
  });

  it('counts no complaint for a not-spam report', async () => {
    const id = await deliver(['happy@remote.test'], '<notspam@sender.test>');
    const rp = encodeReturnPath(key, DOMAIN, { queueId: id, recipient: 0 });
    expect((await sendReport(bounces.port, rp, buildArf({ to: rp, feedbackType: 'not-spam' }))).data?.code).toBe(250);
    expect(await h.rt.ctx.suppressions.find(h.workspace.id, 'happy@remote.test')).toBeNull();
  });

  it('refuses a forged return path with 550 and any other recipient too', async () => {
    const forged = returnPath.replace(/-([0-9a-f]{16})@/, (_m, mac: string) => `-${mac.slice(0, -1)}${mac.endsWith('0') ? '1' : '0'}@`);
    expect(forged).not.toBe(returnPath);
    expect((await sendReport(bounces.port, forged, 'x')).rcpt.code).toBe(550);
    expect((await sendReport(bounces.port, 'postmaster@elsewhere.test', 'x')).rcpt.code).toBe(550);
  });

  it('matches by the returned Message-ID when the return path names no message, and keeps what it cannot match', async () => {
    const id = await deliver(['moved@remote.test'], '<by-msgid@sender.test>');
    const gone = encodeReturnPath(key, DOMAIN, { queueId: 'ffffffffffffffffffffffff', recipient: 0 });
    const before = await counters();
    const res = await sendReport(bounces.port, gone, buildDsn({ to: gone, recipients: [{ address: 'moved@remote.test' }], originalHeaders: 'Message-ID: <by-msgid@sender.test>' }));
    expect(res.data?.code).toBe(250);
    expect((await counters()).bounced).toBe(before.bounced + 1);
    expect((await h.message(id)).recipients[0]!.status).toBe('bounced');

    const later = laterOutcomeRepository(h.rt.db.models, h.rt);
    const unmatchedBefore = await later.countUnmatched();
    const lost = await sendReport(bounces.port, gone, buildDsn({ to: gone, recipients: [{ address: 'who@remote.test' }], originalHeaders: 'Message-ID: <nobody@nowhere.test>' }));
    expect(lost.data?.code).toBe(250);
    expect(await later.countUnmatched()).toBe(unmatchedBefore + 1);
    expect((await later.listUnmatched(1))[0]).toMatchObject({ rcptTo: gone, type: 'dsn', originalMessageId: '<nobody@nowhere.test>', recipients: ['who@remote.test'] });
    expect(await h.rt.metrics.registry.getSingleMetricAsString('smtpdesk_bounce_reports_total')).toMatch(/result="unmatched"\} 1/);
    const cli = await runSmtpdesk(['bounces', 'list', '--json'], { MONGODB_URI: h.uri, SMTPDESK_WORKSPACE: h.workspace.id });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.json<{ total: number; reports: { rcptTo: string }[] }>()).toMatchObject({ total: unmatchedBefore + 1, reports: [expect.objectContaining({ rcptTo: gone })] });
    const show = await runSmtpdesk(['queue', 'show', id], { MONGODB_URI: h.uri, SMTPDESK_WORKSPACE: h.workspace.id });
    expect(show.stdout).toMatch(/LATER/);
    expect(show.stdout).toMatch(/bounced later 5\.1\.1 at \d{4}-\d\d-\d\d/);
  });

  it('answers 421 to a client past its open connections', async () => {
    const open = await Promise.all(Array.from({ length: 5 }, () => RawSmtpClient.connect(bounces.port)));
    try {
      await expect(RawSmtpClient.connect(bounces.port)).rejects.toThrow(/unexpected greeting 421/);
    } finally {
      open.forEach((c) => c.close());
    }
  });

  it('refuses a report over the size limit with 552', async () => {
    const rp = encodeReturnPath(key, DOMAIN, { queueId, recipient: 0 });
    const big = buildDsn({ to: rp, recipients: [{ address: 'gone@remote.test' }], originalHeaders: `Message-ID: <x@y>\r\nX-Pad: ${'a'.repeat(70_000)}` });
    expect((await sendReport(bounces.port, rp, big)).data?.code).toBe(552);
  });
});
