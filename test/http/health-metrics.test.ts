// /healthz, /readyz and /metrics over real HTTP.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startApp, type RunningApp } from '../../src/main.ts';
import { createMetrics, writeStatsOnSignal, type StatsSnapshot } from '../../src/metrics.ts';
import { enqueueMessage } from '../helpers/queue.ts';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';
import { depthSampler } from '../../src/store/queue/depth.ts';
import { openHttpHarness, postAdminWebhook, seedWorkspace, type HttpHarness } from '../helpers/http.ts';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus.ts';

describe('/metrics', () => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await openHttpHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  async function scrape() {
    const res = await fetch(`${h.server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(await res.text());
  }

  it('serves every smtpdesk metric in a format Prometheus accepts', async () => {
    const families = await scrape();
    const names = families.map((f) => f.name);
    for (const name of [
      'smtpdesk_smtp_connections_total',
      'smtpdesk_smtp_auth_total',
      'smtpdesk_smtp_messages_total',
      'smtpdesk_queue_depth',
      'smtpdesk_deliveries_total',
      'smtpdesk_job_runs_total',
      'smtpdesk_webhook_calls_total',
      'smtpdesk_webhook_outbox_pending',
      'smtpdesk_db_commands_total',
    ]) {
      expect(names).toContain(name);
    }
    expect(names.filter((n) => n.startsWith('smtpdesk_process_')).length).toBeGreaterThan(5); // Node's default metrics
    expect(families.find((f) => f.name === 'smtpdesk_queue_depth')!.type).toBe('GAUGE');
    expect(families.find((f) => f.name === 'smtpdesk_webhook_calls_total')!.type).toBe('COUNTER');
  });

  it('refreshes the queue depth from the queued messages in the database, counting at most 5 % of the time', async () => {
    // The route reads the queue's sampler; this one runs on a clock the test moves.
    let t = 0;
    h.rt.queue.depth = depthSampler(() => h.rt.queue.countQueued(), { now: () => t });
    expect(sampleValue(await scrape(), 'smtpdesk_queue_depth')).toBe(0);
    const message = {
      workspaceId: 'w1',
      accountId: 'a1',
      username: 'smtp-x',
      from: 'app@example.com',
      to: ['a@example.org'],
      body: Buffer.from('Subject: hi\r\n\r\nhello\r\n'),
      at: new Date(),
    };
    await enqueueMessage(h.rt.queue, message);
    await enqueueMessage(h.rt.queue, message);
    const id = await enqueueMessage(h.rt.queue, message);
    // Counts take no time on this clock: the next may run at once.
    expect(sampleValue(await scrape(), 'smtpdesk_queue_depth')).toBe(3);

    // A count that took 2 s: the scrapes of the next 40 s serve it without counting again.
    h.rt.queue.depth = depthSampler(
      async () => {
        const n = await h.rt.queue.countQueued();
        t += 2_000;
        return n;
      },
      { now: () => t },
    );
    expect(sampleValue(await scrape(), 'smtpdesk_queue_depth')).toBe(3);
    await h.rt.db.models.queuedMessages.updateOne({ _id: id }, { $set: { state: 'done', finishedAt: new Date() } });
    t += 39_000;
    expect(sampleValue(await scrape(), 'smtpdesk_queue_depth')).toBe(3);
    t += 1_000;
    expect(sampleValue(await scrape(), 'smtpdesk_queue_depth')).toBe(2);
  });

  it('counts inbound webhook calls by result', async () => {
    const { accounts } = await seedWorkspace(h.rt, ['counted']);
    const labels = (result: string) => ({ direction: 'inbound', result });
    const before = await scrape();
    const okBefore = sampleValue(before, 'smtpdesk_webhook_calls_total', labels('ok')) ?? 0;
    const badBefore = sampleValue(before, 'smtpdesk_webhook_calls_total', labels('WEBHOOK.SIGNATURE_INVALID')) ?? 0;

    await postAdminWebhook(h.server.url, { body: { action: 'rotate', username: accounts.counted!.username } });
    await postAdminWebhook(h.server.url, { body: { action: 'rotate', username: accounts.counted!.username }, secret: 'wrong' });
    await postAdminWebhook(h.server.url, { body: { action: 'rotate', username: accounts.counted!.username }, secret: 'wrong' });

    const after = await scrape();
    expect(sampleValue(after, 'smtpdesk_webhook_calls_total', labels('ok'))).toBe(okBefore + 1);
    expect(sampleValue(after, 'smtpdesk_webhook_calls_total', labels('WEBHOOK.SIGNATURE_INVALID'))).toBe(badBefore + 2);
  });

  it('counts what the other roles record (relay, delivery, jobs) in the same registry', async () => {
    h.rt.metrics.smtpAuth.inc({ result: 'failure', reason: 'bad_credentials' });
    h.rt.metrics.deliveries.inc({ outcome: 'delivered' }, 2);
    const families = await scrape();
    expect(sampleValue(families, 'smtpdesk_smtp_auth_total', { result: 'failure', reason: 'bad_credentials' })).toBe(1);
    expect(sampleValue(families, 'smtpdesk_deliveries_total', { outcome: 'delivered' })).toBe(2);
  });

  it('counts the database commands this process sends, by command name, without the handshake ones', async () => {
    const count = async (command: string) => sampleValue(await scrape(), 'smtpdesk_db_commands_total', { command }) ?? 0;
    const findsBefore = await count('find');
    const insertsBefore = await count('insert');
    await h.rt.db.models.queuedMessages.findOne({ username: 'no-such-user' });
    await h.rt.db.models.queuedMessages.findOne({ username: 'no-such-user' });
    await enqueueMessage(h.rt.queue, {
      workspaceId: 'w1',
      accountId: 'a1',
      username: 'smtp-x',
      from: 'app@example.com',
      to: ['a@example.org'],
      body: Buffer.from('Subject: c\r\n\r\nc\r\n'),
      at: new Date(),
    });
    // The queue-depth scrape itself counts one command (countDocuments: aggregate), so compare finds and inserts.
    expect(await count('find')).toBe(findsBefore + 2);
    expect(await count('insert')).toBeGreaterThan(insertsBefore);
    const commands = (await scrape()).find((f) => f.name === 'smtpdesk_db_commands_total')!;
    expect(commands.type).toBe('COUNTER');
    const names = commands.metrics.map((m) => (m as { labels?: Record<string, string> }).labels?.command);
    for (const control of ['hello', 'isMaster', 'ismaster', 'ping', 'endSessions', 'saslStart']) expect(names).not.toContain(control);
  });

  it('writes the counters to SMTPDESK_STATS_FILE at start and again on each SIGUSR2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpdesk-stats-'));
    const path = join(dir, 'stats.json');
    const metrics = createMetrics({ defaultMetrics: false });
    const stop = writeStatsOnSignal(metrics, path, (err) => {
      throw err;
    });
    try {
      const read = () => JSON.parse(readFileSync(path, 'utf8')) as StatsSnapshot;
      await vi.waitFor(() => expect(read().seq).toBe(1));
      expect(read()).toMatchObject({ pid: process.pid, dbCommands: {}, smtpMessages: {}, deliveries: {} });
      // Where the memory goes, for bench:drain: V8's heap and its spaces inside the RSS.
      const mem = read().memoryMb;
      expect(mem.heapUsed).toBeLessThanOrEqual(mem.heapTotal);
      expect(mem.heapTotal).toBeLessThan(mem.rss);
      expect(mem.newSpace + mem.oldSpace + mem.largeObjects).toBeLessThanOrEqual(mem.heapTotal);
      metrics.dbCommands.inc({ command: 'find' }, 3);
      metrics.smtpMessages.inc({ result: 'accepted', code: '250' }, 2);
      metrics.smtpMessages.inc({ result: 'refused', code: '452' });
      process.emit('SIGUSR2', 'SIGUSR2');
      await vi.waitFor(() => expect(read().seq).toBe(2));
      expect(read()).toMatchObject({ dbCommands: { find: 3 }, smtpMessages: { accepted: 2, refused: 1 } });
    } finally {
      stop();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(process.listenerCount('SIGUSR2')).toBe(0);
  });
});

describe('/metrics with METRICS_BEARER_TOKEN', () => {
  let h: HttpHarness;
  const token = 'scrape-token-0123456789';
  beforeAll(async () => {
    h = await openHttpHarness({ METRICS_BEARER_TOKEN: token });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers 401 HTTP.UNAUTHORIZED without the token or with a wrong one, and the metrics with it', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Basic ${token}`, `Bearer ${token}x`]) {
      const res = await fetch(`${h.server.url}/metrics`, { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(await res.json()).toMatchObject({ error: { code: 'HTTP.UNAUTHORIZED' } });
    }
    const res = await fetch(`${h.server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('smtpdesk_queue_depth');
    // Health stays open: load balancers and orchestrators probe it without credentials.
    expect((await fetch(`${h.server.url}/healthz`)).status).toBe(200);
  });
});

describe('/healthz and /readyz', () => {
  let h: HttpHarness;
  let report = { starting: true, roles: [{ name: 'relay', ready: false }] };
  beforeAll(async () => {
    h = await openHttpHarness({}, { readiness: () => report });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('/healthz answers 200 as long as the process is up', async () => {
    const res = await fetch(`${h.server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok' });
  });

  it('/readyz answers 503 NOT_READY while roles are starting or not serving, then 200', async () => {
    const starting = await fetch(`${h.server.url}/readyz`);
    expect(starting.status).toBe(503);
    const body = (await starting.json()) as { error: { message: string } };
    expect(body).toMatchObject({ status: 'not_ready', error: { code: 'NOT_READY' }, checks: { database: { ok: true }, roles: { relay: false } } });
    expect(body.error.message).toContain('relay is not ready');

    report = {
      starting: false,
      roles: [
        { name: 'relay', ready: true },
        { name: 'http', ready: true },
      ],
    };
    const ready = await fetch(`${h.server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: { ok: true }, roles: { relay: true, http: true } } });
  });

  it('/readyz answers 503 when the database is gone, while /healthz still answers 200', async () => {
    await h.rt.db.connection.close();
    const res = await fetch(`${h.server.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'NOT_READY' }, checks: { database: { ok: false } } });
    expect((await fetch(`${h.server.url}/healthz`)).status).toBe(200);
    // /metrics still answers (with the last known gauges) so the scrape shows the outage, not a gap.
    expect((await fetch(`${h.server.url}/metrics`)).status).toBe(200);
  });
});

describe('the http role started by main.ts (npm start -- --role http)', () => {
  let app: RunningApp;
  let uri: string;
  beforeAll(async () => {
    uri = testDatabaseUri();
    const config = loadConfig({ MONGODB_URI: uri, LOG_LEVEL: 'silent', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', BCRYPT_COST: '4' });
    app = await startApp({ ...config, roles: ['http'] });
  });
  afterAll(async () => {
    await app?.stop();
    await dropTestDatabase(uri);
  });

  it('serves /readyz with every started role ready', async () => {
    expect(app.roles.map((r) => r.name)).toEqual(['http']);
    const port = /^HTTP on 127\.0\.0\.1:(\d+) \(admin webhooks at \/webhooks\/admin/.exec(app.roles[0]!.handle.description)![1];
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ready', checks: { roles: { http: true } } });
  });
});
