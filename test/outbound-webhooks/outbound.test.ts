// Outbound event webhooks: domain events go to the outbox in MongoDB, and a dispatcher POSTs them, signed,
// to a receiver that this test runs on loopback, retrying when the receiver fails.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createAccount, deleteAccount, enableAccount, type DomainEvent } from '../../src/domain/index.ts';
import { ROLE_STARTERS } from '../../src/roles.ts';
import { pruneWebhookRecords } from '../../src/http/role.ts';
import type { Runtime } from '../../src/runtime.ts';
import { openAppRuntime } from '../../src/app-runtime.ts';
import { verifySignature } from '../../src/shared/signing.ts';
import { webhookOutboxStore } from '../../src/store/repositories/webhook-outbox.ts';
import { startOutboundDispatcher, type OutboundDispatcher } from '../../src/outbound-webhooks/dispatcher.ts';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';
import { INTEGRATIONS, operator, postAdminWebhook, seedWorkspace } from '../helpers/http.ts';

const SECRET = 'outbound-secret-5f2a9c';

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the JSON body of the webhook under test, read freely by the tests
  json: any;
}

let receiver: Server;
let receiverUrl: string;
let received: Received[] = [];
/** How the receiver answers the n-th request (0-based) it gets. */
let answerWith: (n: number, r: Received) => number = () => 200;

let uri: string;
let rt: Runtime;
let dispatcher: OutboundDispatcher | undefined;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const r = { headers: req.headers, raw, json: JSON.parse(raw) };
      const status = answerWith(received.length, r);
      received.push(r);
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/smtpdesk`;

  uri = testDatabaseUri();
  rt = await openAppRuntime(
    loadConfig({
      MONGODB_URI: uri,
      BCRYPT_COST: '4',
      LOG_LEVEL: 'silent',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      ADMIN_WEBHOOK_SECRETS: `pagerduty:${INTEGRATIONS.pagerduty}`,
      OUTBOUND_WEBHOOK_URLS: receiverUrl,
      OUTBOUND_WEBHOOK_SECRET: SECRET,
      OUTBOUND_WEBHOOK_RETRY_SCHEDULE: '200ms, 200ms, 200ms',
    }),
  );
});

afterEach(async () => {
  await dispatcher?.stop();
  dispatcher = undefined;
  received = [];
  answerWith = () => 200;
  await rt.db.models.webhookOutbox.deleteMany({});
});

afterAll(async () => {
  await rt?.close();
  await dropTestDatabase(uri);
  await new Promise((resolve) => receiver?.close(resolve));
});

function startDispatcher(retryDelaysMs: number[] = [150, 150, 150]) {
  dispatcher = startOutboundDispatcher({
    outbox: webhookOutboxStore(rt.db.models),
    secret: SECRET,
    retryDelaysMs,
    timeoutMs: 2_000,
    log: rt.log,
    metrics: rt.metrics,
    pollMs: 50,
  });
  return dispatcher;
}

async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The check a receiver writes, done by hand from the documented algorithm (not with our module). */
function signatureIsValid(r: Received, secret: string): boolean {
  const timestamp = String(r.headers['x-smtpdesk-timestamp']);
  const expected = createHmac('sha256', secret).update(`${timestamp}.${r.raw}`).digest();
  const given = Buffer.from(String(r.headers['x-smtpdesk-signature']).replace(/^v1=/, ''), 'hex');
  const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) <= 300;
  return fresh && given.length === expected.length && timingSafeEqual(given, expected);
}

describe('from every adapter, through the http role', () => {
  it('sends created, rotated, disabled, enabled and deleted events, signed, without any password', async () => {
    const role = (await (await ROLE_STARTERS.http!())(rt))!;
    try {
      const { workspace, accounts } = await seedWorkspace(rt, ['prod-transactional']); // CLI actor
      const created = accounts['prod-transactional']!;
      const port = /:(\d+) /.exec(role.description)![1];
      const url = `http://127.0.0.1:${port}`;

      const rotated = await postAdminWebhook(url, { body: { action: 'rotate', username: created.username, reason: 'leaked' } });
      expect(rotated.status).toBe(200);
      const off = await postAdminWebhook(url, { body: { action: 'disable', username: created.username, reason: 'suspected_compromise', note: 'INC-9' } });
      expect(off.status).toBe(200);
      await enableAccount(rt.ctx, operator, workspace.id, 'prod-transactional');
      await deleteAccount(rt.ctx, operator, workspace.id, 'prod-transactional', { confirmName: 'prod-transactional' });

      await waitFor('five events', () => received.length >= 5);
      const types = received.map((r) => r.json.type as string);
      expect(types).toEqual(expect.arrayContaining(['account.created', 'account.rotated', 'account.disabled', 'account.enabled', 'account.deleted']));
      expect(types).toHaveLength(5); // workspace.created is not an outbound event

      for (const r of received) {
        expect(signatureIsValid(r, SECRET)).toBe(true);
        expect(signatureIsValid(r, 'another-secret')).toBe(false);
        expect(
          verifySignature({
            secrets: [{ name: 'smtpdesk', secret: SECRET }],
            timestamp: r.headers['x-smtpdesk-timestamp'] as string,
            signature: r.headers['x-smtpdesk-signature'] as string,
            rawBody: Buffer.from(r.raw),
            now: new Date(),
            toleranceMs: 300_000,
          }).ok,
        ).toBe(true);
        expect(r.headers['x-smtpdesk-event']).toBe(r.json.type);
        expect(r.headers['x-smtpdesk-delivery']).toMatch(/^[a-f0-9]{24}$/);
        expect(r.headers['content-type']).toBe('application/json');
        expect(r.raw).not.toContain(created.password);
        expect(r.raw).not.toContain(rotated.json.password);
        expect(r.raw).not.toMatch(/password|passwordHash|\$2[aby]\$/i);
      }

      const disabled = received.find((r) => r.json.type === 'account.disabled')!.json;
      expect(disabled).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        type: 'account.disabled',
        occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        workspace: { id: workspace.id, name: workspace.name },
        account: { id: created.account.id, name: 'prod-transactional', username: created.username, status: 'disabled' },
        actor: { source: 'webhook', id: 'pagerduty' },
        reason: 'suspected_compromise',
        details: { note: 'INC-9' },
      });
      const rotatedEvent = received.find((r) => r.json.type === 'account.rotated')!.json;
      expect(rotatedEvent).toMatchObject({ actor: { source: 'webhook', id: 'pagerduty' }, reason: null, details: { note: 'leaked' } });
      expect(received.find((r) => r.json.type === 'account.created')!.json.actor).toEqual({ source: 'cli', id: 'tester' });

      await waitFor('all five marked delivered', async () => (await rt.db.models.webhookOutbox.countDocuments({ state: 'delivered' })) === 5);
      expect(await rt.db.models.webhookOutbox.countDocuments()).toBe(5);
    } finally {
      await role.stop();
    }
  });
});

describe('dispatcher', () => {
  it('retries after a 500 with the same delivery id and body, and stops once delivered', async () => {
    answerWith = (n) => (n === 0 ? 500 : 200);
    const { workspace } = await seedWorkspace(rt, []);
    await createAccount(rt.ctx, operator, workspace.id, 'retry-me');
    const before = await rt.metrics.webhookCalls.get();
    const count = (result: string) => before.values.find((v) => v.labels.direction === 'outbound' && v.labels.result === result)?.value ?? 0;
    const [okBefore, errBefore] = [count('ok'), count('http_error')];

    startDispatcher();
    await waitFor('a retry that succeeds', () => received.length >= 2);
    await waitFor('the entry marked delivered', async () => (await rt.db.models.webhookOutbox.findOne({ state: 'delivered' }).lean()) !== null);
    await new Promise((r) => setTimeout(r, 400)); // longer than a retry delay: nothing more may come
    expect(received).toHaveLength(2);

    const [first, second] = received as [Received, Received];
    expect(second.headers['x-smtpdesk-delivery']).toBe(first.headers['x-smtpdesk-delivery']);
    expect(second.raw).toBe(first.raw);
    expect(signatureIsValid(first, SECRET) && signatureIsValid(second, SECRET)).toBe(true);
    const entry = await rt.db.models.webhookOutbox.findOne().lean();
    expect(entry).toMatchObject({ state: 'delivered', attempts: 2, lastStatus: 200 });

    const after = await rt.metrics.webhookCalls.get();
    const countAfter = (result: string) => after.values.find((v) => v.labels.direction === 'outbound' && v.labels.result === result)?.value ?? 0;
    expect(countAfter('ok') - okBefore).toBe(1);
    expect(countAfter('http_error') - errBefore).toBe(1);
  });

  it('retries a receiver that is down (connection refused) and gives up after the last delay, keeping the entry', async () => {
    const store = webhookOutboxStore(rt.db.models);
    await store.add({ eventId: 'e-down', type: 'account.disabled', urls: ['http://127.0.0.1:9/unreachable'], body: '{"id":"e-down"}', at: new Date() });
    answerWith = () => 503;
    await store.add({ eventId: 'e-503', type: 'account.enabled', urls: [receiverUrl], body: '{"id":"e-503"}', at: new Date() });

    startDispatcher([100, 100]);
    await waitFor('both given up', async () => (await rt.db.models.webhookOutbox.countDocuments({ state: 'failed' })) === 2);
    const entries = await rt.db.models.webhookOutbox.find().sort({ eventId: 1 }).lean();
    expect(entries.map((e) => [e.eventId, e.state, e.attempts])).toEqual([
      ['e-503', 'failed', 3],
      ['e-down', 'failed', 3],
    ]);
    expect(entries[0]!.lastError).toBe('HTTP 503');
    expect(entries[1]!.lastError).toMatch(/fetch failed|ECONNREFUSED/);
    expect(received).toHaveLength(3);
  });

  it('sends account.idle and plan.near_limit published by the jobs, and no other event types', async () => {
    const { workspace, accounts } = await seedWorkspace(rt, ['dormant']);
    received = [];
    await rt.db.models.webhookOutbox.deleteMany({});
    const account = accounts.dormant!.account;
    const jobs = { source: 'jobs' as const, id: 'idle-accounts' };
    const base = { workspaceId: workspace.id, at: new Date(), actor: jobs };
    const events: DomainEvent[] = [
      { ...base, type: 'account.idle', account: { id: account.id, name: account.name, username: account.username, status: 'active' }, details: { idleDays: 75 } },
      { ...base, type: 'plan.near_limit', details: { slotsUsed: 4, slots: 5, plan: '10k' } },
      { ...base, type: 'workspace.updated', details: { settings: ['alertChannel'] } },
    ];
    for (const e of events) await rt.events.publish(e);

    startDispatcher();
    await waitFor('two events', () => received.length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(received.map((r) => r.json.type as string).sort()).toEqual(['account.idle', 'plan.near_limit']);
    const nearLimit = received.find((r) => r.json.type === 'plan.near_limit')!.json;
    expect(nearLimit).toMatchObject({ account: null, actor: jobs, details: { slotsUsed: 4, slots: 5, plan: '10k' }, workspace: { name: workspace.name } });
  });

  it('never carries a field named like a secret, even when a publisher puts one in details', async () => {
    const { workspace } = await seedWorkspace(rt, []);
    received = [];
    await rt.db.models.webhookOutbox.deleteMany({});
    await rt.events.publish({
      type: 'plan.near_limit',
      workspaceId: workspace.id,
      at: new Date(),
      actor: { source: 'jobs', id: 'plan-limits' },
      details: { percent: 80, password: 'hunter2', nested: { apiToken: 'xoxb-1', kept: true } },
    });
    startDispatcher();
    await waitFor('the event', () => received.length >= 1);
    expect(received[0]!.json.details).toEqual({ percent: 80, nested: { kept: true } });
  });

  it('two dispatchers sharing the outbox send each entry exactly once', async () => {
    const { workspace } = await seedWorkspace(rt, []);
    received = [];
    await rt.db.models.webhookOutbox.deleteMany({});
    for (let i = 0; i < 12; i++) await createAccount(rt.ctx, operator, workspace.id, `burst-${i}`).catch(() => undefined);
    const expected = await rt.db.models.webhookOutbox.countDocuments({ state: 'pending' });
    expect(expected).toBe(5); // the 10k plan has 5 slots: 5 accounts created, 5 events

    const other = startOutboundDispatcher({
      outbox: webhookOutboxStore(rt.db.models),
      secret: SECRET,
      retryDelaysMs: [100],
      timeoutMs: 2_000,
      log: rt.log,
      metrics: rt.metrics,
      pollMs: 20,
      concurrency: 3,
    });
    try {
      startDispatcher();
      await waitFor('all delivered', async () => (await rt.db.models.webhookOutbox.countDocuments({ state: 'delivered' })) === expected);
      await new Promise((r) => setTimeout(r, 200));
      const ids = received.map((r) => r.headers['x-smtpdesk-delivery']);
      expect(ids).toHaveLength(expected);
      expect(new Set(ids).size).toBe(expected);
    } finally {
      await other.stop();
    }
  });
});

describe('pruning', () => {
  it('removes delivery records and finished outbox entries older than the retention, and keeps the rest', async () => {
    const now = new Date();
    const old = new Date(now.getTime() - 8 * 86_400_000);
    await rt.db.models.webhookDeliveries.insertMany([
      { integration: 'pagerduty', deliveryId: 'old-1', digest: 'a'.repeat(64), receivedAt: old },
      { integration: 'pagerduty', deliveryId: 'new-1', digest: 'b'.repeat(64), receivedAt: now },
    ]);
    const base = { type: 'account.created', url: receiverUrl, body: '{}', attempts: 1, nextAttemptAt: old, createdAt: old };
    await rt.db.models.webhookOutbox.insertMany([
      { ...base, eventId: 'p1', state: 'delivered', finishedAt: old },
      { ...base, eventId: 'p2', state: 'failed', finishedAt: old },
      { ...base, eventId: 'p3', state: 'delivered', finishedAt: now },
      { ...base, eventId: 'p4', state: 'pending' },
    ]);

    expect(await pruneWebhookRecords(rt, now)).toEqual({ deliveries: 1, outbox: 2 });
    expect((await rt.db.models.webhookDeliveries.find({ deliveryId: /-1$/ }).lean()).map((d) => d.deliveryId)).toEqual(['new-1']);
    expect((await rt.db.models.webhookOutbox.find().sort({ eventId: 1 }).lean()).map((d) => d.eventId)).toEqual(['p3', 'p4']);
  });
});
