// Direct MX delivery (no RELAY_UPSTREAM_URL), with DNS answered by an injected resolver that routes test
// domains to a real SMTP server on loopback. Loopback is an internal address, so the harness allows those
// (DELIVERY_ALLOW_PRIVATE_MX=true) except where a test shows that they are refused.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeliveryWorker } from '../../src/delivery/worker.ts';
import { createMxTransport, type MxRecord, type MxResolver } from '../../src/delivery/transport-mx.ts';
import { openDeliveryHarness, testMessage, type DeliveryHarness } from '../helpers/delivery.ts';
import { closedPort, startTestSink, type TestSink } from '../helpers/smtp-sink.ts';

const MX: Record<string, MxRecord[]> = {
  'example.test': [{ exchange: 'mx1.example.test', priority: 10 }],
  'other.test': [{ exchange: 'mx.other.test', priority: 10 }],
  'two-mx.test': [
    { exchange: 'live.two-mx.test', priority: 20 },
    { exchange: 'dead.two-mx.test', priority: 5 },
  ],
  'null-mx.test': [{ exchange: '', priority: 0 }],
};
const DNS_ERRORS: Record<string, string> = { 'a-only.test': 'ENODATA', 'nxdomain.test': 'ENOTFOUND', 'servfail.test': 'ESERVFAIL' };
const HOSTS: Record<string, string[]> = {
  'mx1.example.test': ['127.0.0.1'],
  'mx.other.test': ['127.0.0.1'],
  'a-only.test': ['127.0.0.1'],
  'dead.two-mx.test': ['127.0.0.1'],
  'live.two-mx.test': ['127.0.0.1'],
  'mx.loopback.test': ['127.0.0.1'],
  'mx.private.test': ['10.0.0.1'],
  'mx.v6.test': ['::1', 'fe80::1', '::ffff:127.0.0.1'],
};
MX['loopback.test'] = [{ exchange: 'mx.loopback.test', priority: 10 }];
MX['private.test'] = [{ exchange: 'mx.private.test', priority: 10 }];
MX['v6.test'] = [{ exchange: 'mx.v6.test', priority: 10 }];
const dnsError = (code: string) => Object.assign(new Error(`DNS ${code}`), { code });
/** MX queries per domain, to show what the transport's DNS cache saves. */
const mxQueries = new Map<string, number>();
const resolver: MxResolver = {
  async resolveMx(domain) {
    mxQueries.set(domain, (mxQueries.get(domain) ?? 0) + 1);
    if (DNS_ERRORS[domain]) throw dnsError(DNS_ERRORS[domain]);
    if (MX[domain]) return MX[domain];
    throw dnsError('ENOTFOUND');
  },
  async resolveHost(host) {
    if (HOSTS[host]) return HOSTS[host];
    throw dnsError('ENOTFOUND');
  },
};

let h: DeliveryHarness;
let sink: TestSink;
let deadPort: number;
/** A host that accepts TCP and hangs up at once, counting who knocked. */
let hangUp: Server;
let hangUpPort: number;
let hangUps = 0;

beforeAll(async () => {
  h = await openDeliveryHarness({ env: { DELIVERY_ALLOW_PRIVATE_MX: 'true' } });
  // STARTTLS offered with smtp-server's self-signed certificate: MX delivery uses it without verifying.
  sink = await startTestSink({ starttls: true });
  deadPort = await closedPort();
  hangUp = createServer((socket) => {
    hangUps++;
    socket.destroy();
  });
  await new Promise<void>((r) => hangUp.listen(0, '127.0.0.1', () => r()));
  hangUpPort = (hangUp.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((r) => hangUp?.close(r));
  await sink?.close();
  await h?.close();
});

/** `allowPrivateMx` stands for DELIVERY_ALLOW_PRIVATE_MX (the harness's config sets it). */
async function deliverAll(allowPrivateMx = h.rt.config.delivery.allowPrivateMx) {
  const timeouts = { connectionMs: 2_000, greetingMs: 2_000, socketMs: 5_000 };
  const transport = createMxTransport({
    heloName: h.rt.config.delivery.heloName,
    resolver,
    port: (exchange) => (exchange === 'dead.two-mx.test' ? hangUpPort : exchange === 'down.test.mx' ? deadPort : sink.port),
    timeouts,
    allowPrivateAddresses: allowPrivateMx,
  });
  const w = startDeliveryWorker(h.rt, {
    upstreamUrl: null,
    transport,
    policy: { delaysMs: [60_000], maxAgeMs: 4 * 86_400_000 },
    timeouts,
    sendBounces: false,
    pollMinMs: 20,
    pollMaxMs: 100,
    queueDepthIntervalMs: 0,
  });
  await w.drain();
  await w.stop();
}

describe('direct delivery to each domain MX', () => {
  it('looks up the MX of each recipient domain and sends one transaction per domain, with our HELO name, over STARTTLS', async () => {
    const id = await h.enqueue({
      to: ['a@example.test', 'b@example.test', 'c@other.test', 'd@a-only.test'],
      body: testMessage({ messageId: '<mx@sender.test>' }),
    });
    await deliverAll();
    const got = sink.messages.filter((m) => m.messageId === '<mx@sender.test>');
    expect(got.map((m) => m.to).sort()).toEqual([['a@example.test', 'b@example.test'], ['c@other.test'], ['d@a-only.test']]);
    expect(got.every((m) => m.heloName === 'smtpdesk.test' && m.secure)).toBe(true);
    const doc = await h.message(id);
    expect(doc.state).toBe('done');
    expect(doc.recipients.every((r) => r.status === 'delivered')).toBe(true);
  });

  it('goes to the next MX by preference when the best one cannot be reached', async () => {
    const id = await h.enqueue({ to: ['x@two-mx.test'], body: testMessage({ messageId: '<two-mx@sender.test>' }) });
    await deliverAll();
    expect(hangUps).toBe(1);
    expect((await h.message(id)).recipients[0]!.status).toBe('delivered');
    expect(sink.countsByMessageId().get('<two-mx@sender.test>')).toBe(1);
  });

  it('bounces a domain that does not exist or accepts no mail, and defers on a DNS failure', async () => {
    const id = await h.enqueue({ to: ['a@nxdomain.test', 'b@null-mx.test', 'c@servfail.test'], body: testMessage({ messageId: '<dns@sender.test>' }) });
    await deliverAll();
    const doc = await h.message(id);
    expect(doc.recipients.map((r) => [r.address, r.status])).toEqual([
      ['a@nxdomain.test', 'bounced'],
      ['b@null-mx.test', 'bounced'],
      ['c@servfail.test', 'queued'],
    ]);
    expect(doc.recipients[0]!.lastError).toBe('domain nxdomain.test does not exist (DNS NXDOMAIN)');
    expect(doc.recipients[1]!.lastError).toBe('domain null-mx.test accepts no mail (null MX)');
    expect(doc.recipients[2]!.lastError).toMatch(/DNS lookup of the MX of servfail\.test failed \(ESERVFAIL\)/);
    expect(doc.state).toBe('queued');
    expect(sink.countsByMessageId().get('<dns@sender.test>')).toBeUndefined();
  });

  it('defers when no MX host answers at all', async () => {
    MX['down.test'] = [{ exchange: 'down.test.mx', priority: 10 }];
    HOSTS['down.test.mx'] = ['127.0.0.1'];
    const id = await h.enqueue({ to: ['z@down.test'], body: testMessage() });
    await deliverAll();
    const r = (await h.message(id)).recipients[0]!;
    expect(r.status).toBe('queued');
    expect(r.attempts).toBe(1);
    expect(r.lastError).toMatch(/^no MX host of down\.test could be reached: .*ECONNREFUSED/);
  });

  it('never connects to an MX that resolves to loopback, a private network or another internal address, and says why', async () => {
    const before = sink.messages.length;
    const id = await h.enqueue({ to: ['a@loopback.test', 'b@private.test', 'c@v6.test'], body: testMessage({ messageId: '<internal@sender.test>' }) });
    await deliverAll(false);
    const doc = await h.message(id);
    expect(doc.recipients.map((r) => [r.address, r.status])).toEqual([
      ['a@loopback.test', 'bounced'],
      ['b@private.test', 'bounced'],
      ['c@v6.test', 'bounced'],
    ]);
    expect(doc.recipients[0]!.lastError).toBe('MX of loopback.test resolves only to internal addresses, which are not delivered to: mx.loopback.test 127.0.0.1 (loopback)');
    expect(doc.recipients[1]!.lastError).toBe('MX of private.test resolves only to internal addresses, which are not delivered to: mx.private.test 10.0.0.1 (private network)');
    expect(doc.recipients[2]!.lastError).toMatch(/::1 \(loopback\), mx\.v6\.test fe80::1 \(link-local\), mx\.v6\.test ::ffff:127\.0\.0\.1 \(loopback\)$/);
    expect(sink.messages.length).toBe(before);
  });

  it('delivers to the same loopback MX when DELIVERY_ALLOW_PRIVATE_MX is on', async () => {
    const id = await h.enqueue({ to: ['a@loopback.test'], body: testMessage({ messageId: '<allowed@sender.test>' }) });
    await deliverAll(true);
    expect((await h.message(id)).recipients[0]!.status).toBe('delivered');
    expect(sink.countsByMessageId().get('<allowed@sender.test>')).toBe(1);
  });

  it('asks DNS once per domain for many messages, but asks again after a DNS failure', async () => {
    mxQueries.clear();
    const ids = await Promise.all(Array.from({ length: 5 }, (_, i) => h.enqueue({ to: [`m${i}@other.test`, `s${i}@servfail.test`], body: testMessage() })));
    await deliverAll();
    for (const id of ids) expect((await h.message(id)).recipients.map((r) => r.status)).toEqual(['delivered', 'queued']);
    expect(mxQueries.get('other.test')).toBe(1);
    // Slots that need the same domain at once share one lookup; a failed answer is not kept, so a later
    // attempt asks again.
    expect(mxQueries.get('servfail.test')).toBeGreaterThanOrEqual(1);
    expect(mxQueries.get('servfail.test')).toBeLessThanOrEqual(5);

    // One transport, one attempt after the other: the answer for other.test is kept, the failure is not.
    mxQueries.clear();
    const transport = createMxTransport({ heloName: 'test', resolver, port: () => sink.port, allowPrivateAddresses: true });
    for (let i = 0; i < 3; i++) {
      const results = await transport.send({ from: 'a@acme.test', to: [`x${i}@other.test`, `y${i}@servfail.test`] }, Buffer.from(testMessage()));
      expect(results.map((r) => r.delivered)).toEqual([true, false]);
    }
    await transport.close();
    expect(mxQueries.get('other.test')).toBe(1);
    expect(mxQueries.get('servfail.test')).toBe(3);
  });
});
