// "Did my email to X go out?": messages that a real delivery worker took to a real SMTP server (one accepted,
// one refused with 550), found by `/smtp trace` (signed requests, the real Bolt receiver) and by
// `smtpdesk queue find` (the real binary): each recipient's account, status, attempts, the next hop's answer
// and times; newest first; never another workspace's mail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeliveryWorker } from '../../src/delivery/worker.ts';
import { createAccount, createWorkspace, type Actor, type TraceResult } from '../../src/domain/index.ts';
import { queuedMessageSchema } from '../../src/store/models/queued-message.ts';
import { traceFilter } from '../../src/store/queue/find.ts';
import { runSmtpdesk } from '../helpers/cli.ts';
import { testMessage } from '../helpers/delivery.ts';
import { enqueueMessage } from '../helpers/queue.ts';
import { startTestSink, type TestSink } from '../helpers/smtp-sink.ts';
import { MEMBER, TEAM, startSlackHarness, textOf, type SlackHarness } from '../helpers/slack.ts';

let h: SlackHarness;
let sink: TestSink;
let ws: string;
const ids: Record<string, string> = {};
const cli: Actor = { source: 'cli', id: 'ops', name: 'ops', roles: ['admin'] };

beforeAll(async () => {
  h = await startSlackHarness();
  ws = await h.workspaceId();
  sink = await startTestSink({ onRcpt: (a) => (a.startsWith('gone') ? { code: 550, message: '5.1.1 No such user here' } : undefined) });
  const mine = await createAccount(h.rt.ctx, cli, ws, 'receipts');
  const other = await createWorkspace(h.rt.ctx, cli, { name: 'another-team', defaultPlan: '10k' });
  const theirs = await createAccount(h.rt.ctx, cli, other.id, 'their-app');
  const at = (s: number) => new Date(Date.now() - s * 1000);
  const put = (account: typeof mine, workspaceId: string, to: string, messageId: string, ago: number) =>
    enqueueMessage(h.rt.queue, {
      workspaceId,
      accountId: account.account.id,
      username: account.username,
      from: 'app@sender.test',
      to: [to],
      body: testMessage({ to, messageId }),
      messageId,
      subject: `to ${to}`,
      at: at(ago),
    });
  ids.older = await put(mine, ws, 'alice@dest.test', '<older@sender.test>', 60);
  ids.delivered = await put(mine, ws, 'alice@dest.test', '<delivered@sender.test>', 30);
  ids.bounced = await put(mine, ws, 'gone@dest.test', '<bounced@sender.test>', 20);
  ids.theirs = await put(theirs, other.id, 'alice@dest.test', '<theirs@sender.test>', 10);
  const w = startDeliveryWorker(h.rt, {
    upstreamUrl: `smtp://127.0.0.1:${sink.port}`,
    policy: { delaysMs: [3_600_000], maxAgeMs: 86_400_000 },
    sendBounces: false,
    pollMinMs: 20,
    queueDepthIntervalMs: 0,
  });
  await w.drain();
  await w.stop();
});
afterAll(async () => {
  await sink?.close();
  await h?.close();
});

async function trace(query: string): Promise<string> {
  const r = await h.command(`trace ${query}`, MEMBER);
  expect(r.status).toBe(200);
  const [answer] = await h.responses(r.responseUrl);
  expect(answer!.args.response_type).toBe('ephemeral');
  return textOf(answer!.args);
}

describe('/smtp trace', () => {
  it('finds a delivered message by recipient, newest first, with the next hop’s answer; a member sees only their workspace', async () => {
    const text = await trace('alice@dest.test');
    expect(text).toContain('2 message(s)');
    expect(text).toMatch(/\*receipts\*/);
    expect(text).toMatch(/`alice@dest.test` \*Delivered\* · 1 attempt\(s\)/);
    expect(text).toMatch(/next hop: _250/);
    expect(text.indexOf(ids.delivered!)).toBeLessThan(text.indexOf(ids.older!));
    expect(text).not.toContain(ids.theirs!);
    expect(text).not.toContain('their-app');
  });

  it('finds a bounced message by Message-ID and by queue id, with the refusal', async () => {
    for (const q of ['<bounced@sender.test>', 'bounced@sender.test', ids.bounced!]) {
      const text = await trace(q);
      expect(text).toContain('1 message(s)');
      expect(text).toMatch(/`gone@dest.test` \*Bounced\*/);
      expect(text).toMatch(/550.*No such user here/);
    }
  });

  it('shows a bounce or complaint that arrived later, once recorded on the recipient (whatever its fields)', async () => {
    const { mongo } = await import('mongoose');
    await h.rt.db.models.queuedMessages.collection.updateOne(
      { _id: new mongo.ObjectId(ids.older) },
      { $set: { 'recipients.0.laterOutcome': { type: 'bounced', status: '5.1.1', diagnostic: 'mailbox gone' }, 'recipients.0.complainedAt': new Date('2026-01-02T03:04:05Z') } },
    );
    const text = await trace('<older@sender.test>');
    expect(text).toMatch(/later: .*laterOutcome: .*mailbox gone/);
    expect(text).toMatch(/later: .*complainedAt: 2026-01-02 03:04 UTC/);
  });

  it('another workspace’s message id finds nothing; bad input gets the help', async () => {
    expect(await trace(ids.theirs!)).toMatch(/No message with queue id/);
    expect(await trace('--since soon alice@dest.test')).toMatch(/`--since` takes a duration/);
    expect(await trace('')).toMatch(/`trace` takes a recipient address/);
  });
});

describe('smtpdesk queue find', () => {
  const env = () => ({ MONGODB_URI: h.rt.config.database.uri, SMTPDESK_WORKSPACE: TEAM.domain, LOG_LEVEL: 'warn' });

  it('lists the delivered and the bounced recipient with account, status, attempts and answer; --json for scripts', async () => {
    const table = await runSmtpdesk(['queue', 'find', 'gone@dest.test', '--since', '7d'], env());
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/receipts\s+gone@dest.test\s+bounced\s+1/);
    expect(table.stdout).toContain('No such user here');

    const json = await runSmtpdesk(['queue', 'find', 'alice@dest.test', '--json'], env());
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout) as TraceResult;
    expect(result.kind).toBe('recipient');
    expect(result.messages.map((m) => m.id)).toEqual([ids.delivered, ids.older]);
    expect(result.messages[0]!.recipients).toEqual([expect.objectContaining({ address: 'alice@dest.test', status: 'delivered', attempts: 1 })]);
  });

  it('refuses a malformed query or --since with a clear message and a non-zero exit', async () => {
    const bad = await runSmtpdesk(['queue', 'find', 'not an address'], env());
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Trace a recipient address/);
    const since = await runSmtpdesk(['queue', 'find', 'alice@dest.test', '--since', 'last week'], env());
    expect(since.code).not.toBe(0);
    expect(since.stderr).toMatch(/--since takes a duration/);
  });
});

describe('indexes', () => {
  it('each lookup has an index whose prefix is the lookup’s fields (MongoDB serves it without a scan)', () => {
    const declared = queuedMessageSchema.indexes().map(([keys]) => Object.keys(keys));
    for (const kind of ['recipient', 'message-id'] as const) {
      const fields = Object.keys(traceFilter({ workspaceId: 'w', kind, value: 'x', limit: 1 }));
      expect(declared.some((keys) => fields.every((f, i) => keys[i] === f) && keys.includes('createdAt'))).toBe(true);
    }
  });
});
