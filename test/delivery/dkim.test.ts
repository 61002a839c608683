// DKIM end to end: a message sent through the relay leaves the worker signed with its From: domain's key, and
// an independent verifier (Python's dkimpy) accepts the signature with the DNS record smtpdesk printed, as a
// receiving server would, including after 8-bit and quoted-printable bodies crossed SMTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { addSendingDomain, createAccount, createWorkspace, rotateSendingDomainKey, verifySendingDomain, type DnsRecord } from '../../src/domain/index.ts';
import { startDeliveryWorker, type DeliveryWorker } from '../../src/delivery/worker.ts';
import { admin } from '../helpers/domain.ts';
import { dkimpy, verifyWithDkimpy } from '../helpers/dkim-verify.ts';
import { startTestRelay, eventually, type TestRelay } from '../helpers/relay.ts';
import { startTestSink, type ReceivedMessage, type TestSink } from '../helpers/smtp-sink.ts';

const SECRET = 'q0kK1n7tqzJ3yG2b9r2m5oYxJp8nW6c4Vd1sLe0aUfI=';
const verifier = dkimpy();
const python = 'python' in verifier ? verifier.python : undefined;
if ('skip' in verifier) console.warn(`dkim.test.ts: the dkimpy checks are skipped: ${verifier.skip}`);

let t: TestRelay;
let sink: TestSink;
let worker: DeliveryWorker;
let account: { username: string; password: string };
let acme: DnsRecord;
/** What the test's DNS serves: the records published so far. */
const dns: Record<string, string> = {};

beforeAll(async () => {
  sink = await startTestSink({ onRcpt: (a) => (a.startsWith('nobody@') ? { code: 550, message: '5.1.1 <' + a + '>: no such user' } : undefined) });
  t = await startTestRelay({ env: { SMTPDESK_SECRET_KEY: SECRET, DELIVERY_HELO_NAME: 'mx.relay.test', DELIVERY_DKIM_CACHE_SECONDS: '1' } });
  account = await t.newAccount('dkim-app');
  acme = (await addSendingDomain(t.rt.ctx, admin, t.workspace.id, 'acme.test')).record;
  dns[acme.name] = acme.value;
  worker = startDeliveryWorker(t.rt, {
    upstreamUrl: `smtp://127.0.0.1:${sink.port}`,
    pollMinMs: 20,
    pollMaxMs: 100,
    queueDepthIntervalMs: 0,
    policy: { delaysMs: [60_000], maxAgeMs: 86_400_000 },
  });
}, 60_000);
afterAll(async () => {
  await worker?.stop();
  await t?.close();
  await sink?.close();
});

function send(auth: { username: string; password: string }, mail: nodemailer.SendMailOptions) {
  return nodemailer
    .createTransport({ host: '127.0.0.1', port: t.port, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: auth.username, pass: auth.password } })
    .sendMail(mail);
}

async function delivered(messageId: string): Promise<ReceivedMessage> {
  await eventually(() => sink.messages.some((m) => m.messageId === messageId), 15_000, `${messageId} at the sink`);
  return sink.messages.find((m) => m.messageId === messageId)!;
}

const signature = (raw: Buffer) => /^DKIM-Signature:(.*(?:\r\n[ \t].*)*)/im.exec(raw.toString('utf8'))?.[1]?.replace(/\r\n[ \t]*/g, ' ');

describe('DKIM signing', () => {
  it("signs a message from a subdomain of a registered domain with that domain's key; dkimpy verifies it with the printed record", async () => {
    expect(acme.name).toMatch(/^sd\d{6}\._domainkey\.acme\.test$/);
    expect(acme.value).toMatch(/^v=DKIM1; k=rsa; p=MII[A-Za-z0-9+/=]+$/);
    await send(account, {
      from: 'Billing <billing@mail.acme.test>',
      to: 'rcpt@example.test',
      subject: 'Invoice',
      text: 'Your invoice is attached.',
      messageId: '<signed-1@acme.test>',
    });
    const got = await delivered('<signed-1@acme.test>');
    const sig = signature(got.raw)!;
    expect(sig).toBeDefined();
    expect(sig).toContain('d=acme.test');
    expect(sig).toContain(`s=${acme.name.split('.')[0]}`);
    expect(sig).toContain('c=relaxed/relaxed');
    expect(sig).toMatch(/h=from:.*subject/i);
    if (!python) return;
    const verdict = await verifyWithDkimpy(python, got.raw, dns);
    expect(verdict, verdict.log).toMatchObject({ ok: true, domain: 'acme.test' });
    // The verifier is not a rubber stamp: a changed subject fails it.
    const tampered = Buffer.from(got.raw.toString('utf8').replace('Subject: Invoice', 'Subject: Invoice!'));
    expect((await verifyWithDkimpy(python, tampered, dns)).ok).toBe(false);
  });

  it('the signature holds for an 8-bit body (BODY=8BITMIME) and a quoted-printable one', async () => {
    // 8-bit UTF-8 as the application wrote it, sent raw.
    const eight = [
      'From: Zoë <zoe@acme.test>',
      'To: <rcpt@example.test>',
      'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=',
      'Message-ID: <signed-8bit@acme.test>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Grüße aus Köln, Zoë.   ',
      '. a line that starts with a dot',
      '',
      '',
    ].join('\r\n');
    await send(account, { envelope: { from: 'zoe@acme.test', to: ['rcpt@example.test'] }, raw: eight });
    // nodemailer encodes this one quoted-printable (long non-ASCII lines).
    await send(account, {
      from: 'news@acme.test',
      to: 'rcpt@example.test',
      subject: 'Qp',
      text: `${'Ünïcödé '.repeat(30)}\n=end`,
      textEncoding: 'quoted-printable',
      messageId: '<signed-qp@acme.test>',
    });
    const a = await delivered('<signed-8bit@acme.test>');
    const b = await delivered('<signed-qp@acme.test>');
    expect(a.mailArgs).toMatchObject({ BODY: '8BITMIME' });
    expect(a.raw.toString('utf8')).toContain('Grüße aus Köln');
    expect(b.raw.toString('utf8')).toMatch(/Content-Transfer-Encoding: quoted-printable/i);
    if (!python) return;
    for (const m of [a, b]) {
      const v = await verifyWithDkimpy(python, m.raw, dns);
      expect(v, v.log).toMatchObject({ ok: true, domain: 'acme.test' });
    }
  });

  it("sends a message from a domain without a key unsigned, and does not sign with another workspace's domain", async () => {
    await send(account, { from: 'app@elsewhere.test', to: 'rcpt@example.test', subject: 'plain', text: 'hi', messageId: '<unsigned-1@elsewhere.test>' });
    const other = await createWorkspace(t.rt.ctx, admin, { name: `other-${Date.now().toString(36)}`, planId: '10k', defaultPlan: '10k' });
    const issued = await createAccount(t.rt.ctx, admin, other.id, 'intruder');
    await send(
      { username: issued.username, password: issued.password },
      { from: 'ceo@acme.test', to: 'rcpt@example.test', subject: 'spoof', text: 'hi', messageId: '<unsigned-2@acme.test>' },
    );
    expect(signature((await delivered('<unsigned-1@elsewhere.test>')).raw)).toBeUndefined();
    expect(signature((await delivered('<unsigned-2@acme.test>')).raw)).toBeUndefined();
  });

  it("signs the bounces it writes with the relay's own domain when that domain has a key", async () => {
    const relayDomain = (await addSendingDomain(t.rt.ctx, admin, t.workspace.id, 'relay.test')).record;
    dns[relayDomain.name] = relayDomain.value;
    await send(account, { from: 'app@acme.test', to: 'nobody@example.test', subject: 'to a ghost', text: 'hi', messageId: '<ghost@acme.test>' });
    await eventually(() => sink.messages.some((m) => m.from === '' && m.raw.toString().includes('<ghost@acme.test>')), 15_000, 'the bounce');
    const bounce = sink.messages.find((m) => m.from === '' && m.raw.toString().includes('<ghost@acme.test>'))!;
    expect(bounce.raw.toString()).toMatch(/^From: Mail Delivery System <MAILER-DAEMON@mx\.relay\.test>/m);
    expect(signature(bounce.raw)).toContain('d=relay.test');
    if (!python) return;
    const v = await verifyWithDkimpy(python, bounce.raw, dns);
    expect(v, v.log).toMatchObject({ ok: true, domain: 'relay.test' });
  });

  it('rotation: the old key signs until the new record is seen in DNS, then the new one does', async () => {
    const lookup = async (name: string) => {
      if (dns[name] === undefined) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      // As DNS hands it over: 255-byte character-strings.
      return [dns[name].match(/.{1,255}/g)!];
    };
    const oldSelector = acme.name.split('.')[0]!;
    // The first key's record is published (the tests' DNS serves it): verify makes it active.
    const first = await verifySendingDomain(t.rt.ctx, admin, t.workspace.id, 'acme.test', lookup);
    expect(first.activated).toEqual([oldSelector]);
    expect(first.domain.state).toBe('active');

    const rotated = await rotateSendingDomainKey(t.rt.ctx, admin, t.workspace.id, 'acme.test');
    const newSelector = rotated.record.name.split('.')[0]!;
    expect(newSelector).not.toBe(oldSelector);
    expect(rotated.domain.state).toBe('rotating');
    expect(rotated.domain.keys.map((k) => [k.selector, k.state])).toEqual([
      [oldSelector, 'retiring'],
      [newSelector, 'pending'],
    ]);
    await new Promise((r) => setTimeout(r, 1_100)); // the worker's key cache (DELIVERY_DKIM_CACHE_SECONDS=1)
    await send(account, { from: 'app@acme.test', to: 'rcpt@example.test', subject: 'during', text: 'hi', messageId: '<rot-1@acme.test>' });
    expect(signature((await delivered('<rot-1@acme.test>')).raw)).toContain(`s=${oldSelector}`);

    // Not published yet: verify says so and changes nothing.
    let check = await verifySendingDomain(t.rt.ctx, admin, t.workspace.id, 'acme.test', lookup);
    expect(check.activated).toEqual([]);
    expect(check.checks.find((c) => c.selector === newSelector)).toMatchObject({ matches: false, problem: 'no TXT record at this name yet' });

    dns[rotated.record.name] = rotated.record.value;
    check = await verifySendingDomain(t.rt.ctx, admin, t.workspace.id, 'acme.test', lookup);
    expect(check.activated).toEqual([newSelector]);
    expect(check.retired).toEqual([oldSelector]);
    expect(check.domain.keys.map((k) => [k.selector, k.state])).toEqual([[newSelector, 'active']]);
    await new Promise((r) => setTimeout(r, 1_100));
    await send(account, { from: 'app@acme.test', to: 'rcpt@example.test', subject: 'after', text: 'hi', messageId: '<rot-2@acme.test>' });
    const after = await delivered('<rot-2@acme.test>');
    expect(signature(after.raw)).toContain(`s=${newSelector}`);
    if (!python) return;
    const v = await verifyWithDkimpy(python, after.raw, dns);
    expect(v, v.log).toMatchObject({ ok: true, selector: newSelector });
  });

  it('keeps private keys only sealed in the database and out of the logs', async () => {
    const doc = await t.rt.db.models.dkimDomains.findById('acme.test').lean<{ keys: { sealedPrivateKey: string }[] }>();
    expect(doc!.keys[0]!.sealedPrivateKey).toMatch(/^v1:/);
    expect(JSON.stringify(doc)).not.toContain('PRIVATE KEY');
    expect(t.rawLogs()).not.toContain('PRIVATE KEY');
  });
});
