// `smtpdesk queue`, run as the real binary against a queue a real worker has been through.
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeliveryWorker } from '../../src/delivery/worker.ts';
import type { QueuedMessageView } from '../../src/domain/index.ts';
import { runCli } from '../../src/cli/index.ts';
import { runSmtpdesk } from '../helpers/cli.ts';
import { openDeliveryHarness, testMessage, type DeliveryHarness } from '../helpers/delivery.ts';
import { startTestRelay } from '../helpers/relay.ts';
import { startTestSink, type TestSink } from '../helpers/smtp-sink.ts';

let h: DeliveryHarness;
let sink: TestSink;
let env: Record<string, string>;
let mixed: string;
let delivered: string;
let retried: string;

type Json<T> = Omit<T, 'createdAt' | 'nextAttemptAt'> & { createdAt: string; nextAttemptAt: string };

beforeAll(async () => {
  h = await openDeliveryHarness();
  let lateTries = 0;
  sink = await startTestSink({
    onRcpt: (a) =>
      a.startsWith('busy') || (a.startsWith('late') && lateTries++ === 0)
        ? { code: 451, message: '4.2.1 Mailbox busy, try later' }
        : a.startsWith('gone')
          ? { code: 550, message: '5.1.1 No such user' }
          : undefined,
  });
  // Deferred once, then delivered: its old error is history, not a problem to show.
  retried = await h.enqueue({ to: ['late@example.test'], body: testMessage({ subject: 'Late' }) });
  const quick = startDeliveryWorker(h.rt, {
    upstreamUrl: `smtp://127.0.0.1:${sink.port}`,
    policy: { delaysMs: [200], maxAgeMs: 86_400_000 },
    sendBounces: false,
    pollMinMs: 20,
    queueDepthIntervalMs: 0,
  });
  await quick.drain();
  await new Promise((r) => setTimeout(r, 300));
  await quick.drain();
  await quick.stop();
  delivered = await h.enqueue({ to: ['ok@example.test'], body: testMessage({ subject: 'Fine' }) });
  mixed = await h.enqueue({ to: ['busy@example.test', 'gone@example.test', 'fine@example.test'], body: testMessage({ subject: 'Mixed' }) });
  const w = startDeliveryWorker(h.rt, {
    upstreamUrl: `smtp://127.0.0.1:${sink.port}`,
    policy: { delaysMs: [3_600_000], maxAgeMs: 4 * 86_400_000 },
    sendBounces: false,
    pollMinMs: 20,
    queueDepthIntervalMs: 0,
  });
  await w.drain();
  await w.stop();
  env = { MONGODB_URI: h.uri, SMTPDESK_WORKSPACE: h.workspace.name };
});
afterAll(async () => {
  await sink?.close();
  await h?.close();
});

const cli = (...args: string[]) => runSmtpdesk(args, env);
// eslint-disable-next-line no-control-regex -- control characters (C0 but tab and newline, DEL, C1) are what must not be printed
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** The same CLI in this process (no process start-up): for the many small refusals. */
async function cliHere(...args: string[]) {
  Object.assign(process.env, env, { LOG_LEVEL: 'warn' });
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { out: (s) => (stdout += `${s}\n`), err: (s) => (stderr += `${s}\n`) });
  return { code, stdout, stderr, json: <T>() => JSON.parse(stdout) as T };
}

describe('smtpdesk queue', () => {
  it('lists messages with each recipient’s status, attempts, next attempt and last error', async () => {
    let r = await cli('queue', 'list');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^QUEUE ID\s+ACCOUNT\s+FROM\s+RECIPIENTS\s+ATTEMPTS\s+NEXT ATTEMPT\s+LAST ERROR\s+AGE$/);
    const mixedLine = lines.find((l) => l.startsWith(mixed))!;
    // Long recipient lists are clipped in the table (queue show and --json have them all).
    expect(mixedLine).toMatch(
      /production-transactional\s+app@sender\.test\s+busy@example\.test \(queued\), gone@example\.test \(bounced\), fine@example…\s+1\s+in (59m|1h)\s+451 4\.2\.1 Mailbox busy, try later \(after RCPT TO\)\s+\d+s$/,
    );

    const retriedLine = lines.find((l) => l.startsWith(retried))!;
    expect(retriedLine).toMatch(/late@example\.test \(delivered\)\s+2\s+—\s+\d+s$/);

    r = await cli('queue', 'list', '--state', 'done', '--json');
    const done = r.json<Json<QueuedMessageView>[]>();
    expect(done.map((m) => m.id)).toEqual([delivered, retried]);
    expect(done[0]).toMatchObject({ state: 'done', accountName: 'production-transactional', recipients: [{ address: 'ok@example.test', status: 'delivered', attempts: 1 }] });

    r = await cli('queue', 'list', '--account', 'production-transactional', '--state', 'queued', '--json');
    expect(r.json<Json<QueuedMessageView>[]>().map((m) => m.id)).toEqual([mixed]);
  });

  it('shows one message with every recipient', async () => {
    let r = await cli('queue', 'show', mixed);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Queue ID\s+[a-f0-9]{24}$/m);
    expect(r.stdout).toMatch(/^Subject\s+Mixed$/m);
    expect(r.stdout).toMatch(/^busy@example\.test\s+queued\s+1\s+in \S+( \S+)?\s+451 4\.2\.1 Mailbox busy, try later/m);
    expect(r.stdout).toMatch(/^gone@example\.test\s+bounced\s+1\s+—\s+550 5\.1\.1 No such user/m);
    expect(r.stdout).toMatch(/^fine@example\.test\s+delivered\s+1\s+—\s+250 /m);
    r = await cli('queue', 'show', retried);
    expect(r.stdout).toMatch(/^late@example\.test\s+delivered\s+2\s+—\s+250 /m);
    r = await cli('queue', 'show', mixed, '--json');
    expect(r.json<Json<QueuedMessageView>>().recipients.map((x) => x.status)).toEqual(['queued', 'bounced', 'delivered']);
  });

  it('retries deferred mail now, and purges with the exact name, counting failures', async () => {
    let r = await cli('queue', 'retry', '--account', 'production-transactional');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 deferred recipient(s) in 1 message(s) of "production-transactional" are due now.');
    r = await cli('queue', 'list', '--state', 'queued');
    expect(r.stdout).toMatch(/due now/);

    r = await cli('queue', 'purge', '--account', 'production-transactional', '--confirm', 'production-transactional', '--json');
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({ messages: 1, recipients: 1, noticeRecipients: 0, inFlight: 0 });
    r = await cli('accounts', 'show', 'production-transactional', '--json');
    expect(r.json()).toMatchObject({ delivered: 3, bounced: 1, failed: 1, queuedMessages: 0 });
    r = await cli('queue', 'list', '--state', 'queued');
    expect(r.stdout.trim()).toBe('The queue is empty.');
  });

  it('refuses bad input with a clear message and a non-zero exit', async () => {
    let r = await cliHere('queue', 'list', '--state', 'stuck');
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('--state takes queued or done')]);
    r = await cliHere('queue', 'show', '0123456789abcdef01234567');
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([1, 'smtpdesk: No queued message with id "0123456789abcdef01234567" in this workspace.']);
    r = await cliHere('queue', 'show', 'nope', '--json');
    expect(r.code).toBe(1);
    expect(r.json()).toEqual({ error: { code: 'QUEUE.NOT_FOUND', message: 'No queued message with id "nope" in this workspace.' } });
    r = await cliHere('queue', 'retry');
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('--account NAME is required')]);
    r = await cliHere('queue', 'purge', '--account', 'production-transactional');
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('--confirm is required')]);
    r = await cliHere('queue', 'purge', '--account', 'production-transactional', '--confirm', 'production');
    expect([r.code, r.stderr.trim()]).toEqual([1, 'smtpdesk: Type the account\'s exact name, "production-transactional", to purge its queued mail.']);
    r = await cliHere('queue', 'retry', '--account', 'nope');
    expect([r.code, r.stderr.trim()]).toEqual([1, 'smtpdesk: No account named "nope".']);
  });
});

describe('smtpdesk queue with hostile header values', () => {
  it('shows a Subject and Message-ID planted with terminal escape sequences through the relay as visible text, never raw', async () => {
    const t = await startTestRelay({ uri: h.uri, dropDatabase: false });
    try {
      const account = await t.newAccount();
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port: t.port,
        requireTLS: true,
        tls: { rejectUnauthorized: false },
        auth: { user: account.username, pass: account.password },
      });
      // Set the window title, clear the screen, a one-byte CSI (U+009B) and a BEL: what an attacker would plant.
      const subject = '\x1b]0;pwned\x07\x1b[2J\x1b[1;1HInvoice \u009b31m due';
      const raw = [`From: App <app@sender.test>`, `To: <x@example.test>`, `Subject: ${subject}`, 'Message-ID: <\x1b[8mhidden@sender.test>', '', 'hi', ''].join('\r\n');
      await transport.sendMail({ envelope: { from: 'app@sender.test', to: ['x@example.test'] }, raw });
      transport.close();
      const doc = await t.rt.db.models.queuedMessages.findOne({ accountId: account.accountId }).lean();
      // Stored as sent: what a sender put there is evidence; only what reaches a terminal is made harmless.
      expect(doc?.subject).toBe(subject);
      const id = String(doc!._id);
      const here = { MONGODB_URI: h.uri, SMTPDESK_WORKSPACE: t.workspace.name };

      const show = await runSmtpdesk(['queue', 'show', id], here);
      expect(show.code).toBe(0);
      expect(show.stdout).not.toMatch(CONTROL);
      expect(show.stdout).toMatch(/^Subject\s+\\x1b\]0;pwned\\x07\\x1b\[2J\\x1b\[1;1HInvoice \\x9b31m due$/m);
      expect(show.stdout).toMatch(/^Message-ID\s+<\\x1b\[8mhidden@sender\.test>$/m);
      const list = await runSmtpdesk(['queue', 'list'], here);
      expect(list.code).toBe(0);
      expect(list.stdout).not.toMatch(CONTROL);
      // --json stays exact, every control character escaped (C1 and DEL too, which JSON.stringify leaves raw).
      const json = await runSmtpdesk(['queue', 'show', id, '--json'], here);
      expect(json.json<{ subject: string }>().subject).toBe(subject);
      expect(json.stdout).not.toMatch(CONTROL);
    } finally {
      await t.close();
    }
  });
});
