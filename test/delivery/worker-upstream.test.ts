// The delivery worker against a real SMTP server playing the upstream smarthost: what arrives there, how
// temporary and permanent failures are handled, bounce notices, and the account's counters afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAccounts, showAccount } from '../../src/domain/index.ts';
import { refreshQueueDepth } from '../../src/delivery/queue-depth.ts';
import { startDeliveryWorker, type DeliveryWorkerOptions } from '../../src/delivery/worker.ts';
import { openDeliveryHarness, testMessage, type DeliveryHarness } from '../helpers/delivery.ts';
import { admin } from '../helpers/domain.ts';
import { startTestSink, type SinkReply, type TestSink } from '../helpers/smtp-sink.ts';
import { eventually } from '../helpers/relay.ts';

let h: DeliveryHarness;
let sink: TestSink;
/** What the upstream answers to RCPT TO, decided per test. */
let rcptRule: (address: string) => SinkReply | void = () => undefined;

beforeAll(async () => {
  h = await openDeliveryHarness();
  sink = await startTestSink({ auth: { user: 'relay', pass: 'p@ss:word' }, onRcpt: (a) => rcptRule(a) });
});
afterAll(async () => {
  await sink?.close();
  await h?.close();
});

function worker(opts: DeliveryWorkerOptions = {}) {
  return startDeliveryWorker(h.rt, {
    upstreamUrl: `smtp://relay:${encodeURIComponent('p@ss:word')}@127.0.0.1:${sink.port}`,
    policy: { delaysMs: [300], maxAgeMs: 4 * 86_400_000 },
    pollMinMs: 20,
    pollMaxMs: 100,
    queueDepthIntervalMs: 0,
    ...opts,
  });
}

async function counters() {
  return (await showAccount(h.rt.ctx, admin, h.workspace.id, h.account.name)).counters;
}

const deliveries = async (outcome: string) => (await h.rt.metrics.deliveries.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;

describe('delivery through the upstream smarthost', () => {
  it('sends the stored message as-is with the envelope, over AUTH from the URL, with CRLF and dot-stuffing', async () => {
    const before = await counters();
    // Bare LF line ends, a line that starts with a dot, and a lone dot that would end DATA if not stuffed.
    const body =
      'From: App <app@sender.test>\nTo: <rcpt@example.test>\nSubject: Dots\nMessage-ID: <dots@sender.test>\nX-Custom:  kept   as is\n\nfirst line\n.hidden line\n.\nlast line\n';
    const id = await h.enqueue({ to: ['rcpt@example.test', 'second@example.test'], body });
    const w = worker();
    await w.drain();
    await w.stop();

    const got = sink.messages.find((m) => m.messageId === '<dots@sender.test>')!;
    expect(got).toBeDefined();
    expect(got.from).toBe('app@sender.test');
    expect(got.to).toEqual(['rcpt@example.test', 'second@example.test']);
    expect(got.user).toBe('relay');
    expect(got.heloName).toBe('smtpdesk.test');
    // Byte for byte what was stored, with every line ending made CRLF; nothing added, nothing lost.
    expect(got.raw.toString()).toBe(body.replace(/\n/g, '\r\n'));

    const doc = await h.message(id);
    expect(doc.state).toBe('done');
    expect(doc.leaseOwner ?? null).toBeNull();
    expect(doc.recipients.map((r) => [r.status, r.attempts])).toEqual([
      ['delivered', 1],
      ['delivered', 1],
    ]);
    expect(doc.recipients[0]!.response).toMatch(/^250 .*queued as sink-/);
    const after = await counters();
    expect(after.delivered - before.delivered).toBe(2);
  });

  it("delivers a mixed-case or internationalized domain once: the upstream's yes to the form that went out counts", async () => {
    // nodemailer sends the domain lower-cased and in punycode; the queue keeps what the application wrote.
    const to = ['Ada@Example.TEST', 'jo@exämple.test'];
    const body = 'From: app@sender.test\nSubject: IDN\nMessage-ID: <idn@sender.test>\n\nhi\n';
    const id = await h.enqueue({ to, body });
    const w = worker();
    await w.drain();
    await w.stop();
    const got = sink.messages.filter((m) => m.messageId === '<idn@sender.test>');
    expect(got).toHaveLength(1);
    // The sink (smtp-server) shows the punycode domain that went out in Unicode again.
    expect(got[0]!.to).toEqual(['Ada@example.test', 'jo@exämple.test']);
    const doc = await h.message(id);
    expect(doc.state).toBe('done');
    expect(doc.recipients.map((r) => [r.address, r.status, r.attempts])).toEqual([
      ['Ada@Example.TEST', 'delivered', 1],
      ['jo@exämple.test', 'delivered', 1],
    ]);
  });

  it('asks for BODY=8BITMIME when the message has 8-bit bytes, and only then', async () => {
    const utf8 = await h.enqueue({
      to: ['eight@example.test'],
      body: 'From: app@sender.test\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\nMessage-ID: <8bit@sender.test>\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGrüße, Zoë\n',
    });
    const ascii = await h.enqueue({ to: ['seven@example.test'], body: 'From: app@sender.test\nSubject: plain\nMessage-ID: <7bit@sender.test>\n\nhello\n' });
    const w = worker();
    await w.drain();
    await w.stop();
    const got = (id: string) => sink.messages.find((m) => m.messageId === id)!;
    expect(got('<8bit@sender.test>').mailArgs).toMatchObject({ BODY: '8BITMIME' });
    expect(got('<8bit@sender.test>').raw.toString('utf8')).toContain('Grüße, Zoë');
    expect(got('<7bit@sender.test>').mailArgs).not.toHaveProperty('BODY');
    expect([(await h.message(utf8)).state, (await h.message(ascii)).state]).toEqual(['done', 'done']);
  });

  it('retries a temporary failure (451) on the schedule, then delivers, counting the email once as deferred', async () => {
    const before = await counters();
    const deferredBefore = await deliveries('deferred');
    let refusals = 0;
    rcptRule = (a) => (a === 'busy@example.test' && refusals++ === 0 ? { code: 451, message: '4.3.2 Try again later' } : undefined);
    const id = await h.enqueue({ to: ['busy@example.test'], body: testMessage({ messageId: '<retry@sender.test>' }) });
    const w = worker();
    try {
      await eventually(async () => (await h.message(id)).recipients[0]!.attempts === 1, 10_000, 'the first attempt');
      const deferred = await h.message(id);
      expect(deferred.state).toBe('queued');
      expect(deferred.recipients[0]!.status).toBe('queued');
      expect(deferred.recipients[0]!.lastError).toMatch(/^451 4\.3\.2 Try again later/);
      expect(deferred.recipients[0]!.nextAttemptAt!.getTime()).toBeGreaterThan(deferred.recipients[0]!.lastAttemptAt!.getTime());

      await eventually(async () => (await h.message(id)).state === 'done', 10_000, 'the retry');
    } finally {
      await w.stop();
      rcptRule = () => undefined;
    }
    const done = await h.message(id);
    expect(done.recipients[0]!.status).toBe('delivered');
    expect(done.recipients[0]!.attempts).toBe(2);
    expect(sink.countsByMessageId().get('<retry@sender.test>')).toBe(1);
    const after = await counters();
    expect(after.delivered - before.delivered).toBe(1);
    expect(after.deferred - before.deferred).toBe(1);
    expect(await deliveries('deferred')).toBe(deferredBefore + 1);
  });

  it('bounces a permanent failure (550) at once and sends a bounce notice from <> to the envelope sender', async () => {
    const before = await counters();
    rcptRule = (a) => (a === 'nobody@example.test' ? { code: 550, message: '5.1.1 <nobody@example.test>: Recipient address rejected: User unknown' } : undefined);
    const id = await h.enqueue({
      from: 'app@sender.test',
      to: ['nobody@example.test', 'ok@example.test'],
      body: testMessage({ messageId: '<bounce-me@sender.test>', subject: 'Invoice 42' }),
    });
    const w = worker();
    try {
      await eventually(() => sink.messages.some((m) => m.from === '' && m.raw.includes('bounce-me@sender.test')), 10_000, 'the bounce notice');
    } finally {
      await w.stop();
      rcptRule = () => undefined;
    }
    const doc = await h.message(id);
    expect(doc.state).toBe('done');
    expect(doc.recipients.map((r) => [r.address, r.status, r.attempts])).toEqual([
      ['nobody@example.test', 'bounced', 1],
      ['ok@example.test', 'delivered', 1],
    ]);
    expect(doc.recipients[0]!.lastError).toMatch(/^550 5\.1\.1 <nobody@example\.test>: Recipient address rejected: User unknown/);
    // The original went to the recipient that exists, once.
    expect(sink.messages.filter((m) => m.messageId === '<bounce-me@sender.test>').map((m) => m.to)).toEqual([['ok@example.test']]);

    const notice = sink.messages.find((m) => m.from === '' && m.raw.includes('bounce-me@sender.test'))!;
    expect(notice.to).toEqual(['app@sender.test']);
    const text = notice.raw.toString();
    expect(text).toMatch(/^From: Mail Delivery System <MAILER-DAEMON@smtpdesk\.test>\r$/m);
    expect(text).toMatch(/^Subject: Undelivered Mail Returned to Sender: Invoice 42\r$/m);
    expect(text).toMatch(/Content-Type: multipart\/report; report-type=delivery-status/);
    expect(text).toMatch(/^Final-Recipient: rfc822; nobody@example\.test\r$/m);
    expect(text).toMatch(/^Action: failed\r$/m);
    expect(text).toMatch(/^Status: 5\.1\.1\r$/m);
    expect(text).not.toMatch(/Final-Recipient: rfc822; ok@example\.test/);
    // The original headers are quoted; the body is not.
    expect(text).toMatch(/^Message-ID: <bounce-me@sender\.test>\r$/m);
    expect(text).not.toContain('Hello from the delivery tests.');

    // The notice is not the account's mail: only the original's outcomes count.
    const after = await counters();
    expect([after.delivered - before.delivered, after.bounced - before.bounced]).toEqual([1, 1]);
    const bounceDoc = await h.rt.db.models.queuedMessages.findOne({ kind: 'bounce', 'envelope.to': 'app@sender.test', subject: /Invoice 42/ }).lean();
    expect(bounceDoc?.state).toBe('done');
    expect(bounceDoc?.envelope?.from).toBe('');
  });

  it('gives up once the message is past DELIVERY_MAX_AGE: failed, counted as failed, with an expiry notice', async () => {
    const before = await counters();
    rcptRule = (a) => (a === 'slow@example.test' ? { code: 451, message: '4.7.1 Greylisted, try again' } : undefined);
    const fiveDaysAgo = new Date(Date.now() - 5 * 86_400_000);
    const id = await h.enqueue({ to: ['slow@example.test'], at: fiveDaysAgo, body: testMessage({ messageId: '<too-old@sender.test>' }) });
    const w = worker();
    try {
      await eventually(() => sink.messages.some((m) => m.from === '' && m.raw.includes('too-old@sender.test')), 10_000, 'the expiry notice');
    } finally {
      await w.stop();
      rcptRule = () => undefined;
    }
    const r = (await h.message(id)).recipients[0]!;
    expect(r.status).toBe('failed');
    expect(r.lastError).toMatch(/^gave up after 1 attempt\(s\) over 5d: 451 4\.7\.1 Greylisted/);
    const notice = sink.messages.find((m) => m.from === '' && m.raw.includes('too-old@sender.test'))!;
    expect(notice.raw.toString()).toMatch(/^Status: 4\.4\.7\r$/m);
    const after = await counters();
    expect(after.failed - before.failed).toBe(1);
    expect(after.deferred - before.deferred).toBe(0);
  });

  it('never bounces a bounce (null sender), and sends no notice when bounces are off', async () => {
    rcptRule = (a) => (a.startsWith('gone') ? { code: 550, message: '5.1.1 No such user' } : undefined);
    const nullSender = await h.enqueue({ from: '', to: ['gone1@example.test'], body: testMessage({ messageId: '<null-sender@sender.test>' }) });
    const w1 = worker();
    await w1.drain();
    await w1.stop();
    const quiet = await h.enqueue({ to: ['gone2@example.test'], body: testMessage({ messageId: '<no-bounces@sender.test>' }) });
    const w2 = worker({ sendBounces: false });
    await w2.drain();
    await w2.stop();
    rcptRule = () => undefined;

    expect((await h.message(nullSender)).recipients[0]!.status).toBe('bounced');
    expect((await h.message(quiet)).recipients[0]!.status).toBe('bounced');
    const notices = await h.rt.db.models.queuedMessages.countDocuments({ kind: 'bounce', $or: [{ 'envelope.to': '' }, { subject: /no-bounces/ }] });
    expect(notices).toBe(0);
    expect(sink.messages.some((m) => m.from === '' && (m.raw.includes('null-sender@') || m.raw.includes('no-bounces@')))).toBe(false);
  });

  it('refuses an envelope address that could inject a command, without sending anything', async () => {
    const before = sink.attempts;
    const id = await h.enqueue({ to: ['evil@example.test>\r\nRCPT TO:<victim@example.test'], body: testMessage() });
    const w = worker({ sendBounces: false });
    await w.drain();
    await w.stop();
    const r = (await h.message(id)).recipients[0]!;
    expect(r.status).toBe('bounced');
    expect(r.lastError).toMatch(/^invalid recipient address: control characters/);
    expect(sink.attempts).toBe(before);
    expect(h.logs.some((l) => l.code === 'DELIVERY_ENVELOPE_INVALID')).toBe(true);
  });

  it('reports the queue depth for /metrics: messages not yet finished', async () => {
    const ids = [await h.enqueue({ to: ['depth1@example.test'] }), await h.enqueue({ to: ['depth2@example.test'] })];
    expect(await refreshQueueDepth(h.rt)).toBe(2);
    expect((await h.rt.metrics.queueDepth.get()).values[0]!.value).toBe(2);
    const w = worker();
    await w.drain();
    await w.stop();
    expect((await h.message(ids[1]!)).state).toBe('done');
    expect(await refreshQueueDepth(h.rt)).toBe(0);
  });

  it('keeps the counters and the delivery rate that lists and show report in step with the queue', async () => {
    const docs = await h.rt.db.models.queuedMessages.find({ accountId: h.account.id, kind: 'message' }).lean();
    const statuses = docs.flatMap((d) => d.recipients.map((r) => r.status));
    const count = (s: string) => statuses.filter((x) => x === s).length;
    const shown = await showAccount(h.rt.ctx, admin, h.workspace.id, h.account.name);
    expect(shown.counters).toMatchObject({ delivered: count('delivered'), bounced: count('bounced'), failed: count('failed'), deferred: 1 });
    const rate = count('delivered') / (count('delivered') + count('bounced') + count('failed'));
    expect(shown.deliveryRate).toBeCloseTo(rate, 10);
    expect(shown.queuedMessages).toBe(0);
    const [listed] = await listAccounts(h.rt.ctx, admin, h.workspace.id);
    expect(listed!.deliveryRate).toBeCloseTo(rate, 10);
    expect(listed!.counters.delivered).toBe(count('delivered'));
  });
});
